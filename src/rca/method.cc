#include "rca/method.h"

namespace llmrca::rca {

Status MethodRegistry::Add(const MethodInfo& info, MethodFactory factory) {
  return registry_.Add(MethodEntry{info.name, info, std::move(factory)});
}

Result<const MethodInfo*> MethodRegistry::Find(std::string_view name) const {
  LLMRCA_ASSIGN_OR_RETURN(const MethodEntry* entry, registry_.Find(name));
  return &entry->info;
}

Result<std::unique_ptr<Method>> MethodRegistry::Create(std::string_view name,
                                                       const ParamMap& params) const {
  Result<const MethodEntry*> entry = registry_.Find(name);
  if (!entry.ok()) return entry.status().WithPrefix("rca");
  return (*entry)->factory(params);
}

std::vector<const MethodInfo*> MethodRegistry::List() const {
  std::vector<const MethodInfo*> out;
  for (const MethodEntry* e : registry_.List()) out.push_back(&e->info);
  return out;
}

}  // namespace llmrca::rca
