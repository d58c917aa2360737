// The one list of built-in methods: one line per method, in alphabetical order.
#include "base/check.h"
#include "rca/baro.h"
#include "rca/dummy.h"
#include "rca/e_diagnosis.h"
#include "rca/graph_method.h"
#include "rca/method.h"
#include "rca/nsigma.h"

namespace llmrca::rca {

namespace {

MethodFactory GraphFactory(std::string_view builder, std::string_view ranker) {
  return [builder, ranker](const ParamMap& params) {
    return CreateGraphMethod(builder, ranker, params);
  };
}

}  // namespace

void AddBuiltinMethods(MethodRegistry& registry) {
  const struct {
    MethodInfo info;
    MethodFactory factory;
  } kBuiltins[] = {
      {BaroInfo(), CreateBaro},
      {DummyInfo(), CreateDummy},
      {EDiagnosisInfo(), CreateEDiagnosis},
      {GraphMethodInfo("fci", "pagerank"), GraphFactory("fci", "pagerank")},
      {GraphMethodInfo("fci", "randomwalk"), GraphFactory("fci", "randomwalk")},
      {GraphMethodInfo("ges", "pagerank"), GraphFactory("ges", "pagerank")},
      {GraphMethodInfo("ges", "randomwalk"), GraphFactory("ges", "randomwalk")},
      {GraphMethodInfo("granger", "pagerank"), GraphFactory("granger", "pagerank")},
      {GraphMethodInfo("granger", "randomwalk"), GraphFactory("granger", "randomwalk")},
      {GraphMethodInfo("lingam", "pagerank"), GraphFactory("lingam", "pagerank")},
      {GraphMethodInfo("lingam", "randomwalk"), GraphFactory("lingam", "randomwalk")},
      {NsigmaInfo(), CreateNsigma},
      {GraphMethodInfo("ntlr", "pagerank"), GraphFactory("ntlr", "pagerank")},
      {GraphMethodInfo("ntlr", "randomwalk"), GraphFactory("ntlr", "randomwalk")},
      {GraphMethodInfo("pc", "pagerank"), GraphFactory("pc", "pagerank")},
      {GraphMethodInfo("pc", "randomwalk"), GraphFactory("pc", "randomwalk")},
  };
  for (const auto& b : kBuiltins) {
    Status s = registry.Add(b.info, b.factory);
    LLMRCA_CHECK(s.ok()) << s.message();
  }
}

}  // namespace llmrca::rca
