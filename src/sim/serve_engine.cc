#include "sim/serve_engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "sim/exposition.h"

namespace llmrca::sim {
namespace {

using Json = nlohmann::json;

std::string ErrorJson(int status, std::string_view type, std::string_view message) {
  Json j;
  j["object"] = "error";
  j["message"] = message;
  j["type"] = type;
  j["param"] = nullptr;
  j["code"] = status;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Prompt tokens from text: about 4 bytes a token (OpenAI's rule of thumb), at least 1.
int EstimateTokens(size_t bytes) { return static_cast<int>(std::max<size_t>(1, (bytes + 3) / 4)); }

int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ServeEngine::ServeEngine(ServeEngineOptions options) : options_(std::move(options)) {}

ServeEngine::~ServeEngine() {
  if (server_) server_->Stop();  // no new requests, no more writes
  // Join the engine thread while engine_ is still set: its token callback uses engine_.
  if (engine_) engine_->Stop();
  engine_.reset();
}

Result<std::unique_ptr<ServeEngine>> ServeEngine::Start(ServeEngineOptions options) {
  std::unique_ptr<ServeEngine> s(new ServeEngine(std::move(options)));
  ServeEngine* raw = s.get();
  LLMRCA_ASSIGN_OR_RETURN(s->engine_, LiveEngine::Start(s->options_.engine,
                                                        [raw](const TokenEvent& t) { raw->OnToken(t); }));
  net::HttpServerOptions http;
  http.host = s->options_.host;
  http.port = s->options_.port;
  LLMRCA_ASSIGN_OR_RETURN(
      s->server_, net::HttpServer::Start(http, [raw](net::HttpRequest req, net::Responder r) {
        raw->Handle(std::move(req), std::move(r));
      }));
  return s;
}

DcgmGpu ServeEngine::Gpu() const {
  // The simulated GPU as DCGM samples it: utilisation is the share of the time since the last
  // scrape that kernels ran; power and SM clock are the last step's while steps run (a step
  // ended in the last 100 ms), the idle figures otherwise; energy counts idle time at idle
  // power.
  const GpuProfile& p = options_.engine.gpu;
  const GpuCounters c = engine_->gpu();
  const GpuFault f = engine_->gpu_fault();
  const auto now = std::chrono::steady_clock::now();
  double util = 0;
  {
    std::lock_guard<std::mutex> lock(scrape_mu_);
    const double wall = std::chrono::duration<double>(now - last_scrape_.time).count();
    if (wall > 0) util = std::clamp((c.busy_s - last_scrape_.busy_s) / wall, 0.0, 1.0);
    last_scrape_ = {now, c.busy_s};
  }
  const bool busy = c.last_step.time_since_epoch().count() != 0 &&
                    now - c.last_step < std::chrono::milliseconds(100) && f.xid == 0;
  const double up = std::chrono::duration<double>(now - started_).count();
  DcgmGpu g;
  g.uuid = fmt::format("GPU-sim-{}", options_.name);
  g.model_name = p.name;
  g.hostname = options_.name;
  g.sm_clock_mhz = busy ? c.sm_clock_mhz : p.idle_sm_clock_mhz;
  g.gpu_util_pct = std::round(100 * util);
  g.power_usage_w = busy ? c.power_w : p.idle_w;
  g.total_energy_mj =
      static_cast<uint64_t>(1000 * (c.energy_j + p.idle_w * std::max(0.0, up - c.busy_s)));
  g.power_violation_ns = static_cast<uint64_t>(c.violation_s * 1e9);
  g.last_xid = f.xid;
  g.fb_used_mib = p.memory_bytes * options_.engine.config.gpu_memory_utilization / (1024.0 * 1024.0);
  g.fb_free_mib = p.memory_bytes / (1024.0 * 1024.0) - g.fb_used_mib;
  return g;
}

std::string ServeEngine::MetricsText() const {
  ExpositionWriter w;
  const VllmMetrics m = engine_->Metrics();
  m.Render(w, options_.served_model, 0);
  const DcgmGpu g = Gpu();
  const DcgmGpu gpus[] = {g};
  RenderDcgm(w, gpus);
  return w.text();
}

void ServeEngine::Handle(net::HttpRequest request, net::Responder responder) {
  const std::string& path = request.head.path;
  const std::string& method = request.head.method;
  if (method == "POST" && (path == "/v1/completions" || path == "/v1/chat/completions")) {
    Generate(request, responder, path == "/v1/chat/completions");
    return;
  }
  if (method == "GET" && path == "/metrics") {
    responder.Send(200, "text/plain; version=0.0.4; charset=utf-8", MetricsText());
    return;
  }
  if (method == "GET" && path == "/health") {
    const GpuFault f = engine_->gpu_fault();
    if (f.xid != 0) {
      responder.Send(500, "application/json",
                     ErrorJson(500, "EngineDeadError",
                               fmt::format("the engine is dead: its GPU reported XID {}", f.xid)));
    } else {
      responder.Send(200, "application/json", "{}");
    }
    return;
  }
  if (path == "/control/gpu") {
    Control(request, responder);
    return;
  }
  if (method == "GET" && path == "/v1/models") {
    Json j;
    j["object"] = "list";
    j["data"] = Json::array({Json{{"id", options_.served_model},
                                  {"object", "model"},
                                  {"owned_by", "llmrca"},
                                  {"max_model_len", options_.engine.max_model_len}}});
    responder.Send(200, "application/json", j.dump());
    return;
  }
  responder.Send(404, "application/json", ErrorJson(404, "NotFoundError", "Not Found"));
}

namespace {

Json FaultJson(const GpuFault& f) {
  return Json{{"power_cap_w", f.power_cap_w}, {"contention", f.contention}, {"xid", f.xid}};
}

}  // namespace

void ServeEngine::Control(const net::HttpRequest& request, net::Responder responder) {
  GpuFault f = engine_->gpu_fault();
  if (request.head.method == "DELETE") {
    f = GpuFault{};
  } else if (request.head.method == "POST") {
    const Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      responder.Send(400, "application/json",
                     ErrorJson(400, "BadRequestError", "the body is not a JSON object"));
      return;
    }
    for (const auto& [key, value] : body.items()) {
      const bool number = value.is_number();
      if (key == "power_cap_w" && number) {
        f.power_cap_w = value.get<double>();
      } else if (key == "contention" && number) {
        f.contention = value.get<double>();
      } else if (key == "xid" && value.is_number_integer()) {
        f.xid = value.get<int>();
      } else {
        responder.Send(400, "application/json",
                       ErrorJson(400, "BadRequestError",
                                 fmt::format("unknown or non-numeric field '{}' (fields: "
                                             "power_cap_w, contention, xid)",
                                             key)));
        return;
      }
    }
  } else if (request.head.method != "GET") {
    responder.Send(405, "application/json",
                   ErrorJson(405, "MethodNotAllowed", "use GET, POST or DELETE"));
    return;
  }
  if (request.head.method != "GET") {
    if (Status s = engine_->SetGpuFault(f); !s.ok()) {
      responder.Send(400, "application/json", ErrorJson(400, "BadRequestError", s.message()));
      return;
    }
    LogLine(LogLevel::kWarning,
            fmt::format("{}: simulated GPU fault set: power_cap_w={} contention={} xid={}",
                        options_.name, f.power_cap_w, f.contention, f.xid));
  }
  responder.Send(200, "application/json", FaultJson(engine_->gpu_fault()).dump());
}

void ServeEngine::EmitSpan(const Stream& s, int completion_tokens, bool failed,
                           std::string_view error) {
  // vLLM's request span (vllm/tracing.py: SpanAttributes), kind SERVER.
  Span span;
  span.trace_id = s.trace.trace_id;
  span.span_id = s.trace.span_id;
  span.parent_span_id = s.parent;
  span.name = "llm_request";
  span.kind = SpanKind::kServer;
  span.start_unix_ns = s.start_ns;
  span.end_unix_ns = UnixNanos();
  span.attributes = {
      {"gen_ai.request.id", s.id},
      {"gen_ai.response.model", options_.served_model},
      {"gen_ai.request.max_tokens", int64_t{s.max_tokens}},
      {"gen_ai.usage.prompt_tokens", int64_t{s.prompt_tokens}},
      {"gen_ai.usage.completion_tokens", int64_t{completion_tokens}},
      {"gen_ai.latency.e2e",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - s.arrival).count()},
      {"service.instance.id", options_.name}};
  if (s.ttft_s >= 0) span.attributes.emplace_back("gen_ai.latency.time_to_first_token", s.ttft_s);
  if (failed) {
    span.error = true;
    span.status_message = std::string(error);
  }
  options_.on_span(std::move(span));
}

void ServeEngine::Generate(const net::HttpRequest& request, net::Responder responder, bool chat) {
  const Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  const auto bad = [&](std::string_view message) {
    responder.Send(400, "application/json", ErrorJson(400, "BadRequestError", message));
  };
  if (body.is_discarded() || !body.is_object()) return bad("the body is not a JSON object");
  if (body.contains("model") && body["model"].is_string() &&
      body["model"].get<std::string>() != options_.served_model) {
    responder.Send(404, "application/json",
                   ErrorJson(404, "NotFoundError",
                             fmt::format("The model `{}` does not exist.",
                                         body["model"].get<std::string>())));
    return;
  }
  size_t prompt_bytes = 0;
  if (chat) {
    if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
      return bad("'messages' must be a non-empty list");
    }
    for (const Json& m : body["messages"]) {
      if (!m.is_object() || !m.contains("content")) return bad("each message needs 'content'");
      const Json& c = m["content"];
      if (c.is_string()) {
        prompt_bytes += c.get_ref<const std::string&>().size();
      } else if (c.is_array()) {
        for (const Json& part : c) {
          if (part.is_object() && part.contains("text") && part["text"].is_string()) {
            prompt_bytes += part["text"].get_ref<const std::string&>().size();
          }
        }
      }
    }
  } else {
    if (!body.contains("prompt")) return bad("'prompt' is required");
    const Json& p = body["prompt"];
    if (p.is_string()) {
      prompt_bytes = p.get_ref<const std::string&>().size();
    } else if (p.is_array() && !p.empty() && p[0].is_number_integer()) {
      prompt_bytes = 4 * p.size();  // token ids
    } else {
      return bad("'prompt' must be a string or a list of token ids");
    }
  }
  int max_tokens = chat ? 256 : 16;  // OpenAI's completions default; chat: a bounded default
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (!body.contains(key) || body[key].is_null()) continue;
    if (!body[key].is_number_integer() || body[key].get<int64_t>() < 1 ||
        body[key].get<int64_t>() > options_.engine.max_model_len) {
      return bad(fmt::format("'{}' must be an integer from 1 to {}", key,
                             options_.engine.max_model_len));
    }
    max_tokens = static_cast<int>(body[key].get<int64_t>());
  }
  const bool stream = body.value("stream", false);
  bool include_usage = false;
  if (body.contains("stream_options") && body["stream_options"].is_object()) {
    include_usage = body["stream_options"].value("include_usage", false);
  }
  const int prompt_tokens = EstimateTokens(prompt_bytes);
  Stream s{responder, chat, stream, include_usage, prompt_tokens, max_tokens,
           fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", next_response_++), UnixSeconds(), {},
           {}, {}, 0, std::chrono::steady_clock::now(), -1};
  // Under mu_ from before Submit(), so the first token cannot arrive before the entry exists.
  std::lock_guard<std::mutex> lock(mu_);
  if (options_.on_span) {
    s.start_ns = UnixNanos();
    const std::optional<TraceContext> parent = ParseTraceparent(request.head.Field("traceparent"));
    s.trace.trace_id = parent ? parent->trace_id : NewTraceId(trace_rng_);
    if (parent) s.parent = parent->span_id;
    s.trace.span_id = NewSpanId(trace_rng_);
  }
  Result<uint64_t> id = engine_->Submit(prompt_tokens, max_tokens);
  if (id.status().code() == StatusCode::kUnavailable) {
    responder.Send(500, "application/json",
                   ErrorJson(500, "EngineDeadError", id.status().message()));
    return;
  }
  if (!id.ok()) return bad(id.status().message());
  if (stream) responder.Start(200, "text/event-stream; charset=utf-8");
  streams_.emplace(*id, std::move(s));
}

void ServeEngine::OnToken(const TokenEvent& t) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = streams_.find(t.id);
  if (it == streams_.end()) return;
  Stream& s = it->second;
  if (!t.failed && s.responder.closed()) {
    // The client went away: abort the request, as vLLM does when the connection closes.
    engine_->Abort(t.id);
    streams_.erase(it);
    return;
  }
  if (t.index == 0 && s.ttft_s < 0) {
    s.ttft_s = std::chrono::duration<double>(t.time - s.arrival).count();
  }
  if (t.last && options_.on_span) EmitSpan(s, t.failed ? t.index : t.index + 1, t.failed, t.text);
  if (t.failed) {
    // vLLM's server answers an engine failure with an error object: in the stream as an event
    // (the status is already 200), otherwise as a 500.
    const std::string error = ErrorJson(500, "EngineDeadError", t.text);
    if (s.stream) {
      s.responder.Write(fmt::format("data: {{\"error\": {}}}\n\n", error));
      s.responder.End();
    } else {
      s.responder.Send(500, "application/json", error);
    }
    streams_.erase(it);
    return;
  }
  const auto usage = [&] {
    return Json{{"prompt_tokens", s.prompt_tokens},
                {"total_tokens", s.prompt_tokens + t.index + 1},
                {"completion_tokens", t.index + 1}};
  };
  const Json finish = t.last ? Json("length") : Json(nullptr);
  const std::string& model = options_.served_model;
  if (s.stream) {
    Json chunk;
    chunk["id"] = s.id;
    chunk["object"] = s.chat ? "chat.completion.chunk" : "text_completion";
    chunk["created"] = s.created;
    chunk["model"] = model;
    std::string out;
    if (s.chat) {
      if (t.index == 0) {  // vLLM's first chat chunk carries the role alone
        Json first = chunk;
        first["choices"] = Json::array({Json{{"index", 0},
                                             {"delta", {{"role", "assistant"}, {"content", ""}}},
                                             {"logprobs", nullptr},
                                             {"finish_reason", nullptr}}});
        out += "data: " + first.dump() + "\n\n";
      }
      chunk["choices"] = Json::array({Json{{"index", 0},
                                           {"delta", {{"content", t.text}}},
                                           {"logprobs", nullptr},
                                           {"finish_reason", finish}}});
    } else {
      chunk["choices"] = Json::array({Json{{"index", 0},
                                           {"text", t.text},
                                           {"logprobs", nullptr},
                                           {"finish_reason", finish}}});
    }
    out += "data: " + chunk.dump() + "\n\n";
    if (t.last && s.include_usage) {
      Json u = chunk;
      u["choices"] = Json::array();
      u["usage"] = usage();
      out += "data: " + u.dump() + "\n\n";
    }
    if (t.last) out += "data: [DONE]\n\n";
    s.responder.Write(out);
    if (t.last) {
      s.responder.End();
      streams_.erase(it);
    }
    return;
  }
  s.text += t.text;
  if (!t.last) return;
  Json j;
  j["id"] = s.id;
  j["object"] = s.chat ? "chat.completion" : "text_completion";
  j["created"] = s.created;
  j["model"] = model;
  if (s.chat) {
    j["choices"] = Json::array({Json{{"index", 0},
                                     {"message", {{"role", "assistant"}, {"content", s.text}}},
                                     {"logprobs", nullptr},
                                     {"finish_reason", "length"}}});
  } else {
    j["choices"] = Json::array(
        {Json{{"index", 0}, {"text", s.text}, {"logprobs", nullptr}, {"finish_reason", "length"}}});
  }
  j["usage"] = usage();
  s.responder.Send(200, "application/json", j.dump());
  streams_.erase(it);
}

}  // namespace llmrca::sim
