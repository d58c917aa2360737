#include "load/provider.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace llmrca::load {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// The head of a non-2xx body that is kept for its error text; the rest is dropped.
constexpr size_t kMaxErrorBodyBytes = size_t{64} << 10;
// How much of a malformed event is quoted in its error text.
constexpr size_t kSnippetBytes = 80;

bool IsOpenAiFamily(Provider p) {
  return p == Provider::kOpenAi || p == Provider::kVllm || p == Provider::kFireworks ||
         p == Provider::kTogether || p == Provider::kAnyscale;
}

// ----- UTF-8 and one-line text ------------------------------------------------------------------

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 when the bytes there are not one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

// One line of valid UTF-8: whitespace and control runs become one space, bad bytes '?', cut at a
// character boundary to at most max_bytes with "..." appended when cut.
std::string OneLine(std::string_view text, size_t max_bytes) {
  max_bytes = std::max<size_t>(max_bytes, 8);
  std::string out;
  out.reserve(std::min(text.size(), max_bytes + 4));
  bool space = false;
  bool cut = false;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F || c == ' ') {
      space = !out.empty();
      ++i;
      continue;
    }
    size_t len = Utf8SequenceLength(text, i);
    const std::string_view piece = len == 0 ? std::string_view("?") : text.substr(i, len);
    i += len == 0 ? 1 : len;
    if (out.size() + (space ? 1 : 0) + piece.size() > max_bytes) {
      cut = true;
      break;
    }
    if (space) out.push_back(' ');
    space = false;
    out.append(piece);
  }
  if (cut) {
    // Make room for "...": cut before byte max_bytes - 3, backing up to a character start.
    size_t pos = max_bytes - 3;
    if (pos < out.size()) {
      while (pos > 0 && (static_cast<unsigned char>(out[pos]) & 0xC0) == 0x80) --pos;
      out.resize(pos);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out.append("...");
  }
  return out;
}

std::string Snippet(std::string_view text) { return OneLine(text, kSnippetBytes); }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// ----- JSON access without exceptions ------------------------------------------------------------

const Json* Member(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::optional<int64_t> IntMember(const Json& j, const char* key) {
  const Json* v = Member(j, key);
  if (v == nullptr || !v->is_number_integer()) return std::nullopt;
  return v->get<int64_t>();
}

std::string StringMember(const Json& j, const char* key) {
  const Json* v = Member(j, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// Deepest JSON value that Compact() writes out (dump() recurses once per level).
constexpr int kMaxDumpDepth = 32;

// Whether `j` nests deeper than kMaxDumpDepth, found without recursion.
bool TooDeep(const Json& j) {
  std::vector<std::pair<const Json*, int>> stack = {{&j, 1}};
  while (!stack.empty()) {
    const auto [v, depth] = stack.back();
    stack.pop_back();
    if (!v->is_structured()) continue;
    if (depth > kMaxDumpDepth) return true;
    for (const Json& child : *v) stack.emplace_back(&child, depth + 1);
  }
  return false;
}

// One-line JSON text of a value from the network (a deeply nested one is not written out).
std::string Compact(const Json& j) {
  if (TooDeep(j)) return "(deeply nested JSON)";
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// "<type>: <message> (code <code>)", each part only when present.
std::string FormatError(std::string message, const std::string& type, const Json* code) {
  std::string out = type.empty() ? std::move(message) : type + ": " + message;
  if (code != nullptr && !code->is_null()) {
    out += " (code ";
    out += code->is_string() ? code->get<std::string>() : Compact(*code);
    out += ")";
  }
  return out;
}

// The message of an error object in any of the shapes servers use (ResponseParser's comment).
std::optional<std::string> ErrorObjectMessage(const Json& j) {
  if (const Json* e = Member(j, "error"); e != nullptr && !e->is_null()) {
    if (e->is_object()) {
      const Json* msg = Member(*e, "message");
      std::string text = msg == nullptr     ? Compact(*e)
                         : msg->is_string() ? msg->get<std::string>()
                                            : Compact(*msg);
      return FormatError(std::move(text), StringMember(*e, "type"), Member(*e, "code"));
    }
    if (e->is_string()) {
      return FormatError(e->get<std::string>(), StringMember(j, "error_type"), nullptr);
    }
    return Compact(*e);
  }
  if (StringMember(j, "object") == "error") {
    return FormatError(StringMember(j, "message"), StringMember(j, "type"), Member(j, "code"));
  }
  return std::nullopt;
}

// ----- Interpreting one JSON document -----------------------------------------------------------

struct Interpretation {
  std::string malformed;  // what did not fit the format; empty when it fit
  std::string text;
  std::optional<int64_t> tokens;
  std::optional<std::string> finish;
  std::optional<int64_t> prompt_tokens;
  std::optional<int64_t> completion_tokens;
  bool final = false;  // the provider's own end-of-stream marker (TGI's last event)
};

// Appends a string field to `text`. False when the field is neither a string nor null.
bool AppendText(const Json* v, std::string& text) {
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_string()) return false;
  text += v->get_ref<const std::string&>();
  return true;
}

// OpenAI chat and completions chunks and bodies (reference §1.3, §3.1).
Interpretation InterpretOpenAi(const Json& j) {
  Interpretation r;
  const Json* choices = Member(j, "choices");
  const Json* usage = Member(j, "usage");
  if (choices == nullptr && usage == nullptr) {
    r.malformed = "no 'choices'";
    return r;
  }
  if (choices != nullptr && !choices->is_null()) {
    if (!choices->is_array()) {
      r.malformed = "'choices' is not an array";
      return r;
    }
    if (!choices->empty()) {
      const Json& c = (*choices)[0];
      if (!c.is_object()) {
        r.malformed = "'choices[0]' is not an object";
        return r;
      }
      if (const Json* t = Member(c, "text"); t != nullptr) {
        if (!AppendText(t, r.text)) {
          r.malformed = "'choices[0].text' is not a string";
          return r;
        }
      } else {
        for (const char* holder : {"delta", "message"}) {
          const Json* m = Member(c, holder);
          if (m == nullptr || !m->is_object()) continue;
          // Reasoning models stream their reasoning first: it is generated text too.
          AppendText(Member(*m, "reasoning_content"), r.text);
          AppendText(Member(*m, "reasoning"), r.text);
          if (!AppendText(Member(*m, "content"), r.text)) {
            r.malformed = fmt::format("'choices[0].{}.content' is not a string", holder);
            return r;
          }
          break;
        }
      }
      if (const Json* lp = Member(c, "logprobs"); lp != nullptr && lp->is_object()) {
        // Chat: logprobs.content[]; completions: logprobs.tokens[] (one entry per token).
        const Json* list = Member(*lp, "content");
        if (list == nullptr || !list->is_array()) list = Member(*lp, "tokens");
        if (list != nullptr && list->is_array()) r.tokens = static_cast<int64_t>(list->size());
      }
      if (const Json* fr = Member(c, "finish_reason"); fr != nullptr && fr->is_string()) {
        r.finish = fr->get<std::string>();
      }
    }
  }
  if (usage != nullptr && usage->is_object()) {
    r.prompt_tokens = IntMember(*usage, "prompt_tokens");
    r.completion_tokens = IntMember(*usage, "completion_tokens");
  }
  return r;
}

void InterpretTgiDetails(const Json& j, Interpretation& r) {
  const Json* details = Member(j, "details");
  if (details == nullptr || !details->is_object()) return;
  if (const Json* fr = Member(*details, "finish_reason"); fr != nullptr && fr->is_string()) {
    r.finish = fr->get<std::string>();
  }
  r.completion_tokens = IntMember(*details, "generated_tokens");
  r.prompt_tokens = IntMember(*details, "input_length");
}

// TGI /generate_stream events and /generate bodies (reference §3.2).
Interpretation InterpretTgi(const Json& j, bool in_stream) {
  Interpretation r;
  const Json* token = Member(j, "token");
  const Json* generated = Member(j, "generated_text");
  const bool has_generated = generated != nullptr && generated->is_string();
  if (in_stream) {
    if (token == nullptr && !has_generated) {
      r.malformed = "neither 'token' nor 'generated_text'";
      return r;
    }
    if (token != nullptr) {
      const Json* text = Member(*token, "text");
      if (text == nullptr || !text->is_string()) {
        r.malformed = "'token.text' is not a string";
        return r;
      }
      // Every event is one token; a special token (e.g. </s>) prints nothing.
      const Json* special = Member(*token, "special");
      if (special == nullptr || !special->is_boolean() || !special->get<bool>()) {
        r.text = text->get<std::string>();
      }
      r.tokens = 1;
    }
    if (has_generated) {
      r.final = true;
      InterpretTgiDetails(j, r);
    }
    return r;
  }
  if (!has_generated) {
    r.malformed = "no 'generated_text' string";
    return r;
  }
  r.text = generated->get<std::string>();
  InterpretTgiDetails(j, r);
  if (const Json* details = Member(j, "details"); details != nullptr) {
    if (const Json* list = Member(*details, "tokens"); list != nullptr && list->is_array()) {
      r.tokens = static_cast<int64_t>(list->size());
    } else {
      r.tokens = r.completion_tokens;
    }
  }
  return r;
}

// Triton echoes the prompt in non-streamed output: drop a leading "<s> ", then the prompt and
// one space after it when the text starts with it (as the seed's triton providers do).
std::string StripEcho(std::string_view text, std::string_view prompt) {
  if (text.substr(0, 4) == "<s> ") text.remove_prefix(4);
  if (!prompt.empty() && text.substr(0, prompt.size()) == prompt) {
    text.remove_prefix(prompt.size());
    if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  }
  return std::string(text);
}

// Triton generate / generate_stream responses (reference §3.3).
Interpretation InterpretTritonGenerate(const Json& j, bool in_stream, std::string_view prompt) {
  Interpretation r;
  const Json* out = Member(j, "text_output");
  if (out == nullptr || !out->is_string()) {
    r.malformed = "no 'text_output' string";
    return r;
  }
  const std::string& text = out->get_ref<const std::string&>();
  r.text = in_stream ? text : StripEcho(text, prompt);
  return r;
}

// KServe v2 infer responses: outputs[] with name "text_output", data ["..."] (reference §3.3).
Interpretation InterpretTritonInfer(const Json& j, std::string_view prompt) {
  Interpretation r;
  const Json* outputs = Member(j, "outputs");
  if (outputs == nullptr || !outputs->is_array()) {
    r.malformed = "no 'outputs' array";
    return r;
  }
  for (const Json& o : *outputs) {
    if (StringMember(o, "name") != "text_output") continue;
    const Json* data = Member(o, "data");
    const Json* first =
        data != nullptr && data->is_array() && !data->empty() ? &(*data)[0] : nullptr;
    if (first != nullptr && first->is_array() && !first->empty()) first = &(*first)[0];
    if (first == nullptr || !first->is_string()) {
      r.malformed = "'text_output' has no string data";
      return r;
    }
    r.text = StripEcho(first->get_ref<const std::string&>(), prompt);
    return r;
  }
  r.malformed = "no 'text_output' output";
  return r;
}

// ----- Request paths ----------------------------------------------------------------------------

// Percent-encodes everything but RFC 3986 unreserved characters (a model name in a URL path).
std::string PercentEncode(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace

// ----- Names and traits -------------------------------------------------------------------------

std::string_view ProviderName(Provider provider) {
  switch (provider) {
    case Provider::kOpenAi:
      return "openai";
    case Provider::kVllm:
      return "vllm";
    case Provider::kFireworks:
      return "fireworks";
    case Provider::kTogether:
      return "together";
    case Provider::kAnyscale:
      return "anyscale";
    case Provider::kTgi:
      return "tgi";
    case Provider::kTritonInfer:
      return "triton-infer";
    case Provider::kTritonGenerate:
      return "triton-generate";
  }
  return "openai";
}

std::vector<std::string> ProviderNames() {
  std::vector<std::string> names;
  for (Provider p : kAllProviders) names.emplace_back(ProviderName(p));
  return names;
}

Result<Provider> ProviderFromName(std::string_view name) {
  for (Provider p : kAllProviders) {
    if (ProviderName(p) == name) return p;
  }
  const std::vector<std::string> names = ProviderNames();
  return Status::InvalidArgument(fmt::format("load: unknown provider '{}' (known: {}){}", name,
                                             Join(names, ", "), DidYouMean(name, names)));
}

ProviderTraits TraitsOf(Provider provider) {
  ProviderTraits t;
  switch (provider) {
    case Provider::kOpenAi:
    case Provider::kAnyscale:
      t.chat = t.stream = t.logprobs = true;
      break;
    case Provider::kVllm:
      t.chat = t.stream = t.logprobs = t.ignore_eos = true;
      break;
    case Provider::kFireworks:
      t.chat = t.stream = t.logprobs = t.min_tokens = true;
      break;
    case Provider::kTogether:  // completions at "/" only
      t.stream = t.logprobs = t.ignore_eos = true;
      break;
    case Provider::kTgi:
      t.stream = t.logprobs = true;
      break;
    case Provider::kTritonInfer:
      t.default_model = "ensemble";
      break;
    case Provider::kTritonGenerate:
      t.stream = true;
      t.default_model = "ensemble";
      break;
  }
  return t;
}

// ----- RequestBuilder ---------------------------------------------------------------------------

RequestBuilder::RequestBuilder(RequestOptions options) : options_(std::move(options)) {}

Result<RequestBuilder> RequestBuilder::Create(const RequestOptions& options) {
  const Provider p = options.provider;
  const ProviderTraits traits = TraitsOf(p);
  const std::string_view name = ProviderName(p);
  if (options.chat && !traits.chat) {
    return Status::InvalidArgument(fmt::format("load: provider '{}' has no chat endpoint", name));
  }
  if (options.stream && !traits.stream) {
    return Status::InvalidArgument(
        fmt::format("load: provider '{}' has no streaming endpoint", name));
  }
  if (options.logprobs.has_value()) {
    if (!traits.logprobs) {
      return Status::InvalidArgument(fmt::format("load: provider '{}' has no logprobs", name));
    }
    if (*options.logprobs < 0) {
      return Status::InvalidArgument(
          fmt::format("load: logprobs must be >= 0, got {}", *options.logprobs));
    }
  }
  if (!std::isfinite(options.temperature) || options.temperature < 0) {
    return Status::InvalidArgument(
        fmt::format("load: temperature must be finite and >= 0, got {}", options.temperature));
  }
  const bool openai = IsOpenAiFamily(p);
  for (const auto& [flag, value] :
       {std::pair{"ignore_eos", options.ignore_eos}, std::pair{"min_tokens", options.min_tokens},
        std::pair{"include_usage", options.include_usage}}) {
    if (!openai && value.value_or(false)) {
      return Status::InvalidArgument(
          fmt::format("load: {} is an OpenAI-API field; provider '{}' has none", flag, name));
    }
  }
  if (!options.extra_body.empty()) {
    const Json extra = Json::parse(options.extra_body, nullptr, /*allow_exceptions=*/false);
    if (extra.is_discarded() || !extra.is_object()) {
      return Status::InvalidArgument(
          fmt::format("load: extra body is not a JSON object: {}", Snippet(options.extra_body)));
    }
  }

  RequestBuilder b(options);
  if (b.options_.model.empty()) b.options_.model = std::string(traits.default_model);
  b.ignore_eos_ = options.ignore_eos.value_or(traits.ignore_eos);
  b.min_tokens_ = options.min_tokens.value_or(traits.min_tokens);
  b.include_usage_ = options.include_usage.value_or(traits.include_usage) && options.stream;
  const std::string model_path = "/v2/models/" + PercentEncode(b.options_.model);
  switch (p) {
    case Provider::kTogether:
      b.path_ = "/";
      break;
    case Provider::kTgi:
      b.path_ = options.stream ? "/generate_stream" : "/generate";
      break;
    case Provider::kTritonInfer:
      b.path_ = model_path + "/infer";
      break;
    case Provider::kTritonGenerate:
      b.path_ = model_path + (options.stream ? "/generate_stream" : "/generate");
      break;
    default:
      b.path_ = options.chat ? "/v1/chat/completions" : "/v1/completions";
      break;
  }
  b.headers_.emplace_back("Content-Type", "application/json");
  if (options.stream) b.headers_.emplace_back("Accept", "text/event-stream");
  b.MakeTemplate();
  return b;
}

HttpRequest RequestBuilder::Build(std::string_view prompt, int64_t max_tokens) const {
  HttpRequest req;
  req.path = path_;
  req.headers = headers_;
  req.body = Body(prompt, max_tokens);
  return req;
}

std::string RequestBuilder::Body(std::string_view prompt, int64_t max_tokens) const {
  if (template_.empty()) return BodyFromJson(prompt, max_tokens);
  size_t size = prompt.size() + 64;
  for (const Piece& piece : template_) size += piece.literal.size();
  std::string out;
  out.reserve(size);
  for (const Piece& piece : template_) {
    out.append(piece.literal);
    switch (piece.slot) {
      case Slot::kPrompt:
        AppendJsonString(out, prompt);
        break;
      case Slot::kMaxTokens:
        fmt::format_to(std::back_inserter(out), "{}", max_tokens);
        break;
      case Slot::kEnd:
        break;
    }
  }
  return out;
}

void RequestBuilder::MakeTemplate() {
  // Dump the body once with marker values, cut it at the markers, and keep the template only if
  // it rebuilds probe bodies exactly (a marker inside extra_body, say, would spoil it).
  constexpr std::string_view kPromptMarker = "\"llmrca-prompt-slot-5c1e\"";
  constexpr int64_t kMaxTokensMarker = 7'319'046'285'113;
  const std::string marked = BodyFromJson(kPromptMarker.substr(1, kPromptMarker.size() - 2),
                                          kMaxTokensMarker);
  const std::string tokens_marker = std::to_string(kMaxTokensMarker);
  std::vector<Piece> pieces;
  size_t from = 0;
  for (;;) {
    const size_t at_prompt = marked.find(kPromptMarker, from);
    const size_t at_tokens = marked.find(tokens_marker, from);
    if (at_prompt == std::string::npos && at_tokens == std::string::npos) break;
    const bool prompt_first = at_tokens == std::string::npos ||
                              (at_prompt != std::string::npos && at_prompt < at_tokens);
    const size_t at = prompt_first ? at_prompt : at_tokens;
    pieces.push_back({marked.substr(from, at - from), prompt_first ? Slot::kPrompt : Slot::kMaxTokens});
    from = at + (prompt_first ? kPromptMarker.size() : tokens_marker.size());
  }
  pieces.push_back({marked.substr(from), Slot::kEnd});
  template_ = std::move(pieces);
  for (const auto& [probe, tokens] :
       {std::pair<std::string_view, int64_t>{"probe \"q\"\n\x01\xc3\xa9", 3},
        std::pair<std::string_view, int64_t>{"", 1234567}}) {
    if (Body(probe, tokens) != BodyFromJson(probe, tokens)) {
      template_.clear();
      return;
    }
  }
}

std::string RequestBuilder::BodyFromJson(std::string_view prompt_bytes, int64_t max_tokens) const {
  const RequestOptions& o = options_;
  // Bodies keep the seed's field order (ordered_json); the server does not care, readers do.
  OrderedJson body = OrderedJson::object();
  const std::string prompt(prompt_bytes);
  switch (o.provider) {
    case Provider::kTgi: {
      OrderedJson params = OrderedJson::object();
      params["max_new_tokens"] = max_tokens;
      params["temperature"] = o.temperature;
      params["top_n_tokens"] =
          o.logprobs.has_value() ? OrderedJson(*o.logprobs) : OrderedJson(nullptr);
      params["details"] = o.logprobs.has_value();
      body["inputs"] = prompt;
      body["parameters"] = std::move(params);
      break;
    }
    case Provider::kTritonGenerate:
      body["text_input"] = prompt;
      body["max_tokens"] = max_tokens;
      body["stream"] = o.stream;
      body["temperature"] = o.temperature;
      body["bad_words"] = "";
      body["stop_words"] = "";
      break;
    case Provider::kTritonInfer: {
      // KServe v2 tensors of the TRT-LLM ensemble, each of shape [1, 1].
      const auto tensor = [](const char* name, const char* type, OrderedJson value) {
        OrderedJson t = OrderedJson::object();
        t["name"] = name;
        t["datatype"] = type;
        t["shape"] = {1, 1};
        t["data"] = OrderedJson::array({OrderedJson::array({std::move(value)})});
        return t;
      };
      body["inputs"] = OrderedJson::array({
          tensor("text_input", "BYTES", prompt),
          tensor("max_tokens", "UINT32", max_tokens),
          tensor("bad_words", "BYTES", ""),
          tensor("stop_words", "BYTES", ""),
          tensor("temperature", "FP32", o.temperature),
      });
      break;
    }
    default: {  // the OpenAI family
      if (!o.model.empty()) body["model"] = o.model;
      body["max_tokens"] = max_tokens;
      if (o.provider != Provider::kTogether) body["stream"] = o.stream;
      body["temperature"] = o.temperature;
      if (o.chat) {
        body["messages"] = OrderedJson::array({{{"role", "user"}, {"content", prompt}}});
      } else {
        body["prompt"] = prompt;
      }
      if (o.logprobs.has_value()) {
        if (o.chat) {
          body["logprobs"] = true;
        } else {
          body["logprobs"] = *o.logprobs;
        }
      }
      if (ignore_eos_) body["ignore_eos"] = true;
      if (min_tokens_) body["min_tokens"] = max_tokens;
      if (o.provider == Provider::kFireworks) body["prompt_cache_max_len"] = 0;
      if (include_usage_) body["stream_options"] = {{"include_usage", true}};
      // Together renames "stream" (the seed pops it and appends it, so it comes last).
      if (o.provider == Provider::kTogether) body["stream_tokens"] = o.stream;
      break;
    }
  }
  if (!o.extra_body.empty()) {
    // Validated in Create(); members override ours, as Python's dict.update would.
    const OrderedJson extra = OrderedJson::parse(o.extra_body, nullptr, false);
    if (extra.is_object()) {
      for (const auto& [key, value] : extra.items()) body[key] = value;
    }
  }
  return body.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

namespace {

// The length of the well-formed UTF-8 sequence at s[i] (Unicode 15, table 3-7), or 0 when the
// bytes there are not one. s[i] >= 0x80.
size_t Utf8SequenceAt(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  const size_t mark = out.size();
  out.push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t n = Utf8SequenceAt(s, i);
      if (n == 0) {
        // Invalid UTF-8: let the JSON library write the whole string with its replacements.
        out.resize(mark);
        out += OrderedJson(std::string(s)).dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
        return;
      }
      i += n;
      continue;
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: fmt::format_to(std::back_inserter(out), "\\u{:04x}", c); break;
    }
    run = ++i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

// ----- ResponseParser ---------------------------------------------------------------------------

ResponseParser::ResponseParser(const RequestOptions& request, long http_status,
                               std::string_view content_type, std::string_view prompt)
    : provider_(request.provider),
      http_status_(http_status),
      http_ok_(http_status >= 200 && http_status < 300) {
  std::string type = ToLower(Trim(content_type.substr(0, content_type.find(';'))));
  if (type == "text/event-stream") {
    sse_ = true;
  } else if (type.find("json") != std::string::npos) {
    sse_ = false;
  } else {
    sse_ = request.stream;
  }
  if (provider_ == Provider::kTritonGenerate || provider_ == Provider::kTritonInfer) {
    prompt_ = std::string(prompt);
  }
}

void ResponseParser::AddError(ErrorClass error, std::string text, std::vector<ResponseEvent>& out) {
  text = OneLine(text, kMaxErrorTextBytes);
  if (error_ == ErrorClass::kNone) {
    error_ = error;
    error_text_ = text;
  }
  ResponseEvent e;
  e.kind = EventKind::kError;
  e.error = error;
  e.text = std::move(text);
  out.push_back(std::move(e));
}

void ResponseParser::AddContent(std::string text, std::optional<int64_t> tokens,
                                std::vector<ResponseEvent>& out) {
  if (text.empty() && !tokens.has_value()) return;  // "" or null content is not content
  ResponseEvent e;
  e.kind = EventKind::kContent;
  e.first_content = !text.empty() && !saw_content_;
  saw_content_ = saw_content_ || !text.empty();
  e.text = std::move(text);
  e.tokens = tokens;
  out.push_back(std::move(e));
}

void ResponseParser::AddFinish(std::string reason, std::vector<ResponseEvent>& out) {
  saw_finish_ = true;
  finish_reason_ = reason;
  ResponseEvent e;
  e.kind = EventKind::kFinish;
  e.text = std::move(reason);
  out.push_back(std::move(e));
}

void ResponseParser::AddDone(std::vector<ResponseEvent>& out) {
  if (saw_done_) return;
  saw_done_ = true;
  ResponseEvent e;
  e.kind = EventKind::kDone;
  out.push_back(std::move(e));
}

void ResponseParser::HandleJson(std::string_view text, bool in_stream,
                                std::vector<ResponseEvent>& out) {
  const std::string_view what = in_stream ? "event" : "body";
  const Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    AddError(ErrorClass::kMalformedStream,
             fmt::format("malformed {}: not JSON: {}", what, Snippet(text)), out);
    return;
  }
  // TGI's "/" route and some proxies wrap the object in a one-element list.
  const Json& j = doc.is_array() && doc.size() == 1 && doc[0].is_object() ? doc[0] : doc;
  if (!j.is_object()) {
    AddError(ErrorClass::kMalformedStream,
             fmt::format("malformed {}: not a JSON object: {}", what, Snippet(text)), out);
    return;
  }
  if (std::optional<std::string> message = ErrorObjectMessage(j)) {
    AddError(ErrorClass::kInStream, std::move(*message), out);
    return;
  }
  Interpretation r;
  switch (provider_) {
    case Provider::kTgi:
      r = InterpretTgi(j, in_stream);
      break;
    case Provider::kTritonGenerate:
      r = InterpretTritonGenerate(j, in_stream, prompt_);
      break;
    case Provider::kTritonInfer:
      r = InterpretTritonInfer(j, prompt_);
      break;
    case Provider::kTogether:
      // Together's non-streamed body wraps the OpenAI object in "output".
      if (const Json* o = Member(j, "output"); !in_stream && o != nullptr && o->is_object()) {
        r = InterpretOpenAi(*o);
      } else {
        r = InterpretOpenAi(j);
      }
      break;
    default:
      r = InterpretOpenAi(j);
      break;
  }
  if (!r.malformed.empty()) {
    AddError(ErrorClass::kMalformedStream,
             fmt::format("malformed {}: {}: {}", what, r.malformed, Snippet(text)), out);
    return;
  }
  AddContent(std::move(r.text), r.tokens, out);
  if (r.finish.has_value()) AddFinish(std::move(*r.finish), out);
  if (r.prompt_tokens.has_value() || r.completion_tokens.has_value()) {
    ResponseEvent e;
    e.kind = EventKind::kUsage;
    e.prompt_tokens = r.prompt_tokens;
    e.completion_tokens = r.completion_tokens;
    out.push_back(std::move(e));
  }
  if (r.final) AddDone(out);
}

void ResponseParser::HandleSseEvent(const SseEvent& event, std::vector<ResponseEvent>& out) {
  const std::string_view data = Trim(event.data);
  if (event.type == "error") {
    AddError(ErrorClass::kInStream,
             data.empty() ? std::string("error event") : SummarizeErrorBody(data), out);
    return;
  }
  if (data.empty()) return;  // an empty keep-alive event
  if (data == "[DONE]") {
    AddDone(out);
    return;
  }
  HandleJson(data, /*in_stream=*/true, out);
}

std::vector<ResponseEvent> ResponseParser::Feed(std::string_view bytes) {
  std::vector<ResponseEvent> out;
  if (finished_ || bytes.empty()) return out;
  if (!http_ok_) {
    const size_t room = kMaxErrorBodyBytes - std::min(kMaxErrorBodyBytes, body_.size());
    body_.append(bytes.substr(0, room));
    return out;
  }
  if (sse_) {
    const bool was_overflowed = sse_parser_.overflowed();
    for (const SseEvent& event : sse_parser_.Feed(bytes)) HandleSseEvent(event, out);
    if (!was_overflowed && sse_parser_.overflowed()) {
      AddError(ErrorClass::kOther,
               fmt::format("client limit: an SSE event exceeds {} bytes",
                           SseParser::kDefaultMaxEventBytes),
               out);
    }
    return out;
  }
  if (body_overflow_) return out;
  if (body_.size() + bytes.size() > kMaxBodyBytes) {
    body_overflow_ = true;
    body_.clear();
    body_.shrink_to_fit();
    AddError(ErrorClass::kOther,
             fmt::format("client limit: the response body exceeds {} bytes", kMaxBodyBytes), out);
    return out;
  }
  body_.append(bytes);
  return out;
}

std::vector<ResponseEvent> ResponseParser::Finish(bool body_complete) {
  std::vector<ResponseEvent> out;
  if (finished_) return out;
  finished_ = true;
  if (!http_ok_) {
    AddError(ErrorClassFromHttpStatus(http_status_), SummarizeErrorBody(body_), out);
    return out;
  }
  if (sse_) {
    if (!sse_parser_.overflowed()) {
      const bool partial = sse_parser_.HasPartialLine();
      if (!partial) {
        if (std::optional<SseEvent> last = sse_parser_.FlushPending()) HandleSseEvent(*last, out);
      }
      // Triton's generate_stream has no end marker: a clean end after whole events is its end.
      if (provider_ == Provider::kTritonGenerate && body_complete && !partial &&
          error_ == ErrorClass::kNone) {
        AddDone(out);
      }
      if (error_ == ErrorClass::kNone && !saw_done_ && !saw_finish_) {
        AddError(ErrorClass::kClosedMidStream,
                 partial         ? "stream cut inside an event"
                 : body_complete ? "stream ended without [DONE] or a finish reason"
                                 : "stream cut between events",
                 out);
      }
    }
  } else if (!body_overflow_) {
    const size_t before = out.size();
    const ErrorClass error_before = error_;
    HandleJson(body_, /*in_stream=*/false, out);
    if (!body_complete && error_before == ErrorClass::kNone &&
        error_ == ErrorClass::kMalformedStream) {
      // A cut body fails to parse: say it was cut, not that the server spoke nonsense.
      out.resize(before);
      error_ = ErrorClass::kNone;
      AddError(ErrorClass::kClosedMidStream, fmt::format("body cut after {} bytes", body_.size()),
               out);
    }
    if (error_ == ErrorClass::kNone) AddDone(out);
  }
  if (error_ == ErrorClass::kNone && !saw_content_) {
    AddError(ErrorClass::kOther, "no content in the response", out);
  }
  return out;
}

// ----- Error bodies -----------------------------------------------------------------------------

std::string SummarizeErrorBody(std::string_view body, size_t max_bytes) {
  body = body.substr(0, kMaxErrorBodyBytes);
  const std::string_view trimmed = Trim(body);
  if (trimmed.empty()) return "empty body";
  if (trimmed.front() == '{' || trimmed.front() == '[') {
    const Json j = Json::parse(trimmed, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) {
      std::optional<std::string> message;
      if (j.is_object()) {
        message = ErrorObjectMessage(j);
        if (!message.has_value()) {
          for (const char* key : {"detail", "message"}) {
            if (const Json* v = Member(j, key); v != nullptr && !v->is_null()) {
              message = v->is_string() ? v->get<std::string>() : Compact(*v);
              break;
            }
          }
        }
      }
      return OneLine(message.has_value() ? *message : Compact(j), max_bytes);
    }
  }
  // An HTML page from a proxy: its <title> says it all ("502 Bad Gateway").
  const std::string lower = ToLower(trimmed);
  if (const size_t title = lower.find("<title"); title != std::string::npos) {
    const size_t open_end = lower.find('>', title);
    const size_t close = lower.find("</title", title);
    if (open_end != std::string::npos && close != std::string::npos && close > open_end) {
      const std::string_view inner = trimmed.substr(open_end + 1, close - open_end - 1);
      if (!Trim(inner).empty()) return OneLine(inner, max_bytes);
    }
  }
  if (lower.find('<') != std::string::npos && lower.find('>') != std::string::npos) {
    // Other markup: keep the text between tags.
    std::string text;
    bool in_tag = false;
    for (const char c : trimmed) {
      if (c == '<') {
        in_tag = true;
        text.push_back(' ');
      } else if (c == '>') {
        in_tag = false;
      } else if (!in_tag) {
        text.push_back(c);
      }
    }
    if (!Trim(text).empty()) return OneLine(text, max_bytes);
  }
  return OneLine(trimmed, max_bytes);
}

}  // namespace llmrca::load
