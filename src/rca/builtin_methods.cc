// The one list of built-in methods: one line per method, in alphabetical order.
#include "base/check.h"
#include "rca/baro.h"
#include "rca/dummy.h"
#include "rca/e_diagnosis.h"
#include "rca/method.h"
#include "rca/nsigma.h"

namespace llmrca::rca {

void AddBuiltinMethods(MethodRegistry& registry) {
  const struct {
    MethodInfo info;
    MethodFactory factory;
  } kBuiltins[] = {
      {BaroInfo(), CreateBaro},
      {DummyInfo(), CreateDummy},
      {EDiagnosisInfo(), CreateEDiagnosis},
      {NsigmaInfo(), CreateNsigma},
  };
  for (const auto& b : kBuiltins) {
    Status s = registry.Add(b.info, b.factory);
    LLMRCA_CHECK(s.ok()) << s.message();
  }
}

}  // namespace llmrca::rca
