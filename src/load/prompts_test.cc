#include "load/prompts.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::load {
namespace {

// Sample size of the moment tests; each bound below is 4 standard errors of the mean, sd/sqrt(n),
// with sd computed by hand in the test's comment (a 4-sigma miss has probability 6e-5; the
// seeds are fixed, so the tests are deterministic).
constexpr int kDraws = 20000;

std::string PromptFile(const std::string& name) {
  return std::string(LLMRCA_TESTDATA_DIR) + "/load/prompts/" + name;
}

struct Moments {
  double mean = 0;
  double sd = 0;
  int64_t min = 0;
  int64_t max = 0;
};

Moments Draw(const LengthSampler& sampler, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v;
  Moments m;
  m.min = INT64_MAX;
  m.max = INT64_MIN;
  for (int i = 0; i < kDraws; ++i) {
    Result<int64_t> x = sampler.Sample(rng);
    EXPECT_TRUE(x.ok());
    if (!x.ok()) break;
    v.push_back(static_cast<double>(*x));
    m.min = std::min(m.min, *x);
    m.max = std::max(m.max, *x);
  }
  for (double x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.sd += (x - m.mean) * (x - m.mean);
  m.sd = std::sqrt(m.sd / static_cast<double>(v.size() - 1));
  return m;
}

LengthSampler MakeSampler(LengthSpec spec, int64_t min = 1) {
  Result<LengthSampler> s = LengthSampler::Create(spec, min);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

// ----- Length distributions ---------------------------------------------------------------------

TEST(LengthSamplerTest, NamesRoundTrip) {
  for (auto d : {LengthDistribution::kConstant, LengthDistribution::kUniform,
                 LengthDistribution::kExponential, LengthDistribution::kNormal}) {
    Result<LengthDistribution> back = LengthDistributionFromName(LengthDistributionName(d));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, d);
  }
  EXPECT_TRUE(LengthDistributionFromName("poisson").status().IsInvalidArgument());
}

TEST(LengthSamplerTest, ConstantIsTheMean) {
  const Moments m = Draw(MakeSampler({LengthDistribution::kConstant, 64, 0.3, std::nullopt}), 1);
  EXPECT_EQ(m.min, 64);
  EXPECT_EQ(m.max, 64);
}

TEST(LengthSamplerTest, UniformCoversTheSeedsRange) {
  // m = 64, alpha = 0.3: floor(19.2) = 19, so integers 45..83 (39 values), mean 64,
  // sd = sqrt((39^2 - 1) / 12) = 11.2546, bound 4 * 11.2546 / sqrt(20000) = 0.318.
  const Moments m = Draw(MakeSampler({LengthDistribution::kUniform, 64, 0.3, std::nullopt}), 2);
  EXPECT_EQ(m.min, 45);
  EXPECT_EQ(m.max, 83);
  EXPECT_NEAR(m.mean, 64.0, 0.318);
  EXPECT_NEAR(m.sd, 11.2546, 0.3);
}

TEST(LengthSamplerTest, UniformIsCutAtTheCap) {
  // The cap lowers the top to 70: integers 45..70 (26 values), mean 57.5,
  // sd = sqrt((26^2 - 1) / 12) = 7.5, bound 4 * 7.5 / sqrt(20000) = 0.212.
  const Moments m = Draw(MakeSampler({LengthDistribution::kUniform, 64, 0.3, 70}), 3);
  EXPECT_EQ(m.min, 45);
  EXPECT_EQ(m.max, 70);
  EXPECT_NEAR(m.mean, 57.5, 0.212);
}

TEST(LengthSamplerTest, ExponentialIsFlooredAndNeverZero) {
  // floor(X) for X ~ Exp(mean 64) is geometric: P(k) = (1 - q) q^k with q = exp(-1/64). Zero is
  // redrawn, and by memorylessness k | k >= 1 is 1 + the same geometric, with mean 1 / (1 - q) =
  // 64.5013 and sd sqrt(q) / (1 - q) = 63.9993; bound 4 * 63.9993 / sqrt(20000) = 1.810.
  const Moments m = Draw(MakeSampler({LengthDistribution::kExponential, 64, 0.3, std::nullopt}), 4);
  EXPECT_EQ(m.min, 1);
  EXPECT_NEAR(m.mean, 64.5013, 1.810);
  EXPECT_NEAR(m.sd, 63.9993, 3.0);
}

TEST(LengthSamplerTest, ExponentialRespectsTheCap) {
  // P(draw = 100 | 1 <= draw <= 100) is about (1 - q) q^99 / (1 - q^100) ~ 0.004: over 20000
  // draws 100 itself is all but certain to appear, and nothing above it.
  const Moments m = Draw(MakeSampler({LengthDistribution::kExponential, 64, 0.3, 100}), 5);
  EXPECT_EQ(m.min, 1);
  EXPECT_EQ(m.max, 100);
}

TEST(LengthSamplerTest, NormalIsTruncatedTowardZero) {
  // X ~ N(1000, 100): truncation of positive values is a floor, which lowers the mean by 0.5
  // (X is smooth on unit intervals); sd sqrt(100^2 + 1/12) ~ 100. Bound 4 * 100 / sqrt(20000)
  // = 2.83 on the mean; the sd's standard error is about 100 / sqrt(2 * 20000) = 0.5.
  const Moments m = Draw(MakeSampler({LengthDistribution::kNormal, 1000, 0.1, std::nullopt}), 6);
  EXPECT_NEAR(m.mean, 999.5, 2.83);
  EXPECT_NEAR(m.sd, 100.0, 2.0);
}

TEST(LengthSamplerTest, NormalNeverGoesBelowOne) {
  // N(10, 10) falls below 1 about 18 % of the time (Phi(-0.9)); those draws are redrawn.
  const Moments m = Draw(MakeSampler({LengthDistribution::kNormal, 10, 1.0, std::nullopt}), 7);
  EXPECT_EQ(m.min, 1);
}

TEST(LengthSamplerTest, GivesUpAfterAThousandRejections) {
  // sd = 0 * 100: every draw is 100, above the cap of 50.
  const LengthSampler s = MakeSampler({LengthDistribution::kNormal, 100, 0.0, 50});
  Rng rng(8);
  Result<int64_t> x = s.Sample(rng);
  ASSERT_FALSE(x.ok());
  EXPECT_TRUE(x.status().IsInvalidArgument());
}

TEST(LengthSamplerTest, RejectsBadSpecs) {
  const auto bad = [](LengthSpec spec, int64_t min = 1) {
    Result<LengthSampler> s = LengthSampler::Create(spec, min);
    return !s.ok() && s.status().IsInvalidArgument();
  };
  EXPECT_TRUE(bad({LengthDistribution::kConstant, 0, 0.3, std::nullopt}));
  EXPECT_TRUE(bad({LengthDistribution::kUniform, 64, -0.1, std::nullopt}));
  EXPECT_TRUE(bad({LengthDistribution::kUniform, 64, NAN, std::nullopt}));
  EXPECT_TRUE(bad({LengthDistribution::kExponential, 64, 0.3, 0}));
  EXPECT_TRUE(bad({LengthDistribution::kConstant, 64, 0.3, 63}));
  EXPECT_TRUE(bad({LengthDistribution::kUniform, 64, 0.3, 44}));  // low end is 45
  EXPECT_TRUE(bad({LengthDistribution::kConstant, 40, 0.3, std::nullopt}, /*min=*/45));
  EXPECT_FALSE(bad({LengthDistribution::kUniform, 64, 0.3, 45}));
}

TEST(LengthSamplerTest, DescribesItselfAsTheSeedDoes) {
  EXPECT_EQ(MakeSampler({LengthDistribution::kConstant, 64, 0.3, std::nullopt}).ToString(), "64");
  EXPECT_EQ(MakeSampler({LengthDistribution::kUniform, 64, 0.3, std::nullopt}).ToString(),
            "uniform(64 +/- 19)");
  EXPECT_EQ(MakeSampler({LengthDistribution::kNormal, 64, 0.3, std::nullopt}).ToString(),
            "normal(64, 19)");
  EXPECT_EQ(MakeSampler({LengthDistribution::kExponential, 64, 0.3, 100}).ToString(),
            "exponential(64) capped at 100");
}

TEST(EstimateTokensTest, FourCharactersPerToken) {
  EXPECT_EQ(EstimateTokens(""), 0);
  EXPECT_EQ(EstimateTokens("a"), 1);
  EXPECT_EQ(EstimateTokens("abcd"), 1);
  EXPECT_EQ(EstimateTokens("abcde"), 2);
  EXPECT_EQ(EstimateTokens("h\xC3\xA9llo"), 2);  // 5 characters in 6 bytes
}

// ----- Synthetic prompts ------------------------------------------------------------------------

// The seed's base text (158 characters, 35 tokens by its Llama count).
const std::string kBase =
    "Generate a Django application with Authentication, JWT, Tests, DB support. Show "
    "docker-compose for python and postgres. Show the complete code for every file!";

std::string Pads(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "Pad ";
  return s;
}

TEST(SyntheticPromptTest, BuildsTheSeedsPrompt) {
  PromptOptions o;
  o.input = {LengthDistribution::kConstant, 40, 0.3, std::nullopt};
  Result<PromptSource> source = PromptSource::Synthetic(o);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  Result<Prompt> p = source->Get(0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->text, Pads(5) + kBase);  // 40 - 35 pads
  ASSERT_EQ(kBase.size(), 158u);
  EXPECT_EQ(p->prompt_tokens, 40);
  EXPECT_FALSE(p->prompt_tokens_estimated);
  EXPECT_EQ(p->max_tokens, 64);
  EXPECT_EQ(p->file_index, -1);
}

TEST(SyntheticPromptTest, RandomizePrefixesTenLetters) {
  PromptOptions o;
  o.input = {LengthDistribution::kConstant, 50, 0.3, std::nullopt};
  o.randomize = true;
  Result<PromptSource> source = PromptSource::Synthetic(o);
  ASSERT_TRUE(source.ok());
  std::vector<std::string> prefixes;
  for (uint64_t i = 0; i < 20; ++i) {
    Result<Prompt> p = source->Get(i);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->prompt_tokens, 50);
    ASSERT_EQ(p->text.size(), 20 + 4 * 5 + kBase.size());  // 50 - 45 pads
    for (int k = 0; k < 10; ++k) {
      EXPECT_TRUE(p->text[2 * k] >= 'a' && p->text[2 * k] <= 'z') << p->text;
      EXPECT_EQ(p->text[2 * k + 1], ' ');
    }
    EXPECT_EQ(p->text.substr(20), Pads(5) + kBase);
    prefixes.push_back(p->text.substr(0, 20));
  }
  // 26^10 prefixes: 20 draws that all collide would mean the letters are not random.
  std::sort(prefixes.begin(), prefixes.end());
  EXPECT_EQ(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
}

TEST(SyntheticPromptTest, EnforcesTheSeedsMinimumLength) {
  PromptOptions o;
  o.input = {LengthDistribution::kConstant, 34, 0.3, std::nullopt};
  EXPECT_TRUE(PromptSource::Synthetic(o).status().IsInvalidArgument());
  o.input.mean = 35;
  EXPECT_TRUE(PromptSource::Synthetic(o).ok());
  o.input.mean = 44;
  o.randomize = true;
  EXPECT_TRUE(PromptSource::Synthetic(o).status().IsInvalidArgument());
}

TEST(SyntheticPromptTest, InputLengthDistribution) {
  // Uniform input: m = 512, alpha = 0.5 gives 256..768 tokens, and the text has 4 bytes per pad.
  PromptOptions o;
  o.input = {LengthDistribution::kUniform, 512, 0.5, std::nullopt};
  o.output = {LengthDistribution::kExponential, 32, 0.3, 200};
  Result<PromptSource> source = PromptSource::Synthetic(o);
  ASSERT_TRUE(source.ok());
  for (uint64_t i = 0; i < 200; ++i) {
    Result<Prompt> p = source->Get(i);
    ASSERT_TRUE(p.ok());
    EXPECT_GE(p->prompt_tokens, 256);
    EXPECT_LE(p->prompt_tokens, 768);
    EXPECT_EQ(p->text.size(), 4 * static_cast<size_t>(p->prompt_tokens - 35) + kBase.size());
    EXPECT_GE(p->max_tokens, 1);
    EXPECT_LE(p->max_tokens, 200);
  }
}

TEST(SyntheticPromptTest, SameSeedSamePromptsWhateverTheOrderOrThread) {
  PromptOptions o;
  o.input = {LengthDistribution::kNormal, 300, 0.2, std::nullopt};
  o.output = {LengthDistribution::kUniform, 64, 0.3, std::nullopt};
  o.randomize = true;
  o.seed = 42;
  Result<PromptSource> a = PromptSource::Synthetic(o);
  Result<PromptSource> b = PromptSource::Synthetic(o);
  ASSERT_TRUE(a.ok() && b.ok());
  constexpr int kN = 64;
  std::vector<Prompt> forward;
  for (int i = 0; i < kN; ++i) forward.push_back(*a->Get(i));
  // Backwards, from another source object.
  for (int i = kN - 1; i >= 0; --i) {
    const Prompt p = *b->Get(i);
    EXPECT_EQ(p.text, forward[i].text);
    EXPECT_EQ(p.max_tokens, forward[i].max_tokens);
  }
  // Interleaved over four threads sharing one source.
  std::vector<Prompt> threaded(kN);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kN; i += 4) threaded[i] = *a->Get(i);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(threaded[i].text, forward[i].text);
    EXPECT_EQ(threaded[i].max_tokens, forward[i].max_tokens);
  }
  // Another seed gives other prompts.
  o.seed = 43;
  Result<PromptSource> c = PromptSource::Synthetic(o);
  ASSERT_TRUE(c.ok());
  int same = 0;
  for (int i = 0; i < kN; ++i) same += c->Get(i)->text == forward[i].text ? 1 : 0;
  EXPECT_EQ(same, 0);
}

// ----- File prompts -----------------------------------------------------------------------------

TEST(ShareGptTest, ReadsTheFirstHumanTurnAndTheAnswerLength) {
  PromptOptions o;
  o.shuffle = false;
  Result<PromptSource> source = PromptSource::FromShareGpt(PromptFile("sharegpt_small.json"), o);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  // Entries 2 (no turns), 3 (no human turn) and 5 (empty prompt) are skipped.
  ASSERT_EQ(source->file_prompts(), 3u);
  struct Expected {
    std::string text;
    int64_t tokens;
    int64_t max_tokens;
    int64_t file_index;
  };
  // Tokens by hand, ceil(characters / 4): 30 characters -> 8; answer 31 -> 8; "Name a prime"
  // 12 -> 3, answer "7" -> 1; "Écris un haïku" 14 -> 4 with no answer, so -o's 64.
  const std::vector<Expected> expected = {
      {"What is the capital of France?", 8, 8, 0},
      {"Name a prime", 3, 1, 1},
      {std::string("\xC3\x89") + "cris un ha\xC3\xAF" + "ku", 4, 64, 4},
  };
  for (uint64_t i = 0; i < 6; ++i) {
    Result<Prompt> p = source->Get(i);
    ASSERT_TRUE(p.ok());
    const Expected& e = expected[i % 3];  // prompts repeat in file order
    EXPECT_EQ(p->text, e.text);
    EXPECT_EQ(p->prompt_tokens, e.tokens);
    EXPECT_TRUE(p->prompt_tokens_estimated);
    EXPECT_EQ(p->max_tokens, e.max_tokens);
    EXPECT_EQ(p->file_index, e.file_index);
  }
}

TEST(ShareGptTest, LengthsFromFileCanBeCappedOrIgnored) {
  PromptOptions o;
  o.shuffle = false;
  o.output = {LengthDistribution::kConstant, 4, 0.3, 5};
  Result<PromptSource> capped = PromptSource::FromShareGpt(PromptFile("sharegpt_small.json"), o);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->Get(0)->max_tokens, 5);  // min(8, 5)
  EXPECT_EQ(capped->Get(1)->max_tokens, 1);
  EXPECT_EQ(capped->Get(2)->max_tokens, 4);  // no answer: -o
  o.lengths_from_file = false;
  Result<PromptSource> ignored = PromptSource::FromShareGpt(PromptFile("sharegpt_small.json"), o);
  ASSERT_TRUE(ignored.ok());
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(ignored->Get(i)->max_tokens, 4);
}

TEST(ShareGptTest, ShuffleIsASeededPermutation) {
  PromptOptions o;
  o.seed = 7;
  Result<PromptSource> a = PromptSource::FromShareGpt(PromptFile("sharegpt_small.json"), o);
  Result<PromptSource> b = PromptSource::FromShareGpt(PromptFile("sharegpt_small.json"), o);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<int64_t> seen;
  for (uint64_t i = 0; i < 3; ++i) {
    seen.push_back(a->Get(i)->file_index);
    EXPECT_EQ(b->Get(i)->file_index, seen.back());
    EXPECT_EQ(a->Get(i + 3)->file_index, seen.back());  // then the same order again
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 4}));
}

TEST(ShareGptTest, RandomizeAddsTenTokens) {
  PromptOptions o;
  o.shuffle = false;
  o.randomize = true;
  Result<PromptSource> source = PromptSource::FromShareGpt(PromptFile("sharegpt_small.json"), o);
  ASSERT_TRUE(source.ok());
  Result<Prompt> p = source->Get(1);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->text.size(), 20 + std::string("Name a prime").size());
  EXPECT_EQ(p->text.substr(20), "Name a prime");
  EXPECT_EQ(p->prompt_tokens, 13);
}

TEST(ShareGptTest, MalformedFilesNameFileAndPlace) {
  const auto error = [](const std::string& name) {
    Result<PromptSource> s = PromptSource::FromShareGpt(PromptFile(name), PromptOptions());
    EXPECT_FALSE(s.ok()) << name;
    EXPECT_TRUE(s.status().IsDataError()) << s.status().ToString();
    EXPECT_NE(s.status().message().find(name), std::string::npos) << s.status().ToString();
    return s.status().message();
  };
  EXPECT_NE(error("sharegpt_syntax_error.json").find("line 3"), std::string::npos);
  EXPECT_NE(error("sharegpt_bad_turn.json").find("entry [1] turn [1]: 'value' is not a string"),
            std::string::npos);
  EXPECT_NE(error("sharegpt_not_a_list.json").find("not a JSON list"), std::string::npos);
  EXPECT_NE(error("sharegpt_no_conversations.json").find("entry [1]: no 'conversations' list"),
            std::string::npos);
  EXPECT_NE(error("prompts.jsonl").find("not a JSON list"), std::string::npos);
  Result<PromptSource> missing =
      PromptSource::FromShareGpt(PromptFile("no_such_file.json"), PromptOptions());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(JsonlTest, ReadsPromptsAndOptionalLengths) {
  PromptOptions o;
  o.shuffle = false;
  o.output = {LengthDistribution::kConstant, 32, 0.3, std::nullopt};
  Result<PromptSource> source = PromptSource::FromJsonl(PromptFile("prompts.jsonl"), o);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  ASSERT_EQ(source->file_prompts(), 3u);
  // "Translate 'cat' to German": 25 characters -> 7 tokens; "日本の首都は？": 7 -> 2.
  Prompt p = *source->Get(0);
  EXPECT_EQ(p.text, "Translate 'cat' to German");
  EXPECT_EQ(p.prompt_tokens, 7);
  EXPECT_TRUE(p.prompt_tokens_estimated);
  EXPECT_EQ(p.max_tokens, 5);
  EXPECT_EQ(p.file_index, 1);
  p = *source->Get(1);
  EXPECT_EQ(p.text, "Summarise the plot of Hamlet in one line");
  EXPECT_EQ(p.prompt_tokens, 9);  // given in the file
  EXPECT_FALSE(p.prompt_tokens_estimated);
  EXPECT_EQ(p.max_tokens, 32);  // none in the file: -o
  EXPECT_EQ(p.file_index, 3);
  p = *source->Get(2);
  EXPECT_EQ(p.text,
            "\xE6\x97\xA5\xE6\x9C\xAC\xE3\x81\xAE\xE9\xA6\x96\xE9\x83\xBD\xE3\x81\xAF"
            "\xEF\xBC\x9F");
  EXPECT_EQ(p.prompt_tokens, 2);
  EXPECT_EQ(p.max_tokens, 3);
  EXPECT_EQ(p.file_index, 4);
}

TEST(JsonlTest, MalformedLinesNameFileAndLine) {
  const auto error = [](const std::string& name) {
    Result<PromptSource> s = PromptSource::FromJsonl(PromptFile(name), PromptOptions());
    EXPECT_FALSE(s.ok()) << name;
    EXPECT_TRUE(s.status().IsDataError()) << s.status().ToString();
    EXPECT_NE(s.status().message().find(name), std::string::npos) << s.status().ToString();
    return s.status().message();
  };
  EXPECT_NE(error("prompts_bad_json.jsonl").find("line 2: not valid JSON"), std::string::npos);
  EXPECT_NE(
      error("prompts_bad_max_tokens.jsonl").find("line 3: 'max_tokens' is not a positive integer"),
      std::string::npos);
  EXPECT_NE(error("prompts_no_prompt.jsonl").find("line 1: no 'prompt' string"), std::string::npos);
  EXPECT_NE(error("prompts_empty.jsonl").find("has no prompt"), std::string::npos);
  EXPECT_NE(error("sharegpt_small.json").find("line 1: not valid JSON"), std::string::npos);
  EXPECT_EQ(PromptSource::FromJsonl(PromptFile("missing.jsonl"), PromptOptions()).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace llmrca::load
