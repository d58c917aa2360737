#include "load/engine.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "load/record.h"
#include "load/testing/fake_llm_server.h"

namespace llmrca::load {
namespace {

using testing::FakeLlmServer;
using testing::FakeServerOptions;

class CollectingSink : public RecordSink {
 public:
  void Add(const RequestRecord& r) override { records.push_back(r); }
  std::vector<RequestRecord> records;
};

std::unique_ptr<FakeLlmServer> StartServer(double ttft_ms, double itl_ms, bool keep_alive = true) {
  FakeServerOptions o;
  o.ttft_ms = ttft_ms;
  o.itl_ms = itl_ms;
  o.keep_alive = keep_alive;
  Result<std::unique_ptr<FakeLlmServer>> s = FakeLlmServer::Start(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

PromptSource SyntheticPrompts(int64_t max_tokens) {
  PromptOptions p;
  p.output.mean = max_tokens;
  p.input.mean = 40;
  Result<PromptSource> s = PromptSource::Synthetic(p);
  EXPECT_TRUE(s.ok());
  return std::move(s).value();
}

// Every engine test runs on both HTTP clients for plain http://: the native one and libcurl.
class EngineTest : public ::testing::TestWithParam<HttpClient> {
 protected:
  EngineOptions ClosedLoop(const std::string& url, int users, int64_t requests) const;
  // A temporary file of this test and client (ctest runs the two clients' tests at once).
  static std::string TempPath(const std::string& name) {
    return ::testing::TempDir() + "/" + name +
           (GetParam() == HttpClient::kNative ? "_native" : "_curl");
  }
};

EngineOptions EngineTest::ClosedLoop(const std::string& url, int users, int64_t requests) const {
  EngineOptions e;
  e.url = url;
  e.http_client = GetParam();
  e.request.provider = Provider::kVllm;
  e.request.stream = true;
  e.request.include_usage = true;
  e.users = users;
  e.max_requests = requests;
  return e;
}

// The client's chunk times against the server's own send times for the same chunks (one user,
// so request i of the client is request i of the server): on loopback the two agree within a
// millisecond at the median (|client - server|), and no chunk is seen long before it was sent.
TEST_P(EngineTest, ChunkTimesMatchTheServersSchedule) {
  auto server = StartServer(20, 5);
  ASSERT_NE(server, nullptr);
  const PromptSource prompts = SyntheticPrompts(8);
  CollectingSink sink;
  EngineProgress progress;
  std::atomic<bool> stop{false};
  Result<EngineResult> run =
      RunEngine(ClosedLoop(server->BaseUrl(), 1, 10), nullptr, prompts, sink, progress, stop);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_TRUE(run->error.ok());
  ASSERT_EQ(sink.records.size(), 10u);
  ASSERT_TRUE(server->WaitForServed(10, std::chrono::seconds(5)));
  const std::vector<testing::ServedRequest> served = server->Served();
  std::vector<double> lateness_ms;
  for (size_t i = 0; i < 10; ++i) {
    const RequestRecord& r = sink.records[i];
    ASSERT_EQ(r.id, static_cast<int64_t>(i));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.output_tokens, 8);  // from the usage chunk
    EXPECT_EQ(r.output_tokens_source, TokenSource::kUsage);
    EXPECT_FALSE(r.TokensMismatch());
    ASSERT_EQ(r.chunk_times_s.size(), 8u);
    ASSERT_EQ(served[i].chunk_sent.size(), 8u);
    for (size_t k = 0; k < 8; ++k) {
      const auto client = run->start + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::duration<double>(r.send_s + r.chunk_times_s[k]));
      const double late_ms =
          std::chrono::duration<double, std::milli>(client - served[i].chunk_sent[k]).count();
      // The server stamps a chunk after its send() returns, so on a loaded machine the client
      // may read it before the stamp (a preempted server thread); only gross errors fail here,
      // the median below carries the accuracy claim.
      EXPECT_GE(late_ms, -50.0) << "request " << i << " chunk " << k;
      lateness_ms.push_back(std::abs(late_ms));
    }
    // TTFT is at least the server's 20 ms. (Single gaps are not bounded below: a chunk that
    // the server sends late shortens the gap after it.)
    ASSERT_TRUE(r.first_content_s.has_value());
    EXPECT_GE(*r.first_content_s - r.send_s, 0.020);
  }
  std::sort(lateness_ms.begin(), lateness_ms.end());
  EXPECT_LT(lateness_ms[lateness_ms.size() / 2], 1.0);
  EXPECT_LT(lateness_ms.back(), 50.0);  // a shared machine may stall a thread now and then
}

// One request per failure mode of the fake server, in file order, each counted in one class.
TEST_P(EngineTest, EveryErrorClassIsRecognised) {
  auto server = StartServer(5, 1);
  ASSERT_NE(server, nullptr);
  const char* lines[] = {
      R"({"prompt": "ok [fake tokens=3]", "max_tokens": 3})",
      R"({"prompt": "[fake status=429]", "max_tokens": 3})",
      R"({"prompt": "[fake status=503]", "max_tokens": 3})",
      R"({"prompt": "[fake status=404]", "max_tokens": 3})",
      R"({"prompt": "[fake mode=in_stream_error]", "max_tokens": 5})",
      R"({"prompt": "[fake mode=malformed]", "max_tokens": 5})",
      R"({"prompt": "[fake mode=close_mid_stream]", "max_tokens": 5})",
      R"({"prompt": "[fake mode=hang]", "max_tokens": 5})",
  };
  const std::string path = TempPath("engine_error_prompts.jsonl");
  {
    std::ofstream out(path);
    for (const char* l : lines) out << l << "\n";
  }
  PromptOptions po;
  po.shuffle = false;
  Result<PromptSource> prompts = PromptSource::FromJsonl(path, po);
  ASSERT_TRUE(prompts.ok()) << prompts.status().ToString();
  EngineOptions e = ClosedLoop(server->BaseUrl(), 1, 8);
  e.request_timeout = std::chrono::milliseconds(400);
  CollectingSink sink;
  EngineProgress progress;
  std::atomic<bool> stop{false};
  Result<EngineResult> run = RunEngine(e, nullptr, *prompts, sink, progress, stop);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(sink.records.size(), 8u);
  const ErrorClass want[] = {ErrorClass::kNone,     ErrorClass::kHttp429,
                             ErrorClass::kHttp5xx,  ErrorClass::kHttp4xx,
                             ErrorClass::kInStream, ErrorClass::kMalformedStream,
                             ErrorClass::kClosedMidStream, ErrorClass::kTimeout};
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(sink.records[i].error_class, want[i])
        << "request " << i << ": " << ErrorClassName(sink.records[i].error_class) << " "
        << sink.records[i].error;
    if (i > 0) {
      EXPECT_FALSE(sink.records[i].error.empty());
    }
  }
  EXPECT_EQ(sink.records[1].http_status, 429);
  EXPECT_EQ(sink.records[0].output_tokens, 3);
  EXPECT_EQ(progress.completed.load(), 1);
  EXPECT_EQ(progress.failed.load(), 7);
  std::remove(path.c_str());
}

TEST_P(EngineTest, RefusedConnectionsAreCountedAsRefused) {
  auto server = StartServer(1, 1);
  ASSERT_NE(server, nullptr);
  const std::string url = server->BaseUrl();
  server->Stop();  // the port now refuses connections
  const PromptSource prompts = SyntheticPrompts(4);
  CollectingSink sink;
  EngineProgress progress;
  std::atomic<bool> stop{false};
  Result<EngineResult> run = RunEngine(ClosedLoop(url, 2, 6), nullptr, prompts, sink, progress, stop);
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(sink.records.size(), 6u);
  for (const RequestRecord& r : sink.records) {
    EXPECT_EQ(r.error_class, ErrorClass::kRefused) << r.error;
    EXPECT_EQ(r.http_status, 0);
  }
}

// Open loop at a constant 200 requests/s: every request is sent at its intended time (the
// schedule is exact: request i at i * 5 ms), and the lag stays far below the gap.
TEST_P(EngineTest, OpenLoopSendsOnSchedule) {
  auto server = StartServer(2, 1);
  ASSERT_NE(server, nullptr);
  const PromptSource prompts = SyntheticPrompts(2);
  RateScheduleOptions r;
  r.rate_rps = 200;
  r.max_requests = 100;
  Result<std::unique_ptr<ArrivalSchedule>> schedule = MakeRateSchedule(r);
  ASSERT_TRUE(schedule.ok());
  EngineOptions e = ClosedLoop(server->BaseUrl(), 0, 0);
  e.users = 0;
  e.max_requests.reset();
  CollectingSink sink;
  EngineProgress progress;
  std::atomic<bool> stop{false};
  Result<EngineResult> run = RunEngine(e, schedule->get(), prompts, sink, progress, stop);
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(sink.records.size(), 100u);
  std::vector<double> lag;
  for (const RequestRecord& rec : sink.records) {
    EXPECT_NEAR(rec.scheduled_s, rec.id * 0.005, 1e-9);
    EXPECT_TRUE(rec.ok()) << rec.error;
    lag.push_back(rec.send_s - rec.scheduled_s);
  }
  std::sort(lag.begin(), lag.end());
  EXPECT_GE(lag.front(), 0.0);
  EXPECT_LT(lag[lag.size() / 2], 0.001);
}

// Stopping a run mid-stream: requests in flight past the drain time are recorded as
// interrupted, and the JSONL file written by the sink holds every request, none cut.
TEST_P(EngineTest, InterruptedRunLeavesACompleteJsonl) {
  auto server = StartServer(5, 40);
  ASSERT_NE(server, nullptr);
  const PromptSource prompts = SyntheticPrompts(100);  // 4 s per request
  const std::string path = TempPath("engine_interrupted.jsonl");
  RecordsHeader header;
  Result<std::unique_ptr<RecordWriter>> writer = RecordWriter::Create(path, header);
  ASSERT_TRUE(writer.ok());
  struct WriterSink : RecordSink {
    RecordWriter* w;
    int64_t n = 0;
    void Add(const RequestRecord& r) override {
      ASSERT_TRUE(w->Append(r).ok());
      ++n;
    }
  } sink;
  sink.w = writer->get();
  EngineOptions e = ClosedLoop(server->BaseUrl(), 4, 1000);
  e.duration = std::chrono::seconds(30);
  e.drain_timeout = std::chrono::milliseconds(100);
  EngineProgress progress;
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  Result<EngineResult> run = RunEngine(e, nullptr, prompts, sink, progress, stop);
  stopper.join();
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(run->interrupted);
  EXPECT_LT(run->elapsed_s, 3.0);
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(sink.n, progress.started.load());
  Result<RecordsFile> back = ReadRecordsFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->truncated_last_line);
  ASSERT_EQ(static_cast<int64_t>(back->records.size()), sink.n);
  for (const RequestRecord& r : back->records) {
    EXPECT_EQ(r.error_class, ErrorClass::kOther);
    EXPECT_FALSE(r.chunk_times_s.empty());  // the chunks seen before the stop are kept
  }
  std::remove(path.c_str());
}

// One user, ten non-streamed requests one after another: the first connection is kept alive and
// carries all ten (the server accepts exactly one), and every body (Content-Length) is read.
TEST_P(EngineTest, KeepAliveCarriesEveryRequestOnOneConnection) {
  auto server = StartServer(1, 1);
  ASSERT_NE(server, nullptr);
  const PromptSource prompts = SyntheticPrompts(4);
  EngineOptions e = ClosedLoop(server->BaseUrl(), 1, 10);
  e.request.stream = false;
  e.request.include_usage = false;
  CollectingSink sink;
  EngineProgress progress;
  std::atomic<bool> stop{false};
  Result<EngineResult> run = RunEngine(e, nullptr, prompts, sink, progress, stop);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(sink.records.size(), 10u);
  for (const RequestRecord& r : sink.records) {
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.output_tokens, 4);  // the usage object of the body
  }
  EXPECT_EQ(server->stats().connections_accepted, 1);
}

// A server that answers every request with `Connection: close`: each of the six requests of two
// users goes on a connection of its own, and all succeed.
TEST_P(EngineTest, ConnectionCloseMeansAConnectionPerRequest) {
  auto server = StartServer(1, 1, /*keep_alive=*/false);
  ASSERT_NE(server, nullptr);
  const PromptSource prompts = SyntheticPrompts(3);
  CollectingSink sink;
  EngineProgress progress;
  std::atomic<bool> stop{false};
  Result<EngineResult> run = RunEngine(ClosedLoop(server->BaseUrl(), 2, 6), nullptr, prompts, sink,
                                       progress, stop);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(sink.records.size(), 6u);
  for (const RequestRecord& r : sink.records) {
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.output_tokens, 3);
  }
  ASSERT_TRUE(server->WaitForServed(6, std::chrono::seconds(5)));
  EXPECT_EQ(server->stats().connections_accepted, 6);
}

TEST_P(EngineTest, RejectsBadOptions) {
  const PromptSource prompts = SyntheticPrompts(4);
  CollectingSink sink;
  EngineProgress progress;
  std::atomic<bool> stop{false};
  EngineOptions e = ClosedLoop("ftp://x", 1, 1);
  EXPECT_EQ(RunEngine(e, nullptr, prompts, sink, progress, stop).status().code(),
            StatusCode::kInvalidArgument);
  e = ClosedLoop("http://127.0.0.1:1", 1, 1);
  e.max_requests.reset();
  EXPECT_EQ(RunEngine(e, nullptr, prompts, sink, progress, stop).status().code(),
            StatusCode::kInvalidArgument);  // unbounded closed loop
  e = ClosedLoop("http://127.0.0.1:1", 0, 1);
  EXPECT_EQ(RunEngine(e, nullptr, prompts, sink, progress, stop).status().code(),
            StatusCode::kInvalidArgument);  // open loop without a schedule
}

INSTANTIATE_TEST_SUITE_P(Clients, EngineTest,
                         ::testing::Values(HttpClient::kNative, HttpClient::kCurl),
                         [](const ::testing::TestParamInfo<HttpClient>& p) {
                           return p.param == HttpClient::kNative ? "native" : "curl";
                         });

}  // namespace
}  // namespace llmrca::load
