// Where `llmrca load` gets each request's prompt and max_tokens: synthetic prompts built as the
// seed builds them (reference/load-testing.md §1.4) with input and output lengths drawn from the
// seed's length distributions (§1.2), or prompts read from a ShareGPT-style JSON file or a JSONL
// file. Prompt i is a pure function of (seed, i), so any thread may draw any request.
// We have no tokenizer: token counts of file prompts are estimates (EstimateTokens).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/random.h"
#include "base/status.h"

namespace llmrca::load {

// The seed's --max-tokens-distribution kinds (§1.2).
enum class LengthDistribution { kConstant, kUniform, kExponential, kNormal };

// "constant", "uniform", "exponential", "normal".
std::string_view LengthDistributionName(LengthDistribution d);
// The inverse; kInvalidArgument for an unknown name.
Result<LengthDistribution> LengthDistributionFromName(std::string_view name);

// A length distribution as the seed's flags give it: -o/--max-tokens (mean),
// --max-tokens-distribution, --max-tokens-range (alpha), --max-tokens-cap.
struct LengthSpec {
  LengthDistribution distribution = LengthDistribution::kConstant;
  int64_t mean = 64;
  double range = 0.3;  // alpha (--max-tokens-range), relative to the mean

  std::optional<int64_t> cap;  // draws above it are rejected and redrawn
};

// Draws integer lengths exactly as the seed's LengthSampler (§1.2), with a floor `min` in place
// of its fixed 1:
//   constant     m
//   uniform      an integer uniform on [max(min, m - floor(alpha m)), min(m + floor(alpha m), cap)]
//   exponential  floor(X), X exponential with mean m
//   normal       X truncated toward zero, X normal with mean m and sd alpha m
// A draw below `min` or above `cap` is redrawn, up to 1000 tries in all. Immutable and
// thread-safe; the randomness comes from the caller's Rng.
class LengthSampler {
 public:
  // kInvalidArgument when mean < min, range is negative or not finite, cap < min, a constant
  // above the cap, or an empty uniform range (cap below its low end). `name` ("max_tokens",
  // "prompt tokens") starts the error messages.
  static Result<LengthSampler> Create(const LengthSpec& spec, int64_t min = 1,
                                      std::string_view name = "max_tokens");

  // One length in [min, cap]. kInvalidArgument when 1000 tries all fell outside (a cap or
  // floor that the distribution almost never reaches).
  Result<int64_t> Sample(Rng& rng) const;

  // "64", "uniform(64 +/- 19)", "normal(64, 19)" or "exponential(64)", then " capped at C" (the
  // seed's description of --max-tokens for its summary).
  std::string ToString() const;

  const LengthSpec& spec() const { return spec_; }
  int64_t min() const { return min_; }

 private:
  LengthSampler(const LengthSpec& spec, int64_t min, int64_t half_width);

  LengthSpec spec_;
  int64_t min_;
  int64_t half_width_;  // floor(alpha m)
};

// Estimated tokens of a text we cannot tokenize: ceil(characters / 4), counting UTF-8 code
// points, as OpenAI's rule of thumb of about 4 characters per English token; 0 for "". Off by
// tens of percent for code, numbers or non-English text: a stand-in for a tokenizer.
int64_t EstimateTokens(std::string_view text);

// The seed's synthetic prompt parts (§1.4).
inline constexpr std::string_view kSyntheticPadding = "Pad ";  // assumed to be 1 token
inline constexpr int64_t kSyntheticBaseTokens = 35;            // the base text's token count
inline constexpr int64_t kRandomPrefixTokens = 10;             // --prompt-randomize letters

// One request's prompt.
struct Prompt {
  std::string text;
  int64_t prompt_tokens = 0;  // exact by the seed's construction, or estimated
  bool prompt_tokens_estimated = false;
  int64_t max_tokens = 0;  // >= 1
  // Where a file prompt came from: its ShareGPT entry (0-based) or JSONL line (1-based);
  // -1 for a synthetic prompt.
  int64_t file_index = -1;
};

// How prompts are made.
struct PromptOptions {
  // Output length per request (-o with --max-tokens-*): always used for synthetic prompts, and
  // for file prompts that carry no length of their own (or when lengths_from_file is false).
  LengthSpec output = {LengthDistribution::kConstant, 64, 0.3, std::nullopt};
  // Input length of synthetic prompts (-p, plus an optional distribution). Its floor is 35
  // tokens, 45 with randomize (the seed's minimum).
  LengthSpec input = {LengthDistribution::kConstant, 512, 0.3, std::nullopt};
  // --prompt-randomize: 10 random lowercase letters and spaces before every prompt (synthetic
  // ones make room for them; file prompts grow by 10 tokens).
  bool randomize = false;
  // File prompts: take max_tokens from the file (a JSONL "max_tokens", the estimated length of
  // a ShareGPT answer), capped at output.cap. False: draw it from `output` like synthetic ones.
  bool lengths_from_file = true;
  // File prompts: request i uses entry order[i mod n], where order is a seeded shuffle of the
  // file (each prompt once before any repeats); false keeps the file's order.
  bool shuffle = true;
  uint64_t seed = 0;
};

// Makes the prompt of request i. Immutable after creation: Get() is const and thread-safe, and
// its result depends only on (options, file contents, i), never on which thread asks or in
// which order: request i draws from its own Rng, seeded with Rng::Derive(seed, "prompt/<i>"),
// in this order: input length, the 10 random letters, output length.
class PromptSource {
 public:
  // Synthetic prompts (§1.4): "Pad " repeated (n - 35 - 10 randomize) times, then the seed's
  // base text; n drawn from options.input (floor 35, or 45 with randomize). kInvalidArgument for
  // bad length specs.
  static Result<PromptSource> Synthetic(const PromptOptions& options);

  // A ShareGPT-style JSON file: a list of {"conversations": [{"from": "human", "value": ...},
  // {"from": "gpt", "value": ...}, ...]}. The prompt is the first turn from "human" (or "user");
  // the answer is the first later turn from "gpt" (or "assistant", "chatgpt", "bard", "bing",
  // "model"), and its estimated length is the file length. Entries with no human turn or an empty
  // prompt are skipped. Read as a stream (only prompts are kept), so multi-GB files load in
  // bounded memory. kNotFound / kIoError when the file cannot be read; kDataError naming the
  // file and line (syntax) or entry (structure) when it is malformed, or when no prompt is left.
  static Result<PromptSource> FromShareGpt(const std::string& path, const PromptOptions& options);

  // A JSONL file: one object per line, {"prompt": "...", "max_tokens": N?, "prompt_tokens": N?}
  // ("prompt_tokens" replaces the estimate). Blank lines are skipped. kDataError naming the file
  // and line for a line that is not such an object (a missing or empty prompt, a max_tokens or
  // prompt_tokens that is not a positive integer), or when the file has no prompt.
  static Result<PromptSource> FromJsonl(const std::string& path, const PromptOptions& options);

  // The prompt of request `index`. kInvalidArgument only when a length draw failed 1000 times.
  Result<Prompt> Get(uint64_t index) const;

  // Number of file prompts (0 for synthetic prompts).
  size_t file_prompts() const { return entries_.size(); }

  // The output-length sampler (for the run's description, e.g. "uniform(64 +/- 19)").
  const LengthSampler& output_sampler() const { return output_; }

 private:
  struct Entry {
    std::string text;
    int64_t tokens = 0;
    bool tokens_estimated = true;
    std::optional<int64_t> max_tokens;
    int64_t file_index = 0;
  };
  PromptSource(const PromptOptions& options, std::optional<LengthSampler> input,
               LengthSampler output);
  static Result<PromptSource> FromEntries(const std::string& path, const PromptOptions& options,
                                          std::vector<Entry> entries);

  PromptOptions options_;
  std::optional<LengthSampler> input_;  // synthetic prompts only
  LengthSampler output_;
  std::vector<Entry> entries_;  // empty: synthetic
  std::vector<uint32_t> order_;
};

}  // namespace llmrca::load
