// End-to-end tests of the llmrca binary: exit codes, stdout formats and one-line errors, on the
// fixture dataset testdata/parity and on bad inputs written to a temporary directory.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/subprocess.h"
#include "cli/cli_test_fixture.h"
#include "net/http_server.h"
#include "net/test_client.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using llmrca::cli_test::CliTest;
using llmrca::cli_test::ProcessEnded;

const std::string kParity = std::string(LLMRCA_TESTDATA_DIR) + "/parity";


TEST_F(CliTest, HelpAndVersionSucceed) {
  Run help = Llmrca("--help");
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("eval"));
  Run sub = Llmrca("eval --help");
  EXPECT_EQ(sub.code, 0);
  EXPECT_THAT(sub.out, HasSubstr("drop-latency-50"));  // the preprocessing steps are documented
  Run version = Llmrca("version");
  EXPECT_EQ(version.code, 0);
  EXPECT_THAT(version.out, HasSubstr("llmrca 0."));
  EXPECT_THAT(version.out, HasSubstr("16 methods"));
  EXPECT_THAT(version.out, HasSubstr("sim"));
  EXPECT_THAT(version.out, HasSubstr("  chaos      proxy, cpu, memory, disk, process"));
  EXPECT_THAT(version.out, HasSubstr("  tc qdiscs  netem "));
  EXPECT_THAT(version.out, HasSubstr("  gpu        power cap through NVML (loaded at run time"));
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(Llmrca("").code, 2);              // no subcommand
  EXPECT_EQ(Llmrca("frobnicate").code, 2);    // unknown subcommand
  EXPECT_EQ(Llmrca("rca --method baro").code, 2);  // --case missing
  Run typo = Llmrca("rca --case " + kParity + "/ray-head_cpu/1 --method barro");
  EXPECT_EQ(typo.code, 2);
  EXPECT_THAT(typo.err, HasSubstr("did you mean 'baro'?"));
  EXPECT_EQ(Lines(typo.err), 1);
  Run param = Llmrca("rca --case " + kParity + "/ray-head_cpu/1 --method baro --param directon=up");
  EXPECT_EQ(param.code, 2);
  EXPECT_THAT(param.err, HasSubstr("did you mean 'direction'?"));
  Run step = Llmrca("eval --dataset " + kParity + " --methods baro --skip fil");
  EXPECT_EQ(step.code, 2);
  EXPECT_THAT(step.err, HasSubstr("did you mean 'fill'?"));
}

TEST_F(CliTest, MethodsListsEveryMethod) {
  Run r = Llmrca("methods");
  ASSERT_EQ(r.code, 0);
  for (const char* name : {"baro", "dummy", "e_diagnosis", "nsigma", "pc_pagerank", "fci_pagerank",
                           "ges_randomwalk", "granger_pagerank", "lingam_pagerank",
                           "ntlr_randomwalk"}) {
    EXPECT_THAT(r.out, HasSubstr(name));
  }
  Run json = Llmrca("methods --format json");
  ASSERT_EQ(json.code, 0);
  nlohmann::json doc = nlohmann::json::parse(json.out);
  ASSERT_EQ(doc.size(), 16u);
  EXPECT_EQ(doc[0]["name"], "baro");
  EXPECT_EQ(doc[0]["params"][1]["name"], "direction");
}

TEST_F(CliTest, DocsMethodsMdIsUpToDate) {
  // docs/methods.md is generated from the declared ParamSpecs; regenerate it when they change:
  //   build/llmrca methods --format markdown > docs/methods.md
  Run r = Llmrca("methods --format markdown");
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.out, Slurp(fs::path(LLMRCA_TESTDATA_DIR).parent_path() / "docs" / "methods.md"));
}

TEST_F(CliTest, RcaPrintsTheRankingAsJson) {
  Run r = Llmrca("rca --case " + kParity + "/ray-head_cpu/1 --method baro --format json --top 3");
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["method"], "baro");
  EXPECT_EQ(doc["case"], "ray-head_cpu/1");
  ASSERT_EQ(doc["ranking"].size(), 3u);
  // The reference ranking of this case (testdata/parity/ray-head_cpu/1/reference.json) starts
  // ray-head_ctn_cpu, ray-head_latency, nginx-proxy_latency.
  EXPECT_EQ(doc["ranking"][0]["service"], "ray-head");
  EXPECT_EQ(doc["ranking"][0]["indicator"], "ctn_cpu");
  EXPECT_EQ(doc["ranking"][2]["service"], "nginx-proxy");
  Run table = Llmrca("rca --case " + kParity + "/ray-head_cpu/1 --method nsigma");
  ASSERT_EQ(table.code, 0);
  EXPECT_EQ(Lines(table.out), 21);  // header + 20 candidates
}

TEST_F(CliTest, BadInputsGiveOneLineErrorsNamingTheFile) {
  Run missing = Llmrca("rca --case /nonexistent/case --method baro");
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/case"));
  EXPECT_EQ(Lines(missing.err), 1);

  Write(tmp_ / "ragged" / "data.csv", "time,a_x,b_x\n0,1,2\n5,1\n");
  Write(tmp_ / "ragged" / "inject_time.txt", "5\n");
  Run ragged = Llmrca("rca --case " + (tmp_ / "ragged").string() + " --method baro");
  EXPECT_EQ(ragged.code, 1);
  EXPECT_THAT(ragged.err, HasSubstr("data.csv:3: column 3 ('b_x'): ragged row"));
  EXPECT_EQ(Lines(ragged.err), 1);

  Write(tmp_ / "text" / "data.csv", "time,a_x\n0,1\n5,high\n");
  Write(tmp_ / "text" / "inject_time.txt", "5\n");
  Run text = Llmrca("rca --case " + (tmp_ / "text").string() + " --method baro");
  EXPECT_EQ(text.code, 1);
  EXPECT_THAT(text.err, HasSubstr("data.csv:3: column 2 ('a_x'): non-numeric cell 'high'"));

  Write(tmp_ / "notime" / "data.csv", "t,a_x\n0,1\n");
  Write(tmp_ / "notime" / "inject_time.txt", "5\n");
  EXPECT_THAT(Llmrca("rca --case " + (tmp_ / "notime").string() + " --method baro").err,
              HasSubstr("no 'time' column"));

  Write(tmp_ / "badinject" / "data.csv", "time,a_x\n0,1\n5,2\n");
  Write(tmp_ / "badinject" / "inject_time.txt", "soon\n");
  Run inject = Llmrca("rca --case " + (tmp_ / "badinject").string() + " --method baro");
  EXPECT_EQ(inject.code, 1);
  EXPECT_THAT(inject.err, HasSubstr("inject_time.txt:1:1: inject time 'soon' is not a number"));

  Write(tmp_ / "after" / "data.csv", "time,a_x\n0,1\n5,2\n");
  Write(tmp_ / "after" / "inject_time.txt", "100\n");
  Run after = Llmrca("rca --case " + (tmp_ / "after").string() + " --method baro");
  EXPECT_EQ(after.code, 1);
  EXPECT_THAT(after.err, HasSubstr("no row at or after the inject time"));
}

// The rows of `llmrca graph --format matrix` below its '#' line of names.
std::vector<std::vector<int>> MatrixRows(const std::string& out, std::string* names) {
  std::istringstream in(out);
  std::string line;
  std::vector<std::vector<int>> rows;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) {
      *names = line.substr(2);
      continue;
    }
    std::istringstream cells(line);
    std::vector<int> row;
    for (int v; cells >> v;) row.push_back(v);
    rows.push_back(row);
  }
  return rows;
}

TEST_F(CliTest, GraphMatrixEqualsCausalLearnsOnACaseAndOnAPlainTable) {
  // expected: causal-learn 0.1.3.3 pc(data, 0.05, fisherz).G.graph on the parity case
  // (testdata/causal/pc_parity.json, provenance in testdata/README.md).
  const nlohmann::json want = nlohmann::json::parse(
      Slurp(fs::path(LLMRCA_TESTDATA_DIR) / "causal" / "pc_parity.json"))["cases"][0];
  ASSERT_EQ(want["case"], "ray-head_cpu");
  std::string want_names;
  for (const auto& c : want["columns"]) {
    if (!want_names.empty()) want_names += ' ';
    want_names += c.get<std::string>();
  }
  const std::vector<std::vector<int>> want_rows = want["graph"].get<std::vector<std::vector<int>>>();

  Run r = Llmrca("graph --case " + kParity + "/ray-head_cpu/1 --algo pc --format matrix");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string names;
  EXPECT_EQ(MatrixRows(r.out, &names), want_rows);
  EXPECT_EQ(names, want_names);

  // The same numbers as a tab-separated plain table (no time column; none is constant).
  std::istringstream csv(Slurp(fs::path(kParity) / "ray-head_cpu" / "1" / "data.csv"));
  std::ofstream tsv(tmp_ / "table.tsv");
  for (std::string line; std::getline(csv, line);) {
    line = line.substr(line.find(',') + 1);  // drop `time`, the first column
    std::replace(line.begin(), line.end(), ',', '\t');
    tsv << line << "\n";
  }
  tsv.close();
  Run t = Llmrca("graph --csv " + (tmp_ / "table.tsv").string() + " --algo pc --format matrix");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(MatrixRows(t.out, &names), want_rows);
  EXPECT_EQ(names, want_names);

  Run dot = Llmrca("graph --case " + kParity + "/ray-head_cpu/1 --algo granger --format dot");
  ASSERT_EQ(dot.code, 0) << dot.err;
  EXPECT_THAT(dot.out, HasSubstr("digraph causal {"));
  EXPECT_THAT(dot.out, HasSubstr(" -> "));
}

TEST_F(CliTest, GraphErrorsNameTheProblem) {
  Run missing = Llmrca("graph --csv " + (tmp_ / "none.csv").string());
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("none.csv"));
  Run algo = Llmrca("graph --case " + kParity + "/ray-head_cpu/1 --algo pcc");
  EXPECT_EQ(algo.code, 2);
  EXPECT_EQ(Llmrca("graph --algo pc").code, 2);  // no input
  std::ofstream(tmp_ / "bad.csv") << "a,b\n1,2\n3,x\n";
  Run bad = Llmrca("graph --csv " + (tmp_ / "bad.csv").string());
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("bad.csv"));
  EXPECT_EQ(Lines(bad.err), 1);
}

TEST_F(CliTest, EvalTimeoutFailsTheSlowCasesAndGoesOn) {
  // A 1 microsecond limit: PC checks its deadline before its first test, so every case fails
  // with "time limit reached", while baro (no deadline checks, microseconds per case) still scores.
  Run r = Llmrca("eval --dataset " + kParity +
                 " --methods pc_pagerank,baro --timeout 0.000001 --format csv --no-progress");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\npc_pagerank,service,overall,6,6,0,0,0,0,0,0,"));
  EXPECT_THAT(r.out, HasSubstr("\nbaro,service,overall,6,0,1,1,1,1,1,1,"));
  EXPECT_THAT(r.err, HasSubstr("pc_pagerank on ray-head_cpu/1: pc_pagerank: pc: time limit reached"));
}

TEST_F(CliTest, EvalAllMethodsOnTheFixtureDataset) {
  const fs::path out = tmp_ / "out";
  Run r = Llmrca("eval --dataset " + kParity + " --methods all --format csv --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  // baro ranks the root-cause service first in all six parity cases (see reference.json files).
  EXPECT_THAT(r.out, HasSubstr("\nbaro,service,overall,6,0,1,1,1,1,1,1,"));
  EXPECT_THAT(r.out, HasSubstr("\nnsigma,service,overall,6,0,1,1,1,1,1,1,"));
  // A random order of 5 services: chance AC@1 = 1/5, AC@3 = 3/5.
  EXPECT_THAT(r.out, HasSubstr("\n(random),service,overall,6,0,0.2,0.4,0.6,0.8,1,0.6,"));
  EXPECT_TRUE(fs::exists(out / "report.csv"));
  EXPECT_EQ(Slurp(out / "report.csv"), r.out);
  nlohmann::json summary = nlohmann::json::parse(Slurp(out / "summary.json"));
  EXPECT_EQ(summary["cases"], 6);
  nlohmann::json one = nlohmann::json::parse(Slurp(out / "cases" / "baro" / "ray-head_cpu" / "1.json"));
  EXPECT_EQ(one["ranking"][0]["indicator"], "ctn_cpu");
  EXPECT_EQ(one["ranking"].size(), 20u);
}

TEST_F(CliTest, EvalTableAndParallelJobsAgree) {
  Run table = Llmrca("eval --dataset " + kParity + " --methods dummy,baro --no-progress");
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("Service level"));
  EXPECT_THAT(table.out, HasSubstr("(random)"));
  Run one = Llmrca("eval --dataset " + kParity + " --methods dummy,baro --format json");
  Run two = Llmrca("eval --dataset " + kParity + " --methods dummy,baro --format json --jobs 2");
  ASSERT_EQ(one.code, 0);
  ASSERT_EQ(two.code, 0);
  nlohmann::json a = nlohmann::json::parse(one.out), b = nlohmann::json::parse(two.out);
  ASSERT_EQ(a["rows"].size(), b["rows"].size());
  for (size_t i = 0; i < a["rows"].size(); ++i) {
    EXPECT_EQ(a["rows"][i]["avg5"], b["rows"][i]["avg5"]) << a["rows"][i]["method"];
  }
}

TEST_F(CliTest, EvalGoesOnPastABrokenCase) {
  const fs::path ds = tmp_ / "ds";
  fs::create_directories(ds / "ray-head_cpu");
  fs::copy(kParity + "/ray-head_cpu", ds / "ray-head_cpu", fs::copy_options::recursive);
  Write(ds / "ray-head_delay" / "1" / "data.csv", "time,ray-head_latency\n0,1\n5,2,3\n");
  Write(ds / "ray-head_delay" / "1" / "inject_time.txt", "5\n");
  Run r = Llmrca("eval --dataset " + ds.string() + " --methods baro --format csv");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\nbaro,service,overall,2,1,0.5,"));  // 1 hit, 1 failure
  EXPECT_THAT(r.err, HasSubstr("ragged row"));
}

TEST_F(CliTest, SimGenerateWritesADatasetThatEvalReads) {
  const fs::path out = tmp_ / "gen";
  Run gen = Llmrca("sim generate --out " + out.string() + " --cases 4 --seed 5 --no-progress");
  ASSERT_EQ(gen.code, 0) << gen.err;
  EXPECT_THAT(gen.out, HasSubstr("wrote 4 cases to"));
  for (const char* file : {"data.csv", "inject_time.txt", "case.json", "logs.csv", "logts.csv",
                           "traces.csv", "tracets_lat.csv", "tracets_err.csv", "mpg.csv"}) {
    EXPECT_TRUE(fs::exists(out / "ray-head_cpu" / "1" / file)) << file;
  }
  Run eval = Llmrca("eval --dataset " + out.string() + " --methods dummy,nsigma --format csv");
  ASSERT_EQ(eval.code, 0) << eval.err;
  EXPECT_THAT(eval.out, HasSubstr("\nnsigma,service,overall,4,0,"));
  // Generating into the same directory again needs --force.
  Run again = Llmrca("sim generate --out " + out.string() + " --cases 1 --no-progress");
  EXPECT_EQ(again.code, 2);
  EXPECT_THAT(again.err, HasSubstr("not empty (use --force"));
}

TEST_F(CliTest, SimGenerateRejectsBadOptions) {
  const std::string out = (tmp_ / "bad").string();
  Run fault = Llmrca("sim generate --out " + out + " --faults cpu,gpuu");
  EXPECT_EQ(fault.code, 2);
  EXPECT_THAT(fault.err, HasSubstr("did you mean 'gpu'?"));
  EXPECT_EQ(Lines(fault.err), 1);
  EXPECT_EQ(Llmrca("sim generate --out " + out + " --replicas 0").code, 2);
  Run window = Llmrca("sim generate --out " + out + " --fault-start 330");
  EXPECT_EQ(window.code, 2);
  EXPECT_THAT(window.err, HasSubstr("outside the run"));
  EXPECT_EQ(Llmrca("sim generate --out " + out + " --profile nope").code, 2);
  EXPECT_EQ(Llmrca("sim").code, 2);  // a subcommand is required
}

}  // namespace

#ifdef LLMRCA_WITH_LOAD
TEST_F(CliTest, LoadAgainstADeadServerStillWritesEverythingAndHidesTheKey) {
  // Nothing listens on 127.0.0.1:1, so all three requests are refused; the summary is still
  // written, every request is in requests.jsonl, and the API key appears nowhere.
  const fs::path out = tmp_ / "load";
  Run r = Llmrca("load --url http://127.0.0.1:1 -u 1 -n 3 -k secret-key-123 --format json "
                 "--progress off --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"refused\": 3"));
  const std::string jsonl = Slurp(out / "requests.jsonl");
  EXPECT_EQ(Lines(jsonl), 4);  // the header and three requests
  EXPECT_THAT(jsonl, HasSubstr("\"error_class\":\"refused\""));
  for (const char* f : {"summary.json", "summary.csv", "summary.txt"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
    EXPECT_THAT(Slurp(out / f), Not(HasSubstr("secret-key-123")));
  }
  EXPECT_THAT(jsonl + r.out + r.err, Not(HasSubstr("secret-key-123")));
}

TEST_F(CliTest, LoadAgainstAServeSimEngineAndTheEngineStopsOnSigterm) {
  // A live simulated engine on a free port, bounded by --duration in case the test dies; the
  // load generator streams 20 requests through it; SIGTERM then stops it, leaving no process.
  const fs::path out = tmp_ / "engine.out", pid_file = tmp_ / "engine.pid";
  ASSERT_EQ(std::system(fmt::format("'{}' serve-sim engine --port 0 --duration 60 >'{}' 2>'{}' & "
                                    "echo $! >'{}'",
                                    LLMRCA_BINARY, out.string(), (tmp_ / "engine.err").string(),
                                    pid_file.string())
                            .c_str()),
            0);
  std::string url;
  for (int i = 0; i < 200 && url.empty(); ++i) {
    const std::string text = Slurp(out);
    const size_t at = text.find("http://");
    if (at != std::string::npos && text.find(' ', at) != std::string::npos) {
      url = text.substr(at, text.find(' ', at) - at);
    }
    if (url.empty()) usleep(20000);
  }
  const pid_t pid = std::stoi(Slurp(pid_file));
  ASSERT_FALSE(url.empty()) << Slurp(tmp_ / "engine.err");
  Run r = Llmrca("load --url " + url + " --provider vllm -u 4 -n 20 -p 64 -o 16 --format json "
                 "--progress off");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"completed\": 20"));
  EXPECT_THAT(r.out, HasSubstr("\"tokens_mismatch\": 0"));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  bool gone = false;
  for (int i = 0; i < 250 && !gone; ++i) {
    gone = kill(pid, 0) != 0;
    if (!gone) usleep(20000);
  }
  EXPECT_TRUE(gone) << "serve-sim engine still running after SIGTERM";
  EXPECT_THAT(Slurp(tmp_ / "engine.err"), HasSubstr("stopped"));
}

TEST_F(CliTest, ServeSimStackWithNginxServesLoadAndLeavesNoProcessAfterSigterm) {
  // The study's path as processes: nginx -> router -> 2 engines. Requests go in at nginx's port;
  // SIGTERM to the stack must end every process it started (their pids are in its output).
  if (access("/usr/sbin/nginx", X_OK) != 0 && std::system("command -v nginx >/dev/null") != 0) {
    GTEST_SKIP() << "nginx is not installed (./dev installs nginx-light)";
  }
  const fs::path out = tmp_ / "stack.out", pid_file = tmp_ / "stack.pid";
  const int port = llmrca::net::test_support::UnusedLoopbackPort();
  // A stand-in OpenTelemetry collector: the service names and trace ids of the spans it gets.
  std::mutex mu;
  std::multimap<std::string, std::string> traces_by_service;
  auto collector = llmrca::net::HttpServer::Start(
      {}, [&](llmrca::net::HttpRequest r, llmrca::net::Responder w) {
        const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
        if (!j.is_discarded() && j.contains("resourceSpans")) {
          std::lock_guard<std::mutex> lock(mu);
          for (const auto& rs : j["resourceSpans"]) {
            const std::string service = rs["resource"]["attributes"][0]["value"]["stringValue"];
            for (const auto& span : rs["scopeSpans"][0]["spans"]) {
              traces_by_service.emplace(service, span["traceId"].get<std::string>());
            }
          }
        }
        w.Send(200, "application/json", "{}");
      });
  ASSERT_TRUE(collector.ok());
  ASSERT_EQ(std::system(fmt::format("'{}' serve-sim stack --replicas 2 --nginx --port {} "
                                    "--run-dir '{}' --duration 60 "
                                    "--otlp-endpoint http://127.0.0.1:{}/v1/traces "
                                    ">'{}' 2>'{}' & echo $! >'{}'",
                                    LLMRCA_BINARY, port, (tmp_ / "run").string(),
                                    (*collector)->port(), out.string(),
                                    (tmp_ / "stack.err").string(), pid_file.string())
                            .c_str()),
            0);
  std::string text;
  for (int i = 0; i < 500 && text.find("nginx-proxy") == std::string::npos; ++i) {
    usleep(20000);
    text = Slurp(out);
  }
  const pid_t stack = std::stoi(Slurp(pid_file));
  ASSERT_THAT(text, HasSubstr("nginx-proxy")) << Slurp(tmp_ / "stack.err");
  std::vector<pid_t> pids;
  for (size_t at = text.find(" pid "); at != std::string::npos; at = text.find(" pid ", at + 1)) {
    pids.push_back(std::stoi(text.substr(at + 5)));
  }
  EXPECT_EQ(pids.size(), 4u);  // 2 engines, the router, nginx
  const std::string url = fmt::format("http://127.0.0.1:{}", port);
  EXPECT_THAT(text, HasSubstr("entry point " + url));
  Run r = Llmrca("load --url " + url + " --provider vllm -u 4 -n 12 -p 64 -o 8 --format json "
                 "--progress off");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"completed\": 12"));
  const std::string access_log = Slurp(tmp_ / "run" / "nginx-access.log");  // nginx saw them all
  EXPECT_EQ(Lines(access_log), 12);
  EXPECT_THAT(access_log, HasSubstr("\"POST /v1/completions HTTP/1.1\" 200 "));
  ASSERT_EQ(kill(stack, SIGTERM), 0);
  pids.push_back(stack);
  for (pid_t pid : pids) {
    bool ended = false;
    for (int i = 0; i < 400 && !ended; ++i) {
      ended = ProcessEnded(pid);
      if (!ended) usleep(20000);
    }
    EXPECT_TRUE(ended) << "process " << pid << " still running after SIGTERM to the stack";
    if (!ended) kill(pid, SIGKILL);
  }
  EXPECT_THAT(Slurp(tmp_ / "stack.err"), HasSubstr("stopped 4 processes"));
  // Every process flushed its spans when it stopped: the router's two per request (server and
  // client) and the engines' one, in the same 12 traces.
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(traces_by_service.count("ray-head"), 24u);
  EXPECT_EQ(traces_by_service.count("ray-replicas-0") + traces_by_service.count("ray-replicas-1"),
            12u);
  std::set<std::string> router_traces, engine_traces;
  for (const auto& [service, trace] : traces_by_service) {
    (service == "ray-head" ? router_traces : engine_traces).insert(trace);
  }
  EXPECT_EQ(router_traces.size(), 12u);
  EXPECT_EQ(router_traces, engine_traces);
}

TEST_F(CliTest, LoadOverTlsAndHttp2ThroughNginx) {
  // TLS and HTTP/2 go through libcurl: Debian's nginx terminates TLS (a self-signed certificate
  // made here) and speaks HTTP/2 by ALPN, in front of a serve-sim engine.
  if (access("/usr/sbin/nginx", X_OK) != 0 || std::system("command -v openssl >/dev/null") != 0) {
    GTEST_SKIP() << "needs nginx and openssl (./dev installs nginx-light; openssl is in Debian)";
  }
  const fs::path dir = tmp_ / "tls";
  fs::create_directories(dir);
  ASSERT_EQ(std::system(fmt::format("openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
                                    "-subj /CN=127.0.0.1 -keyout '{0}/key.pem' -out "
                                    "'{0}/cert.pem' >/dev/null 2>&1",
                                    dir.string())
                            .c_str()),
            0);
  auto engine = llmrca::cli_test::StartEngine();
  ASSERT_TRUE(engine);
  const std::string upstream = engine->address;  // 127.0.0.1:PORT
  const int port = llmrca::net::test_support::UnusedLoopbackPort();
  {
    std::ofstream conf(dir / "nginx.conf");
    conf << fmt::format(R"(daemon off;
pid {0}/nginx.pid;
error_log {0}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {0}/access.log;
  client_body_temp_path {0}/body;
  proxy_temp_path {0}/proxy;
  fastcgi_temp_path {0}/fastcgi;
  uwsgi_temp_path {0}/uwsgi;
  scgi_temp_path {0}/scgi;
  server {{
    listen 127.0.0.1:{1} ssl http2;
    ssl_certificate {0}/cert.pem;
    ssl_certificate_key {0}/key.pem;
    location / {{
      proxy_pass http://{2};
      proxy_http_version 1.1;
      proxy_buffering off;
    }}
  }}
}}
)",
                        dir.string(), port, upstream);
  }
  auto nginx = llmrca::Subprocess::Start({"/usr/sbin/nginx", "-p", dir.string(), "-e",
                                          (dir / "error.log").string(), "-c",
                                          (dir / "nginx.conf").string()});
  ASSERT_TRUE(nginx.ok());
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    up = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (!up) usleep(20000);
  }
  ASSERT_TRUE(up) << Slurp(dir / "error.log");
  const std::string url = fmt::format("https://127.0.0.1:{}", port);
  Run h1 = Llmrca("load --url " + url + " --insecure --provider vllm -u 2 -n 6 -p 64 -o 4 "
                  "--format json --progress off");
  EXPECT_EQ(h1.code, 0) << h1.err;
  EXPECT_THAT(h1.out, HasSubstr("\"completed\": 6"));
  Run h2 = Llmrca("load --url " + url + " --insecure --http2 --provider vllm -u 2 -n 6 -p 64 "
                  "-o 4 --format json --progress off");
  EXPECT_EQ(h2.code, 0) << h2.err;
  EXPECT_THAT(h2.out, HasSubstr("\"completed\": 6"));
  // Without --insecure the self-signed certificate is refused: every request fails, counted,
  // and the summary is still written.
  Run strict = Llmrca("load --url " + url + " --provider vllm -u 1 -n 2 -p 64 -o 4 "
                      "--format json --progress off");
  EXPECT_EQ(strict.code, 0) << strict.err;
  EXPECT_THAT(strict.out, HasSubstr("\"completed\": 0"));
  nginx->Stop(std::chrono::seconds(5));
  const std::string log = Slurp(dir / "access.log");
  size_t h11 = 0, h20 = 0;
  for (size_t at = 0; (at = log.find("HTTP/1.1\" 200", at)) != std::string::npos; ++at) ++h11;
  for (size_t at = 0; (at = log.find("HTTP/2.0\" 200", at)) != std::string::npos; ++at) ++h20;
  EXPECT_EQ(h11, 6u);
  EXPECT_EQ(h20, 6u);
}

TEST_F(CliTest, LoadHelpDefinesEveryMetricAndRejectsUnboundedRuns) {
  Run help = Llmrca("load --help");
  ASSERT_EQ(help.code, 0);
  for (const char* s : {"--qps", "--burst", "--users", "--duration", "--requests", "--api-key",
                        "--max-tokens-distribution", "--scrape", "ttft_intended", "tpot", "itl",
                        "schedule_lag", "closed_mid_stream", "--http-client"}) {
    EXPECT_THAT(help.out, HasSubstr(s)) << s;
  }
  EXPECT_EQ(Llmrca("load --url http://127.0.0.1:1 --qps 5").code, 2);  // no bound
  EXPECT_EQ(Llmrca("load --url http://127.0.0.1:1 -n 5").code, 2);     // no pattern
  EXPECT_EQ(Llmrca("load --url http://127.0.0.1:1 --provider nope -u 1 -n 1").code, 2);
}
#endif
