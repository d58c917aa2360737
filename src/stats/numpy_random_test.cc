#include "stats/numpy_random.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::stats {
namespace {

// Every expected value below comes from NumPy 1.24.2 (Debian's /usr/bin/python3, the study's
// version), printed with full precision (Python's repr round-trips doubles exactly).

TEST(NumpySeedSequenceTest, MatchesNumpyForSeedZero) {
  // /usr/bin/python3 -c "import numpy as np;
  //   print(np.random.SeedSequence(0).generate_state(8).tolist())" (one line)
  const std::vector<uint32_t> expected = {2968811710, 3677149159, 745650761, 2884920346,
                                          2642120001, 549907821,  574372308, 742431198};
  EXPECT_EQ(NumpySeedSequenceState(0, 8), expected);
}

TEST(NumpySeedSequenceTest, MatchesNumpyForOneAndTwoWordSeeds) {
  // print(np.random.SeedSequence(s).generate_state(4).tolist()) for each s.
  EXPECT_EQ(NumpySeedSequenceState(1, 4),
            (std::vector<uint32_t>{1835504127, 1731038949, 1320224556, 2330041505}));
  EXPECT_EQ(NumpySeedSequenceState(12345, 4),
            (std::vector<uint32_t>{2688385916, 3048105090, 4196366895, 3152189807}));
  // 2**40 + 7 = 1099511627783 spans two 32-bit entropy words.
  EXPECT_EQ(NumpySeedSequenceState(1099511627783ULL, 4),
            (std::vector<uint32_t>{238885397, 226915041, 1322230113, 2599373530}));
  EXPECT_EQ(NumpySeedSequenceState(18446744073709551615ULL, 4),
            (std::vector<uint32_t>{2458692877, 2931597649, 2251873402, 295448644}));
}

TEST(NumpyPcg64Test, SeedsStateAndIncrementAsNumpy) {
  // st = np.random.PCG64(0).state['state']; print(hex(st['state']), hex(st['inc']))
  const NumpyPcg64 g = NumpyPcg64::FromSeed(0);
  EXPECT_EQ(g.state_high(), 0x1aa1b5345996452dULL);
  EXPECT_EQ(g.state_low(), 0x09585eb7a69561e3ULL);
  EXPECT_EQ(g.increment_high(), 0x418ddadb3af71a82ULL);
  EXPECT_EQ(g.increment_low(), 0x588133bc447873a9ULL);
}

TEST(NumpyPcg64Test, RawOutputsMatchNumpy) {
  // print(np.random.PCG64(0).random_raw(5).tolist())
  NumpyPcg64 g = NumpyPcg64::FromSeed(0);
  const uint64_t expected[] = {11749869230777074271ULL, 4976686463289251617ULL,
                               755828109848996024ULL, 304881062738325533ULL,
                               15002187965291974971ULL};
  for (uint64_t e : expected) EXPECT_EQ(g.NextUint64(), e);

  // print(np.random.PCG64(s).random_raw(3).tolist()) for s = 12345 and 2**64 - 1.
  NumpyPcg64 h = NumpyPcg64::FromSeed(12345);
  EXPECT_EQ(h.NextUint64(), 4193609425186963869ULL);
  EXPECT_EQ(h.NextUint64(), 5843160025838961886ULL);
  EXPECT_EQ(h.NextUint64(), 14708796524633321433ULL);
  NumpyPcg64 m = NumpyPcg64::FromSeed(18446744073709551615ULL);
  EXPECT_EQ(m.NextUint64(), 12544278110101001871ULL);
  EXPECT_EQ(m.NextUint64(), 15593249672699323225ULL);
  EXPECT_EQ(m.NextUint64(), 136562751618339402ULL);
}

TEST(NumpyPcg64Test, RandomMatchesDefaultRngBitForBit) {
  // /usr/bin/python3 -c "import numpy as np; r=np.random.default_rng(0);
  //   print(repr(r.random(5).tolist()))" (one line)
  NumpyPcg64 g = NumpyPcg64::FromSeed(0);
  EXPECT_EQ(g.Random(), 0.6369616873214543);
  EXPECT_EQ(g.Random(), 0.2697867137638703);
  EXPECT_EQ(g.Random(), 0.04097352393619469);
  EXPECT_EQ(g.Random(), 0.016527635528529094);
  EXPECT_EQ(g.Random(), 0.8132702392002724);
  // repr(np.random.default_rng(1).random(2).tolist())
  NumpyPcg64 h = NumpyPcg64::FromSeed(1);
  EXPECT_EQ(h.Random(), 0.5118216247002567);
  EXPECT_EQ(h.Random(), 0.9504636963259353);
}

TEST(NumpyPcg64Test, ChoiceCdfIsTheSequentialCumsumOverTheLast) {
  // np.cumsum([0.1, 0.2, 0.3, 0.25, 0.15]).tolist() =
  // [0.1, 0.30000000000000004, 0.6000000000000001, 0.8500000000000001, 1.0]; the last is 1.0,
  // so the division leaves them unchanged.
  const std::vector<double> p = {0.1, 0.2, 0.3, 0.25, 0.15};
  const std::vector<double> cdf = NumpyPcg64::ChoiceCdf(p);
  const std::vector<double> expected = {0.1, 0.30000000000000004, 0.6000000000000001,
                                        0.8500000000000001, 1.0};
  EXPECT_EQ(cdf, expected);
  // Unnormalised weights are divided by their total.
  EXPECT_EQ(NumpyPcg64::ChoiceCdf(std::vector<double>{1, 1, 2}),
            (std::vector<double>{0.25, 0.5, 1.0}));
}

TEST(NumpyPcg64Test, ChoiceWithProbabilitiesMatchesNumpy) {
  // r = np.random.default_rng(0)
  // print([int(r.choice(5, p=[0.1, 0.2, 0.3, 0.25, 0.15])) for _ in range(10)])
  NumpyPcg64 g = NumpyPcg64::FromSeed(0);
  const std::vector<double> cdf =
      NumpyPcg64::ChoiceCdf(std::vector<double>{0.1, 0.2, 0.3, 0.25, 0.15});
  const std::vector<size_t> expected = {3, 1, 0, 0, 3, 4, 3, 3, 2, 4};
  std::vector<size_t> got;
  for (int i = 0; i < 10; ++i) got.push_back(g.ChoiceIndex(cdf));
  EXPECT_EQ(got, expected);
}

TEST(NumpyPcg64Test, UniformChoiceOverTwentyMatchesNumpy) {
  // The draws of RCAEval's all-zero-score walk over 20 nodes:
  // n = 20; r = np.random.default_rng(0); p = np.full(n, 1 / n); cnt = [0] * n
  // for _ in range(20): cnt[r.choice(np.arange(n), p=p)] += 1
  // print(cnt)
  NumpyPcg64 g = NumpyPcg64::FromSeed(0);
  const std::vector<double> cdf = NumpyPcg64::ChoiceCdf(std::vector<double>(20, 1.0 / 20));
  std::vector<int> counts(20, 0);
  for (int i = 0; i < 20; ++i) ++counts[g.ChoiceIndex(cdf)];
  const std::vector<int> expected = {4, 0, 0, 1, 0, 2, 0, 0, 1, 0, 2, 0, 2, 0, 2, 0, 2, 2, 2, 0};
  EXPECT_EQ(counts, expected);
}

TEST(NumpyPcg64Test, SameSeedSameStream) {
  NumpyPcg64 a = NumpyPcg64::FromSeed(7);
  NumpyPcg64 b = NumpyPcg64::FromSeed(7);
  NumpyPcg64 c = NumpyPcg64::FromSeed(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.NextUint64();
    EXPECT_EQ(x, b.NextUint64());
    differs = differs || x != c.NextUint64();
  }
  EXPECT_TRUE(differs);
}

TEST(NumpyPcg64Test, RandomStaysInUnitInterval) {
  NumpyPcg64 g = NumpyPcg64::FromSeed(3);
  for (int i = 0; i < 10000; ++i) {
    const double u = g.Random();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

}  // namespace
}  // namespace llmrca::stats
