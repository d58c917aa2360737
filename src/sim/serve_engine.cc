#include "sim/serve_engine.h"

#include <chrono>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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
  engine_.reset();               // joins the engine thread
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

std::string ServeEngine::MetricsText() const {
  ExpositionWriter w;
  const VllmMetrics m = engine_->Metrics();
  m.Render(w, options_.served_model, 0);
  // A simulated GPU whose figures follow the engine's load.
  DcgmGpu g;
  g.uuid = fmt::format("GPU-sim-{}", options_.name);
  g.model_name = options_.engine.gpu.name;
  g.hostname = options_.name;
  const bool busy = m.num_requests_running > 0;
  g.sm_clock_mhz = busy ? options_.engine.gpu.max_sm_clock_mhz : options_.engine.gpu.idle_sm_clock_mhz;
  g.gpu_util_pct = busy ? 100 : 0;
  g.power_usage_w = busy ? 0.5 * (options_.engine.gpu.idle_w + options_.engine.gpu.tdp_w)
                         : options_.engine.gpu.idle_w;
  g.fb_used_mib = options_.engine.gpu.memory_bytes * options_.engine.config.gpu_memory_utilization /
                  (1024.0 * 1024.0);
  g.fb_free_mib = options_.engine.gpu.memory_bytes / (1024.0 * 1024.0) - g.fb_used_mib;
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
    responder.Send(200, "application/json", "{}");
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
           fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", next_response_++), UnixSeconds(), {}};
  // Under mu_ from before Submit(), so the first token cannot arrive before the entry exists.
  std::lock_guard<std::mutex> lock(mu_);
  Result<uint64_t> id = engine_->Submit(prompt_tokens, max_tokens);
  if (!id.ok()) return bad(id.status().message());
  if (stream) responder.Start(200, "text/event-stream; charset=utf-8");
  streams_.emplace(*id, std::move(s));
}

void ServeEngine::OnToken(const TokenEvent& t) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = streams_.find(t.id);
  if (it == streams_.end()) return;
  Stream& s = it->second;
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
