// llmrca_fake_llm_server: runs FakeLlmServer (fake_llm_server.h) until SIGINT or SIGTERM, for
// benchmarks against wrk and for trying `llmrca load` by hand. Prints its base URL on stdout
// once it listens, and its counters on stderr when it stops. Per-request records are off, so
// memory stays flat however long it runs.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "load/testing/fake_llm_server.h"

int main(int argc, char** argv) {
  llmrca::load::testing::FakeServerOptions options;
  options.record = false;
  CLI::App app(
      "An OpenAI/vLLM-, TGI- and Triton-compatible fake LLM server on 127.0.0.1 that streams "
      "tokens on a fixed schedule. Per-request overrides go in the body, e.g. "
      "[fake ttft_ms=20 itl_ms=5 tokens=8 mode=in_stream_error]",
      "llmrca_fake_llm_server");
  app.add_option("--port", options.port, "TCP port on 127.0.0.1 (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--ttft-ms", options.ttft_ms, "Request complete to first token, ms")
      ->check(CLI::Range(0.0, 3'600'000.0))
      ->capture_default_str();
  app.add_option("--itl-ms", options.itl_ms, "Time between tokens, ms")
      ->check(CLI::Range(0.0, 3'600'000.0))
      ->capture_default_str();
  app.add_option("--tokens", options.default_tokens,
                 "Tokens per answer when the request gives no max_tokens")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--model", options.model, "Model name for /v1/models and /metrics")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  // Block the stop signals before the server thread starts, so that it inherits the mask and
  // sigwait below is the only place they are taken.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = llmrca::load::testing::FakeLlmServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "llmrca_fake_llm_server: %s\n", server.status().message().c_str());
    return 1;
  }
  fmt::print("{}\n", (*server)->BaseUrl());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  (*server)->Stop();
  llmrca::load::testing::FakeServerStats s = (*server)->stats();
  fmt::print(stderr,
             "llmrca_fake_llm_server: stopped: {} connections, {} requests received, {} "
             "completed, {} tokens, peak {} streams, {} bad requests\n",
             s.connections_accepted, s.requests_received, s.requests_completed, s.tokens_sent,
             s.streams_peak, s.bad_requests);
  return 0;
}
