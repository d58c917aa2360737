// `llmrca serve-sim stack`: the study's request path (reference/seed-study.md C.1: an nginx
// proxy, Ray Serve's proxy on the head node, vLLM replicas) as processes on loopback. Engines
// and the router are this program started again with `serve-sim engine|router --port 0`; each
// prints its URL on its first line, which is how the stack learns the ports. nginx, when asked
// for, gets a configuration written here (streaming passes through unbuffered, keep-alive to
// the router) and runs in the foreground with every file under the run directory.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "base/file.h"
#include "base/subprocess.h"
#include "cli/serve_sim_command.h"

namespace llmrca::cli {
#ifdef LLMRCA_WITH_ROUTER
namespace {

struct Part {
  std::string name;
  std::string url;
  std::string log;
  Subprocess process;
};

// The URL a child printed on its first line ("... listening on http://H:P ...").
Result<std::string> WaitForUrl(Part& part, Subprocess& p) {
  Result<std::string> line = p.ReadLine(std::chrono::seconds(20));
  if (!line.ok()) {
    return Status::Unavailable(fmt::format("{} did not start ({}); see {}", part.name,
                                           line.status().message(), part.log));
  }
  const size_t at = line->find("http://");
  if (at == std::string::npos) {
    return Status::Internal(fmt::format("{} printed '{}' instead of its URL", part.name, *line));
  }
  const size_t end = line->find(' ', at);
  return line->substr(at, end == std::string::npos ? std::string::npos : end - at);
}

bool CanConnect(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string ReadTail(const std::string& path, size_t bytes) {
  const std::string text = ReadFileToString(path).value_or("");
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

Result<std::string> FindNginx(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      const std::string candidate = dir + "/nginx";
      if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  if (::access("/usr/sbin/nginx", X_OK) == 0) return std::string("/usr/sbin/nginx");
  return Status::NotFound(
      "nginx is not installed (Debian: apt-get install nginx-light); run the stack without "
      "--nginx, or name the program with --nginx-bin");
}

// nginx as the study's nginx-proxy: one worker, everything it writes under `dir`, SSE streams
// passed on as they come (proxy_buffering off), keep-alive connections to the router, the
// upstream's timings in the access log.
std::string NginxConfig(const std::string& dir, const std::string& host, int port,
                        const std::string& router_url) {
  const std::string upstream = router_url.substr(7);  // after http://
  return fmt::format(R"(# Written by llmrca serve-sim stack.
daemon off;
worker_processes 1;
pid {0}/nginx.pid;
error_log {0}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
  log_format timed '$remote_addr [$time_iso8601] "$request" $status $body_bytes_sent '
                   'rt=$request_time urt=$upstream_response_time uct=$upstream_connect_time';
  access_log {0}/nginx-access.log timed;
  client_body_temp_path {0}/client_body;
  proxy_temp_path {0}/proxy;
  fastcgi_temp_path {0}/fastcgi;
  uwsgi_temp_path {0}/uwsgi;
  scgi_temp_path {0}/scgi;
  upstream ray_head {{
    server {1};
    keepalive 256;
  }}
  server {{
    listen {2}:{3};
    location / {{
      proxy_pass http://ray_head;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 3600s;
      client_max_body_size 16m;
    }}
  }}
}}
)",
                     dir, upstream, host, port);
}

}  // namespace

Status RunServeSimStack(const ServeSimStackFlags& f) {
  LLMRCA_ASSIGN_OR_RETURN(const std::string self, SelfExecutable());
  std::string dir = f.run_dir;
  if (dir.empty()) {
    char tmpl[] = "/tmp/llmrca-stack-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return Status::IoError("cannot create a run directory in /tmp");
    dir = tmpl;
  } else if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::IoError(fmt::format("cannot create run directory '{}'", dir));
  }
  std::optional<std::string> nginx;
  if (f.nginx) {
    LLMRCA_ASSIGN_OR_RETURN(std::string bin, FindNginx(f.nginx_bin));
    nginx = bin;
  }
  std::atomic<bool>& stop = CatchStopSignals();
  std::vector<Part> parts;  // started in order, stopped in reverse
  const auto stop_all = [&] {
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) it->process.Stop(std::chrono::seconds(5));
    ReleaseStopSignals();
  };
  const auto start = [&](std::string name, std::vector<std::string> argv,
                         bool capture) -> Status {
    SubprocessOptions o;
    o.capture_stdout = capture;
    o.stderr_path = fmt::format("{}/{}.log", dir, name);
    Result<Subprocess> p = Subprocess::Start(argv, o);
    if (!p.ok()) return p.status();
    parts.push_back(Part{std::move(name), "", o.stderr_path, std::move(p).value()});
    if (capture) {
      Part& part = parts.back();
      Result<std::string> url = WaitForUrl(part, part.process);
      if (!url.ok()) return url.status();
      part.url = *url;
    }
    return Status::Ok();
  };
  const auto fail = [&](Status s) {
    stop_all();
    return s;
  };

  const ServeSimEngineFlags& e = f.engine;
  std::string backends;
  for (int i = 0; i < f.replicas; ++i) {
    const std::string name = fmt::format("ray-replicas-{}", i);
    std::vector<std::string> argv = {self, "serve-sim", "engine", "--host", f.host, "--port", "0",
                                     "--name", name, "--model", e.model, "--gpu-profile",
                                     e.gpu_profile, "--max-num-seqs",
                                     std::to_string(e.max_num_seqs), "--max-num-batched-tokens",
                                     std::to_string(e.max_num_batched_tokens), "--max-model-len",
                                     std::to_string(e.max_model_len)};
    if (!e.served_model_name.empty()) {
      argv.insert(argv.end(), {"--served-model-name", e.served_model_name});
    }
    if (e.kv_blocks > 0) argv.insert(argv.end(), {"--kv-blocks", std::to_string(e.kv_blocks)});
    if (!f.otlp_endpoint.empty()) argv.insert(argv.end(), {"--otlp-endpoint", f.otlp_endpoint});
    if (Status s = start(name, argv, true); !s.ok()) return fail(s);
    backends += fmt::format("{}{}={}", i ? "," : "", name, parts.back().url);
  }
  const int router_port = nginx ? 0 : f.port;
  std::vector<std::string> router_argv = {
      self, "serve-sim", "router", "--host", f.host, "--port", std::to_string(router_port),
      "--name", "ray-head", "--backends", backends, "--max-ongoing-requests",
      std::to_string(f.max_ongoing_requests)};
  if (!f.otlp_endpoint.empty()) {
    router_argv.insert(router_argv.end(), {"--otlp-endpoint", f.otlp_endpoint});
  }
  if (Status s = start("ray-head", router_argv, true); !s.ok()) {
    return fail(s);
  }
  std::string entry = parts.back().url;
  if (nginx) {
    const std::string conf = dir + "/nginx.conf";
    {
      std::ofstream out(conf);
      out << NginxConfig(dir, f.host, f.port, parts.back().url);
      if (!out) return fail(Status::IoError(fmt::format("cannot write '{}'", conf)));
    }
    if (Status s = start("nginx-proxy", {*nginx, "-p", dir, "-e", dir + "/nginx-error.log", "-c", conf},
                         false);
        !s.ok()) {
      return fail(s);
    }
    Part& proxy = parts.back();
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
      if (proxy.process.Poll()) break;
      up = CanConnect(f.host, f.port);
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    if (!up) {
      return fail(Status::Unavailable(
          fmt::format("nginx did not start on {}:{}: {}", f.host, f.port,
                      ReadTail(dir + "/nginx-error.log", 400))));
    }
    proxy.url = fmt::format("http://{}:{}", f.host, f.port);
    entry = proxy.url;
  }

  std::string text = fmt::format("serve-sim stack: {} replicas{}, entry point {}\n", f.replicas,
                                 nginx ? ", router, nginx" : ", router", entry);
  for (const Part& p : parts) {
    text += fmt::format("  {:<16} {:<24} pid {:<8} log {}\n", p.name, p.url, p.process.pid(),
                        p.log);
  }
  Status printed = WriteStdout(text);
  std::fflush(stdout);
  Status outcome = printed;
  const auto start_time = std::chrono::steady_clock::now();
  while (outcome.ok() && !stop.load()) {
    if (f.duration_s > 0 && std::chrono::steady_clock::now() - start_time >=
                                std::chrono::duration<double>(f.duration_s)) {
      break;
    }
    for (Part& p : parts) {
      if (std::optional<int> code = p.process.Poll()) {
        outcome = Status::Unavailable(fmt::format("{} (pid {}) exited with status {}; see {}",
                                                  p.name, p.process.pid(), *code, p.log));
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop_all();
  std::fprintf(stderr, "serve-sim stack: stopped %zu processes (logs in %s)\n", parts.size(),
               dir.c_str());
  return outcome;
}
#endif
}  // namespace llmrca::cli
