#include "load/prompts.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <span>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace llmrca::load {
namespace {

using Json = nlohmann::json;

// The seed's base prompt, borrowed by fw-ai/benchmark from nat.dev (§1.4): 35 Llama tokens.
constexpr std::string_view kSyntheticBase =
    "Generate a Django application with Authentication, JWT, Tests, DB support. Show "
    "docker-compose for python and postgres. Show the complete code for every file!";

// The seed gives up after this many rejected draws (§1.2).
constexpr int kMaxDraws = 1000;

// Largest |value| a draw may take before it is cast to int64_t.
constexpr double kMaxDraw = 9.0e18;

Status FileStatus(const std::string& path, const char* kind) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Status::NotFound(fmt::format("load: {} file '{}' does not exist", kind, path));
  }
  return Status::IoError(fmt::format("load: cannot read {} file '{}'", kind, path));
}

std::string RandomPrefix(Rng& rng) {
  // Ten single lowercase letters, each followed by a space (each assumed to be one token).
  std::string prefix;
  prefix.reserve(2 * kRandomPrefixTokens);
  for (int64_t k = 0; k < kRandomPrefixTokens; ++k) {
    prefix.push_back(static_cast<char>('a' + rng.UniformInt(26)));
    prefix.push_back(' ');
  }
  return prefix;
}

// ----- ShareGPT, read as a stream of SAX events --------------------------------------------------

bool IsHumanRole(std::string_view from) { return from == "human" || from == "user"; }

bool IsModelRole(std::string_view from) {
  return from == "gpt" || from == "assistant" || from == "chatgpt" || from == "bard" ||
         from == "bing" || from == "model";
}

struct FileEntry {
  std::string text;
  int64_t tokens = 0;
  std::optional<int64_t> max_tokens;
  int64_t file_index = 0;
};

// Keeps, for each entry of the top-level list, the first human turn and the estimated length of
// the first model answer after it; everything else is dropped as it streams past.
class ShareGptHandler {
 public:
  using string_t = Json::string_t;

  // nlohmann::json SAX interface: returning false stops the parse.
  bool null() { return Scalar(nullptr); }
  bool boolean(bool) { return Scalar(nullptr); }
  bool number_integer(Json::number_integer_t) { return Scalar(nullptr); }
  bool number_unsigned(Json::number_unsigned_t) { return Scalar(nullptr); }
  bool number_float(Json::number_float_t, const string_t&) { return Scalar(nullptr); }
  bool string(string_t& value) { return Scalar(&value); }
  bool binary(Json::binary_t&) { return Scalar(nullptr); }
  bool start_object(std::size_t) { return Start(/*object=*/true); }
  bool start_array(std::size_t) { return Start(/*object=*/false); }
  bool key(string_t& key) {
    stack_.back().key = key;
    return true;
  }
  bool end_object() { return End(); }
  bool end_array() { return End(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    // ex.what() is "[json.exception.parse_error.101] parse error at line L, column C: ...".
    std::string_view what = ex.what();
    if (const size_t bracket = what.find("] "); bracket != std::string_view::npos) {
      what.remove_prefix(bracket + 2);
    }
    error_ = std::string(what);
    return false;
  }

  const std::string& error() const { return error_; }
  std::vector<FileEntry>& entries() { return entries_; }

 private:
  enum class Ctx { kTop, kEntry, kConversations, kTurn, kSkip };
  struct Frame {
    Ctx ctx;
    std::string key;
  };

  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }
  std::string Where() const { return fmt::format("entry [{}]", entry_); }
  std::string WhereTurn() const { return fmt::format("entry [{}] turn [{}]", entry_, turn_); }

  bool Scalar(string_t* value) {
    if (stack_.empty()) return Fail("the file is not a JSON list");
    const Frame& f = stack_.back();
    switch (f.ctx) {
      case Ctx::kTop:
        ++entry_;
        return Fail(Where() + " is not an object");
      case Ctx::kEntry:
        if (f.key == "conversations") return Fail(Where() + ": 'conversations' is not a list");
        return true;
      case Ctx::kConversations:
        ++turn_;
        return Fail(WhereTurn() + " is not an object");
      case Ctx::kTurn:
        if (f.key == "from" || f.key == "value") {
          if (value == nullptr)
            return Fail(fmt::format("{}: '{}' is not a string", WhereTurn(), f.key));
          (f.key == "from" ? from_ : value_) = std::move(*value);
        }
        return true;
      case Ctx::kSkip:
        return true;
    }
    return true;
  }

  bool Start(bool object) {
    if (stack_.empty()) {
      if (object) return Fail("the file is not a JSON list");
      stack_.push_back({Ctx::kTop, {}});
      return true;
    }
    const Frame& f = stack_.back();
    Ctx child = Ctx::kSkip;
    switch (f.ctx) {
      case Ctx::kTop:
        ++entry_;
        if (!object) return Fail(Where() + " is not an object");
        child = Ctx::kEntry;
        has_conversations_ = false;
        prompt_.reset();
        answer_tokens_.reset();
        turn_ = -1;
        break;
      case Ctx::kEntry:
        if (f.key == "conversations") {
          if (object) return Fail(Where() + ": 'conversations' is not a list");
          has_conversations_ = true;
          child = Ctx::kConversations;
        }
        break;
      case Ctx::kConversations:
        ++turn_;
        if (!object) return Fail(WhereTurn() + " is not an object");
        from_.clear();
        value_.clear();
        child = Ctx::kTurn;
        break;
      case Ctx::kTurn:
        if (f.key == "from" || f.key == "value") {
          return Fail(fmt::format("{}: '{}' is not a string", WhereTurn(), f.key));
        }
        break;
      case Ctx::kSkip:
        break;
    }
    stack_.push_back({child, {}});
    return true;
  }

  bool End() {
    const Ctx ctx = stack_.back().ctx;
    stack_.pop_back();
    if (ctx == Ctx::kTurn) {
      if (!prompt_.has_value()) {
        if (IsHumanRole(from_)) prompt_ = std::move(value_);
      } else if (!answer_tokens_.has_value() && IsModelRole(from_)) {
        answer_tokens_ = EstimateTokens(value_);
      }
    } else if (ctx == Ctx::kEntry) {
      if (!has_conversations_) return Fail(Where() + ": no 'conversations' list");
      if (prompt_.has_value() && !prompt_->empty()) {
        FileEntry e;
        e.tokens = EstimateTokens(*prompt_);
        e.text = std::move(*prompt_);
        if (answer_tokens_.has_value()) e.max_tokens = std::max<int64_t>(1, *answer_tokens_);
        e.file_index = entry_;
        entries_.push_back(std::move(e));
      }
    }
    return true;
  }

  std::vector<Frame> stack_;
  std::string error_;
  int64_t entry_ = -1;
  int64_t turn_ = -1;
  bool has_conversations_ = false;
  std::string from_;
  std::string value_;
  std::optional<std::string> prompt_;
  std::optional<int64_t> answer_tokens_;
  std::vector<FileEntry> entries_;
};

// A positive integer field of a JSONL object; nullopt when absent, an error text when bad.
Result<std::optional<int64_t>> PositiveInt(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer() || it->get<int64_t>() < 1) {
    return Status::DataError(fmt::format("'{}' is not a positive integer", key));
  }
  return std::optional<int64_t>(it->get<int64_t>());
}

}  // namespace

// ----- Length distributions ---------------------------------------------------------------------

std::string_view LengthDistributionName(LengthDistribution d) {
  switch (d) {
    case LengthDistribution::kConstant:
      return "constant";
    case LengthDistribution::kUniform:
      return "uniform";
    case LengthDistribution::kExponential:
      return "exponential";
    case LengthDistribution::kNormal:
      return "normal";
  }
  return "constant";
}

Result<LengthDistribution> LengthDistributionFromName(std::string_view name) {
  for (LengthDistribution d : {LengthDistribution::kConstant, LengthDistribution::kUniform,
                               LengthDistribution::kExponential, LengthDistribution::kNormal}) {
    if (LengthDistributionName(d) == name) return d;
  }
  return Status::InvalidArgument(fmt::format(
      "load: unknown length distribution '{}' (known: constant, uniform, exponential, normal)",
      name));
}

LengthSampler::LengthSampler(const LengthSpec& spec, int64_t min, int64_t half_width)
    : spec_(spec), min_(min), half_width_(half_width) {}

Result<LengthSampler> LengthSampler::Create(const LengthSpec& spec, int64_t min,
                                            std::string_view name) {
  const std::string what =
      fmt::format("load: {} ({})", name, LengthDistributionName(spec.distribution));
  if (spec.mean < min) {
    return Status::InvalidArgument(
        fmt::format("{}: mean {} is below the minimum {}", what, spec.mean, min));
  }
  if (!std::isfinite(spec.range) || spec.range < 0) {
    return Status::InvalidArgument(
        fmt::format("{}: range must be finite and >= 0, got {}", what, spec.range));
  }
  const double half = std::floor(spec.range * static_cast<double>(spec.mean));
  if (half > kMaxDraw / 4) {
    return Status::InvalidArgument(
        fmt::format("{}: range {} times mean {} is too large", what, spec.range, spec.mean));
  }
  const int64_t half_width = static_cast<int64_t>(half);
  if (spec.cap.has_value()) {
    if (*spec.cap < min) {
      return Status::InvalidArgument(
          fmt::format("{}: cap {} is below the minimum {}", what, *spec.cap, min));
    }
    if (spec.distribution == LengthDistribution::kConstant && spec.mean > *spec.cap) {
      return Status::InvalidArgument(
          fmt::format("{}: {} is above the cap {}", what, spec.mean, *spec.cap));
    }
    if (spec.distribution == LengthDistribution::kUniform &&
        std::max(min, spec.mean - half_width) > *spec.cap) {
      return Status::InvalidArgument(fmt::format("{}: the cap {} is below the range's low end {}",
                                                 what, *spec.cap,
                                                 std::max(min, spec.mean - half_width)));
    }
  }
  return LengthSampler(spec, min, half_width);
}

Result<int64_t> LengthSampler::Sample(Rng& rng) const {
  const double mean = static_cast<double>(spec_.mean);
  for (int tries = 0; tries < kMaxDraws; ++tries) {
    int64_t value = spec_.mean;
    switch (spec_.distribution) {
      case LengthDistribution::kConstant:
        break;
      case LengthDistribution::kUniform: {
        const int64_t lo = std::max(min_, spec_.mean - half_width_);
        int64_t hi = spec_.mean + half_width_;
        if (spec_.cap.has_value()) hi = std::min(hi, *spec_.cap);
        value = lo + static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(hi - lo) + 1));
        break;
      }
      case LengthDistribution::kExponential: {
        // Inverse CDF; 1 - U is in (0, 1], so the log is finite.
        const double x = -mean * std::log(1.0 - rng.Uniform());
        if (!(x < kMaxDraw)) continue;
        value = static_cast<int64_t>(std::floor(x));
        break;
      }
      case LengthDistribution::kNormal: {
        const double x = mean + spec_.range * mean * rng.Normal();
        if (!(std::abs(x) < kMaxDraw)) continue;
        value = static_cast<int64_t>(std::trunc(x));  // Python's int(): toward zero
        break;
      }
    }
    if (value < min_) continue;
    if (spec_.cap.has_value() && value > *spec_.cap) continue;
    return value;
  }
  return Status::InvalidArgument(
      fmt::format("load: no length in [{}, {}] after {} draws from {}", min_,
                  spec_.cap.has_value() ? std::to_string(*spec_.cap) : std::string("inf"),
                  kMaxDraws, ToString()));
}

std::string LengthSampler::ToString() const {
  std::string s;
  switch (spec_.distribution) {
    case LengthDistribution::kConstant:
      s = std::to_string(spec_.mean);
      break;
    case LengthDistribution::kUniform:
      s = fmt::format("uniform({} +/- {})", spec_.mean, half_width_);
      break;
    case LengthDistribution::kNormal:
      s = fmt::format("normal({}, {})", spec_.mean, half_width_);
      break;
    case LengthDistribution::kExponential:
      s = fmt::format("exponential({})", spec_.mean);
      break;
  }
  if (spec_.cap.has_value()) s += fmt::format(" capped at {}", *spec_.cap);
  return s;
}

int64_t EstimateTokens(std::string_view text) {
  int64_t chars = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++chars;  // not a continuation byte
  }
  return (chars + 3) / 4;
}

// ----- PromptSource -----------------------------------------------------------------------------

PromptSource::PromptSource(const PromptOptions& options, std::optional<LengthSampler> input,
                           LengthSampler output)
    : options_(options), input_(std::move(input)), output_(std::move(output)) {}

Result<PromptSource> PromptSource::Synthetic(const PromptOptions& options) {
  const int64_t floor = kSyntheticBaseTokens + (options.randomize ? kRandomPrefixTokens : 0);
  LLMRCA_ASSIGN_OR_RETURN(LengthSampler input,
                          LengthSampler::Create(options.input, floor, "prompt tokens"));
  LLMRCA_ASSIGN_OR_RETURN(LengthSampler output, LengthSampler::Create(options.output));
  return PromptSource(options, std::move(input), std::move(output));
}

Result<PromptSource> PromptSource::FromEntries(const std::string& path,
                                               const PromptOptions& options,
                                               std::vector<Entry> entries) {
  if (entries.empty()) {
    return Status::DataError(fmt::format("load: prompt file '{}' has no prompt", path));
  }
  if (entries.size() > UINT32_MAX) {
    return Status::DataError(fmt::format("load: prompt file '{}' has too many prompts", path));
  }
  LLMRCA_ASSIGN_OR_RETURN(LengthSampler output, LengthSampler::Create(options.output));
  PromptSource source(options, std::nullopt, std::move(output));
  source.entries_ = std::move(entries);
  source.order_.resize(source.entries_.size());
  for (size_t i = 0; i < source.order_.size(); ++i) source.order_[i] = static_cast<uint32_t>(i);
  if (options.shuffle) {
    Rng rng(Rng::Derive(options.seed, "prompt-order"));
    rng.Shuffle(std::span<uint32_t>(source.order_));
  }
  return source;
}

Result<PromptSource> PromptSource::FromShareGpt(const std::string& path,
                                                const PromptOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FileStatus(path, "ShareGPT");
  ShareGptHandler handler;
  bool ok = false;
  try {
    ok = Json::sax_parse(in, &handler);
  } catch (const std::exception& e) {  // nlohmann may throw on input errors
    return Status::DataError(fmt::format("load: ShareGPT file '{}': {}", path, e.what()));
  }
  if (!ok) {
    return Status::DataError(
        fmt::format("load: ShareGPT file '{}': {}", path,
                    handler.error().empty() ? "parse failed" : handler.error()));
  }
  if (in.bad()) return FileStatus(path, "ShareGPT");
  std::vector<Entry> entries;
  entries.reserve(handler.entries().size());
  for (FileEntry& f : handler.entries()) {
    entries.push_back(Entry{std::move(f.text), f.tokens, true, f.max_tokens, f.file_index});
  }
  return FromEntries(path, options, std::move(entries));
}

Result<PromptSource> PromptSource::FromJsonl(const std::string& path,
                                             const PromptOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FileStatus(path, "JSONL prompt");
  std::vector<Entry> entries;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view view(line);
    if (line_no == 1 && view.substr(0, 3) == "\xEF\xBB\xBF") view.remove_prefix(3);
    view = Trim(view);
    if (view.empty()) continue;
    const auto bad = [&](std::string_view what) {
      return Status::DataError(
          fmt::format("load: JSONL prompt file '{}' line {}: {}", path, line_no, what));
    };
    const Json j = Json::parse(view, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return bad("not valid JSON");
    if (!j.is_object()) return bad("not a JSON object");
    const auto prompt = j.find("prompt");
    if (prompt == j.end() || !prompt->is_string()) return bad("no 'prompt' string");
    if (prompt->get_ref<const std::string&>().empty()) return bad("empty 'prompt'");
    Result<std::optional<int64_t>> max_tokens = PositiveInt(j, "max_tokens");
    if (!max_tokens.ok()) return bad(max_tokens.status().message());
    Result<std::optional<int64_t>> prompt_tokens = PositiveInt(j, "prompt_tokens");
    if (!prompt_tokens.ok()) return bad(prompt_tokens.status().message());
    Entry e;
    e.text = prompt->get<std::string>();
    e.tokens_estimated = !prompt_tokens->has_value();
    e.tokens = prompt_tokens->has_value() ? **prompt_tokens : EstimateTokens(e.text);
    e.max_tokens = *max_tokens;
    e.file_index = line_no;
    entries.push_back(std::move(e));
  }
  if (in.bad()) return FileStatus(path, "JSONL prompt");
  return FromEntries(path, options, std::move(entries));
}

Result<Prompt> PromptSource::Get(uint64_t index) const {
  Rng rng(Rng::Derive(options_.seed, fmt::format("prompt/{}", index)));
  Prompt p;
  if (entries_.empty()) {
    LLMRCA_ASSIGN_OR_RETURN(const int64_t n, input_->Sample(rng));
    const std::string prefix = options_.randomize ? RandomPrefix(rng) : std::string();
    const int64_t pads = n - input_->min();
    p.text = prefix;
    p.text.reserve(prefix.size() + static_cast<size_t>(pads) * kSyntheticPadding.size() +
                   kSyntheticBase.size());
    for (int64_t k = 0; k < pads; ++k) p.text.append(kSyntheticPadding);
    p.text.append(kSyntheticBase);
    p.prompt_tokens = n;
    LLMRCA_ASSIGN_OR_RETURN(p.max_tokens, output_.Sample(rng));
    return p;
  }
  const Entry& e = entries_[order_[index % entries_.size()]];
  if (options_.randomize) {
    p.text = RandomPrefix(rng);
    p.text += e.text;
    p.prompt_tokens = e.tokens + kRandomPrefixTokens;
  } else {
    p.text = e.text;
    p.prompt_tokens = e.tokens;
  }
  p.prompt_tokens_estimated = e.tokens_estimated;
  p.file_index = e.file_index;
  if (options_.lengths_from_file && e.max_tokens.has_value()) {
    p.max_tokens = *e.max_tokens;
    if (options_.output.cap.has_value())
      p.max_tokens = std::min(p.max_tokens, *options_.output.cap);
  } else {
    LLMRCA_ASSIGN_OR_RETURN(p.max_tokens, output_.Sample(rng));
  }
  return p;
}

}  // namespace llmrca::load
