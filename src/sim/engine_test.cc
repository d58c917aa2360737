#include "sim/engine.h"

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::sim {
namespace {

using Ids = std::vector<uint32_t>;

// A toy replica whose numbers are easy to follow by hand:
//   weights = 2 bytes x 1e5 params = 200,000 B;
//   KV pool = 1e6 B x 0.5 - 200,000 - 132,000 = 168,000 B;
//   block = 16 tokens x 1,000 B = 16,000 B, so 168,000 / 16,000 = 10.5 -> 10 blocks;
//   memory term: bandwidth 1e6 B/s x 0.5 = 5e5 B/s; compute 1e18 x 0.5 FLOP/s (negligible);
//   CPU: 10 ms per step + 1 ms per scheduled sequence.
EngineConfig ToyConfig() {
  EngineConfig c;
  c.max_num_seqs = 256;
  c.max_num_batched_tokens = 2048;
  c.block_size = 16;
  c.gpu_memory_utilization = 0.5;
  c.activation_reserve_bytes = 132000;
  c.bandwidth_efficiency = 0.5;
  c.compute_efficiency = 0.5;
  c.cpu_step_s = 0.01;
  c.cpu_per_seq_s = 0.001;
  return c;
}

ModelProfile ToyModel() {
  ModelProfile m;
  m.name = "toy";
  m.params = 1e5;
  m.kv_bytes_per_token = 1000;
  m.state_bytes_per_seq = 0;
  return m;
}

GpuProfile ToyGpu() {
  GpuProfile g;
  g.name = "toy-gpu";
  g.memory_bandwidth = 1e6;
  g.peak_flops = 1e18;
  g.memory_bytes = 1e6;
  g.tdp_w = 500;
  g.min_power_limit_w = 100;
  g.idle_w = 100;
  g.max_sm_clock_mhz = 2000;
  g.idle_sm_clock_mhz = 500;
  return g;
}

// One full step: schedule, then apply. Returns the step's events; `stats` gets its stats.
StepEvents Step(Engine& e, StepStats& stats, const EngineConditions& cond = {}) {
  StepEvents ev;
  e.StartStep(cond, stats);
  e.FinishStep(ev);
  return ev;
}

StepEvents Step(Engine& e) {
  StepStats stats;
  return Step(e, stats);
}

TEST(EngineTest, TotalBlocksFollowsTheMemoryFormula) {
  // (1e6 x 0.5 - 2 x 1e5 - 132,000) / (16 x 1000) = 168,000 / 16,000 = 10.5 -> 10.
  Engine e(ToyConfig(), ToyModel(), ToyGpu());
  EXPECT_EQ(e.total_blocks(), 10);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 0.0);

  // Block size 8: 168,000 / 8,000 = 21 blocks.
  EngineConfig c = ToyConfig();
  c.block_size = 8;
  EXPECT_EQ(Engine(c, ToyModel(), ToyGpu()).total_blocks(), 21);

  // Utilisation 0.9: 900,000 - 200,000 - 132,000 = 568,000 B / 16,000 = 35.5 -> 35.
  c = ToyConfig();
  c.gpu_memory_utilization = 0.9;
  EXPECT_EQ(Engine(c, ToyModel(), ToyGpu()).total_blocks(), 35);
}

TEST(EngineTest, RefusesARequestThatCanNeverFitThePool) {
  Engine e(ToyConfig(), ToyModel(), ToyGpu());
  // 150 + 20 = 170 tokens -> ceil(170 / 16) = 11 blocks > 10.
  EXPECT_FALSE(e.Enqueue(1, 150, 20));
  EXPECT_EQ(e.waiting(), 0);
  // 140 + 20 = 160 tokens -> exactly 10 blocks: accepted.
  EXPECT_TRUE(e.Enqueue(2, 140, 20));
  EXPECT_EQ(e.waiting(), 1);
  EXPECT_EQ(e.Load(), 1);
}

TEST(EngineTest, PerSequenceStateTakesWholeBlocks) {
  // 20,000 B of state per sequence = ceil(20,000 / 16,000) = 2 blocks on top of the KV.
  ModelProfile m = ToyModel();
  m.state_bytes_per_seq = 20000;
  Engine e(ToyConfig(), m, ToyGpu());
  // 140 + 20 = 160 tokens: 10 + 2 = 12 blocks > 10.
  EXPECT_FALSE(e.Enqueue(1, 140, 20));
  // 100 + 12 = 112 tokens: 7 + 2 = 9 blocks.
  EXPECT_TRUE(e.Enqueue(2, 100, 12));
  // First step: the whole 100-token prompt: ceil(100 / 16) + 2 = 7 + 2 = 9 blocks held.
  Step(e);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 9.0 / 10.0);
}

TEST(EngineTest, ChunksAPromptByTheTokenBudgetThenDecodesOneTokenPerStep) {
  EngineConfig c = ToyConfig();
  c.max_num_batched_tokens = 16;
  Engine e(c, ToyModel(), ToyGpu());
  // 40 + 10 = 50 tokens -> 4 blocks at most: accepted.
  ASSERT_TRUE(e.Enqueue(42, 40, 10));

  // Steps 1-3 prefill 16, 16 and 8 tokens; the last chunk emits the first token.
  // Blocks after each: ceil(16/16) = 1, ceil(32/16) = 2, ceil(40/16) = 3.
  const int chunks[] = {16, 16, 8};
  const int blocks[] = {1, 2, 3};
  for (int step = 0; step < 3; ++step) {
    StepStats stats;
    StepEvents ev = Step(e, stats);
    EXPECT_EQ(stats.prompt_tokens, chunks[step]) << "step " << step + 1;
    EXPECT_EQ(stats.seqs, 1);
    EXPECT_DOUBLE_EQ(e.KvUsage(), blocks[step] / 10.0) << "step " << step + 1;
    EXPECT_TRUE(ev.finished.empty());
    if (step < 2) {
      EXPECT_TRUE(ev.first_tokens.empty()) << "step " << step + 1;
      EXPECT_EQ(ev.tokens, 0);
    } else {
      EXPECT_EQ(ev.first_tokens, (Ids{42}));
      EXPECT_EQ(ev.tokens, 1);
    }
    EXPECT_EQ(e.running(), 1);
  }

  // Steps 4-12 decode one token each (tokens 2..10). At step k the context grows to
  // 40 + (k - 3) tokens: 41..48 fit 3 blocks; step 12 reaches 49 -> ceil(49/16) = 4 blocks,
  // then the 10th token finishes the request and frees its blocks.
  for (int step = 4; step <= 11; ++step) {
    StepStats stats;
    StepEvents ev = Step(e, stats);
    EXPECT_EQ(stats.prompt_tokens, 0) << "step " << step;
    EXPECT_TRUE(ev.first_tokens.empty()) << "step " << step;
    EXPECT_TRUE(ev.finished.empty()) << "step " << step;
    EXPECT_EQ(ev.tokens, 1);
    EXPECT_DOUBLE_EQ(e.KvUsage(), 3.0 / 10.0) << "step " << step;
  }
  StepStats stats;
  EXPECT_GT(e.StartStep({}, stats), 0.0);
  EXPECT_TRUE(e.busy());
  EXPECT_DOUBLE_EQ(e.KvUsage(), 4.0 / 10.0);  // the 49th token's block
  StepEvents last;
  e.FinishStep(last);
  EXPECT_FALSE(e.busy());
  EXPECT_EQ(last.finished, (Ids{42}));
  EXPECT_EQ(last.tokens, 1);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 0.0);
  EXPECT_EQ(e.running(), 0);

  // Nothing left: the next step is idle.
  EXPECT_DOUBLE_EQ(e.StartStep({}, stats), 0.0);
  EXPECT_FALSE(e.busy());
  EXPECT_EQ(e.preemptions_total(), 0);
}

TEST(EngineTest, MaxNumSeqsCapsAdmission) {
  EngineConfig c = ToyConfig();
  c.max_num_seqs = 2;
  Engine e(c, ToyModel(), ToyGpu());
  // Three 4-token prompts with 3 output tokens each (1 block each).
  for (uint32_t id = 1; id <= 3; ++id) ASSERT_TRUE(e.Enqueue(id, 4, 3));

  StepStats stats;
  StepEvents ev = Step(e, stats);
  EXPECT_EQ(stats.seqs, 2);
  EXPECT_EQ(ev.first_tokens, (Ids{1, 2}));
  EXPECT_EQ(e.running(), 2);
  EXPECT_EQ(e.waiting(), 1);
  // Steps 2 and 3: tokens 2 and 3 of requests 1 and 2, which finish in step 3.
  EXPECT_TRUE(Step(e).first_tokens.empty());
  ev = Step(e);
  EXPECT_EQ(ev.finished, (Ids{1, 2}));
  EXPECT_EQ(e.waiting(), 1);
  // Step 4: request 3 is admitted now that the running list has room.
  ev = Step(e);
  EXPECT_EQ(ev.first_tokens, (Ids{3}));
  EXPECT_EQ(e.running(), 1);
  EXPECT_EQ(e.waiting(), 0);
}

TEST(EngineTest, AdmitsInArrivalOrder) {
  EngineConfig c = ToyConfig();
  c.max_num_seqs = 1;
  Engine e(c, ToyModel(), ToyGpu());
  // Ids deliberately out of numeric order: 7, 3, 5 (one output token each).
  for (uint32_t id : {7u, 3u, 5u}) ASSERT_TRUE(e.Enqueue(id, 4, 1));
  Ids order;
  for (int step = 0; step < 3; ++step) {
    StepEvents ev = Step(e);
    order.insert(order.end(), ev.finished.begin(), ev.finished.end());
  }
  EXPECT_EQ(order, (Ids{7, 3, 5}));
}

TEST(EngineTest, AbortFreesTheBlocksOfARunningOrWaitingRequest) {
  EngineConfig c = ToyConfig();
  c.max_num_seqs = 2;
  Engine e(c, ToyModel(), ToyGpu());
  // 10 blocks of 16 tokens. Requests 1 and 2 (40-token prompts: 3 blocks each) run; 3 waits.
  for (uint32_t id : {1u, 2u, 3u}) ASSERT_TRUE(e.Enqueue(id, 40, 20));
  Step(e);
  EXPECT_EQ(e.running(), 2);
  EXPECT_EQ(e.waiting(), 1);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 0.6);  // 2 x 3 of 10 blocks (41 tokens after the first: 3)
  EXPECT_TRUE(e.Abort(1));
  EXPECT_EQ(e.running(), 1);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 0.3);
  EXPECT_TRUE(e.Abort(3));
  EXPECT_EQ(e.waiting(), 0);
  EXPECT_FALSE(e.Abort(3));
  EXPECT_FALSE(e.Abort(99));
  // Request 2 runs on alone to its 20 tokens: 19 more steps.
  int steps = 0;
  Ids finished;
  while (finished.empty() && steps < 100) {
    finished = Step(e).finished;
    ++steps;
  }
  EXPECT_EQ(finished, (Ids{2}));
  EXPECT_EQ(steps, 19);
}

TEST(EngineTest, ChunksTheLaterArrivalWithTheBudgetLeft) {
  EngineConfig c = ToyConfig();
  c.max_num_batched_tokens = 16;
  Engine e(c, ToyModel(), ToyGpu());
  ASSERT_TRUE(e.Enqueue(1, 10, 2));
  ASSERT_TRUE(e.Enqueue(2, 10, 2));
  // Step 1: request 1 takes its 10 prompt tokens, request 2 the remaining 16 - 10 = 6.
  StepStats stats;
  StepEvents ev = Step(e, stats);
  EXPECT_EQ(stats.prompt_tokens, 16);
  EXPECT_EQ(ev.first_tokens, (Ids{1}));
  // Step 2: request 1 decodes one token (its last: finished), request 2 its last 4 prompt
  // tokens and emits its first token.
  ev = Step(e, stats);
  EXPECT_EQ(stats.prompt_tokens, 4);
  EXPECT_EQ(ev.first_tokens, (Ids{2}));
  EXPECT_EQ(ev.finished, (Ids{1}));
  EXPECT_EQ(ev.tokens, 2);
}

TEST(EngineTest, PreemptsTheMostRecentlyAdmittedRequest) {
  EngineConfig c = ToyConfig();
  c.max_num_seqs = 2;
  Engine e(c, ToyModel(), ToyGpu());
  // A: 64-token prompt (4 blocks), B: 96 tokens (6 blocks), both 20 output tokens
  // (84 -> 6 and 116 -> 8 blocks at most: both accepted). C waits behind max_num_seqs.
  ASSERT_TRUE(e.Enqueue(1, 64, 20));  // A
  ASSERT_TRUE(e.Enqueue(2, 96, 20));  // B
  ASSERT_TRUE(e.Enqueue(3, 16, 1));   // C

  // Step 1: A 4 + B 6 = 10 blocks, the pool is full; both emit their first token.
  StepEvents ev = Step(e);
  EXPECT_EQ(ev.first_tokens, (Ids{1, 2}));
  EXPECT_DOUBLE_EQ(e.KvUsage(), 1.0);
  EXPECT_EQ(e.waiting(), 1);

  // Step 2: A's 65th token needs a 5th block; none is free, so the most recently admitted
  // running request, B, is preempted (6 blocks freed), A takes 1: 5 of 10 blocks held.
  // B goes back to the head of the queue, before C; it needs ceil((96 + 1) / 16) = 7 blocks
  // > 5 free, so it waits, and C (1 block, would fit) may not pass it.
  StepStats stats;
  ev = Step(e, stats);
  EXPECT_EQ(ev.preemptions, 1);
  EXPECT_EQ(e.preemptions_total(), 1);
  EXPECT_EQ(stats.seqs, 1);
  EXPECT_EQ(ev.tokens, 1);
  EXPECT_EQ(e.running(), 1);
  EXPECT_EQ(e.waiting(), 2);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 5.0 / 10.0);

  // A decodes alone until its 20th token in step 20 (A had token k after step k). At step 20
  // its context is 64 + 19 = 83 tokens = 6 blocks; it finishes and frees them.
  for (int step = 3; step < 20; ++step) {
    ev = Step(e);
    EXPECT_EQ(ev.preemptions, 0) << "step " << step;
    EXPECT_EQ(e.running(), 1) << "step " << step;
    EXPECT_EQ(e.waiting(), 2) << "step " << step;  // C stays behind the blocked B
  }
  ev = Step(e);
  EXPECT_EQ(ev.finished, (Ids{1}));
  EXPECT_DOUBLE_EQ(e.KvUsage(), 0.0);

  // Step 21: B, still at the head, is admitted first and recomputes its prompt and the token
  // it had generated: 96 + 1 = 97 prefill tokens, ceil(97 / 16) = 7 blocks; the token it emits
  // is its 2nd, so no first-token event. Then C (1 running < max_num_seqs 2, 1 block free of 3)
  // prefills its 16 tokens and emits its first and only token; its block is freed again.
  ev = Step(e, stats);
  EXPECT_EQ(stats.prompt_tokens, 97 + 16);
  EXPECT_EQ(ev.first_tokens, (Ids{3}));
  EXPECT_EQ(ev.finished, (Ids{3}));
  EXPECT_EQ(ev.tokens, 2);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 7.0 / 10.0);
  const std::vector<std::pair<uint32_t, int>> left = e.Crash();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0], (std::pair<uint32_t, int>{2, 2}));  // B: generated 1 before, 1 now
}

TEST(EngineTest, PreemptsTheTailOfThreeRunningRequests) {
  Engine e(ToyConfig(), ToyModel(), ToyGpu());
  // A and B: 32-token prompts (2 blocks each, full at 32 tokens); C: 96 tokens (6 blocks).
  ASSERT_TRUE(e.Enqueue(1, 32, 20));  // A: 52 tokens -> 4 blocks at most
  ASSERT_TRUE(e.Enqueue(2, 32, 20));  // B
  ASSERT_TRUE(e.Enqueue(3, 96, 4));   // C: 100 tokens -> 7 blocks at most
  Step(e);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 1.0);  // 2 + 2 + 6
  // Step 2: A's 33rd token needs a 3rd block; the victim is C (admitted last), not B: 6 blocks
  // freed, A and B take one each: 3 + 3 = 6 of 10. C needs ceil(97 / 16) = 7 > 4: it waits.
  StepEvents ev = Step(e);
  EXPECT_EQ(ev.preemptions, 1);
  EXPECT_EQ(ev.tokens, 2);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 6.0 / 10.0);
  using Dropped = std::vector<std::pair<uint32_t, int>>;
  EXPECT_EQ(e.Crash(), (Dropped{{1, 2}, {2, 2}, {3, 1}}));  // running A, B; waiting C
}

TEST(EngineTest, PreemptsItselfWhenItIsTheNewestRunningRequest) {
  Engine e(ToyConfig(), ToyModel(), ToyGpu());
  // X: 90-token prompt (6 blocks, room up to 96 tokens), Y: 64 tokens (4 blocks, full at 64).
  ASSERT_TRUE(e.Enqueue(1, 90, 4));  // X
  ASSERT_TRUE(e.Enqueue(2, 64, 4));  // Y
  Step(e);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 1.0);
  // Step 2: X's 91st token fits its 6th block; Y's 65th needs a 5th block and none is free.
  // Y is itself the most recently admitted, so it is the victim: its 4 blocks are freed, and
  // it cannot come back this step (ceil(65 / 16) = 5 > 4 free).
  StepStats stats;
  StepEvents ev = Step(e, stats);
  EXPECT_EQ(ev.preemptions, 1);
  EXPECT_EQ(stats.seqs, 1);
  EXPECT_EQ(ev.tokens, 1);
  EXPECT_EQ(e.running(), 1);
  EXPECT_EQ(e.waiting(), 1);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 6.0 / 10.0);
}

TEST(EngineTest, ShrinkingThePoolPreemptsAtTheNextStepAndRestoringGivesBlocksBack) {
  Engine e(ToyConfig(), ToyModel(), ToyGpu());
  ASSERT_TRUE(e.Enqueue(1, 64, 50));  // A: 4 blocks after its prefill
  ASSERT_TRUE(e.Enqueue(2, 64, 50));  // B: 4 blocks
  Step(e);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 8.0 / 10.0);

  // Half the pool: 10 x 0.5 = 5 blocks, 8 held. Nothing happens until the next step, which
  // preempts B (the tail): 4 held; A then needs a 5th block for its 65th token: 5 of 5.
  e.SetPoolFraction(0.5);
  EXPECT_EQ(e.total_blocks(), 5);
  EXPECT_EQ(e.running(), 2);
  StepStats stats;
  StepEvents ev = Step(e, stats);
  EXPECT_EQ(ev.preemptions, 1);
  EXPECT_EQ(e.preemptions_total(), 1);
  EXPECT_EQ(e.running(), 1);
  EXPECT_EQ(e.waiting(), 1);
  EXPECT_EQ(stats.seqs, 1);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 5.0 / 5.0);

  // Restored: 10 blocks, A holds 5.
  e.SetPoolFraction(1.0);
  EXPECT_EQ(e.total_blocks(), 10);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 5.0 / 10.0);
  // Next step: A's 66th token fits its 5 blocks; B comes back and recomputes 64 + 1 = 65
  // tokens in ceil(65 / 16) = 5 blocks: 10 of 10.
  ev = Step(e, stats);
  EXPECT_EQ(ev.preemptions, 0);
  EXPECT_EQ(stats.prompt_tokens, 65);
  EXPECT_EQ(stats.seqs, 2);
  EXPECT_EQ(e.running(), 2);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 10.0 / 10.0);
}

TEST(EngineTest, CrashReturnsEveryRequestWithItsTokensAndFreesThePool) {
  EngineConfig c = ToyConfig();
  c.max_num_seqs = 2;
  Engine e(c, ToyModel(), ToyGpu());
  ASSERT_TRUE(e.Enqueue(1, 4, 10));
  ASSERT_TRUE(e.Enqueue(2, 4, 10));
  ASSERT_TRUE(e.Enqueue(3, 4, 10));
  Step(e);  // 1 and 2 emit token 1
  Step(e);  // and token 2
  // A third step is in flight when the engine crashes: its tokens are lost.
  StepStats stats;
  EXPECT_GT(e.StartStep({}, stats), 0.0);
  EXPECT_TRUE(e.busy());
  const std::vector<std::pair<uint32_t, int>> dropped = e.Crash();
  using Dropped = std::vector<std::pair<uint32_t, int>>;
  EXPECT_EQ(dropped, (Dropped{{1, 2}, {2, 2}, {3, 0}}));
  EXPECT_FALSE(e.busy());
  EXPECT_EQ(e.running(), 0);
  EXPECT_EQ(e.waiting(), 0);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 0.0);
  StepEvents ev;
  e.FinishStep(ev);  // a stale finish after the crash changes nothing
  EXPECT_TRUE(ev.first_tokens.empty());
  EXPECT_EQ(ev.tokens, 0);

  // The whole pool is free again: a 144-token prompt takes 9 of 10 blocks.
  ASSERT_TRUE(e.Enqueue(4, 144, 16));
  Step(e);
  EXPECT_DOUBLE_EQ(e.KvUsage(), 9.0 / 10.0);
}

// Two requests of 8 and 24 prompt tokens in one step: context 32 tokens, 2 sequences.
double MemoryBoundStep(const EngineConditions& cond, StepStats& stats) {
  Engine e(ToyConfig(), ToyModel(), ToyGpu());
  EXPECT_TRUE(e.Enqueue(1, 8, 4));
  EXPECT_TRUE(e.Enqueue(2, 24, 4));
  return e.StartStep(cond, stats);
}

TEST(EngineTest, MemoryBoundStepTimeIsWeightsPlusContextOverBandwidthPlusCpu) {
  // GPU: (200,000 B weights + 32 x 1,000 B KV) / (1e6 x 0.5 B/s) = 232,000 / 500,000 = 0.464 s
  // (compute: 2 x 1e5 x 32 / 5e17 = 1.3e-11 s, far below).
  // CPU: 0.01 + 0.001 x 2 = 0.012 s. Wall: 0.476 s.
  StepStats stats;
  const double wall = MemoryBoundStep({}, stats);
  EXPECT_NEAR(wall, 0.476, 1e-12);
  EXPECT_NEAR(stats.wall_s, 0.476, 1e-12);
  EXPECT_NEAR(stats.gpu_busy_s, 0.464, 1e-12);
  EXPECT_EQ(stats.seqs, 2);
  EXPECT_EQ(stats.prompt_tokens, 32);
  EXPECT_NEAR(stats.dram_util, 1.0, 1e-9);
  // Uncapped: full clock, no violation. Demand = 100 + (500 - 100) x (0.5 + 0.45 x ~0) = 300 W.
  EXPECT_DOUBLE_EQ(stats.sm_clock_mhz, 2000.0);
  EXPECT_DOUBLE_EQ(stats.violation_s, 0.0);
  EXPECT_NEAR(stats.power_w, 300.0, 1e-6);
}

TEST(EngineTest, HalvingTheRunFractionDoublesTheWallTime) {
  // (0.464 + 0.012) / 0.5 = 0.952 s; the GPU time itself is unchanged.
  EngineConditions cond;
  cond.run_fraction = 0.5;
  StepStats stats;
  EXPECT_NEAR(MemoryBoundStep(cond, stats), 0.952, 1e-12);
  EXPECT_NEAR(stats.gpu_busy_s, 0.464, 1e-12);
  // A quarter: (0.476) / 0.25 = 1.904 s.
  cond.run_fraction = 0.25;
  EXPECT_NEAR(MemoryBoundStep(cond, stats), 1.904, 1e-12);
}

TEST(EngineTest, ContentionMultipliesTheGpuTime) {
  // GPU 0.464 x (1 + 0.63) = 0.75632 s; wall 0.75632 + 0.012 = 0.76832 s; the memory share of
  // the busy time drops to 1 / 1.63.
  EngineConditions cond;
  cond.contention = 0.63;
  StepStats stats;
  EXPECT_NEAR(MemoryBoundStep(cond, stats), 0.76832, 1e-12);
  EXPECT_NEAR(stats.gpu_busy_s, 0.75632, 1e-12);
  EXPECT_NEAR(stats.dram_util, 1 / 1.63, 1e-9);
  // With a 0.5 run fraction as well: (0.75632 + 0.012) / 0.5 = 1.53664 s.
  cond.run_fraction = 0.5;
  EXPECT_NEAR(MemoryBoundStep(cond, stats), 1.53664, 1e-12);
}

// A GPU where one 16-token prompt gives round terms:
//   memory: (200,000 + 16 x 1,000) B / (432,000 x 0.5) B/s = 216,000 / 216,000 = 1 s;
//   compute: 2 x 1e5 x 16 FLOP / (1.92e7 x 0.5) FLOP/s = 3.2e6 / 9.6e6 = 1/3 s.
// compute share = (1/3) / (1/3 + 1) = 0.25;
// demand = idle + (tdp - idle) x (0.5 + 0.45 x 0.25) = 100 + 400 x 0.6125 = 345 W.
StepStats PowerStep(double cap_w) {
  GpuProfile g = ToyGpu();
  g.memory_bandwidth = 432000;
  g.peak_flops = 1.92e7;
  Engine e(ToyConfig(), ToyModel(), g);
  EXPECT_TRUE(e.Enqueue(1, 16, 4));
  EngineConditions cond;
  cond.power_cap_w = cap_w;
  StepStats stats;
  e.StartStep(cond, stats);
  return stats;
}

TEST(EngineTest, PowerCapAboveTheDemandChangesNothing) {
  for (double cap : {0.0, 346.0, 400.0}) {  // 0: the default limit, TDP 500 W
    const StepStats s = PowerStep(cap);
    EXPECT_NEAR(s.power_w, 345.0, 1e-9) << cap;
    EXPECT_DOUBLE_EQ(s.sm_clock_mhz, 2000.0) << cap;
    EXPECT_DOUBLE_EQ(s.violation_s, 0.0) << cap;
    // max(1, 1/3) = 1 s GPU; wall 1 + 0.01 + 0.001 = 1.011 s.
    EXPECT_NEAR(s.gpu_busy_s, 1.0, 1e-12) << cap;
    EXPECT_NEAR(s.wall_s, 1.011, 1e-12) << cap;
  }
}

TEST(EngineTest, PowerCapBelowTheDemandLowersTheClockAndCountsViolation) {
  // Cap 200 W < 345 W: clock = sqrt((200 - 100) / (345 - 100)) = sqrt(100 / 245) = 0.638877;
  // SM clock 2000 x 0.638877 = 1277.75 MHz; power = the cap.
  // Memory time 1 x (1 + 0.6 x (1 / 0.638877 - 1)) = 1 + 0.6 x 0.565248 = 1.339149 s;
  // compute time (1/3) / 0.638877 = 0.521749 s; GPU = 1.339149 s, all of it throttled.
  const StepStats s = PowerStep(200);
  const double clock = std::sqrt(100.0 / 245.0);
  EXPECT_NEAR(clock, 0.638877, 1e-6);
  EXPECT_DOUBLE_EQ(s.power_w, 200.0);
  EXPECT_NEAR(s.sm_clock_mhz, 2000 * clock, 1e-9);
  EXPECT_NEAR(s.sm_clock_mhz, 1277.75, 0.01);
  const double gpu = 1 + 0.6 * (1 / clock - 1);
  EXPECT_NEAR(gpu, 1.339149, 1e-6);
  EXPECT_NEAR(s.gpu_busy_s, gpu, 1e-12);
  EXPECT_DOUBLE_EQ(s.violation_s, s.gpu_busy_s);
  EXPECT_NEAR(s.wall_s, gpu + 0.011, 1e-12);
}

TEST(EngineTest, PowerCapClockIsClampedAtOneFifth) {
  // Cap 101 W: sqrt(1 / 245) = 0.064 < 0.2, clamped: 2000 x 0.2 = 400 MHz.
  // Memory time 1 + 0.6 x (5 - 1) = 3.4 s; compute (1/3) x 5 = 1.667 s; GPU 3.4 s.
  const StepStats s = PowerStep(101);
  EXPECT_NEAR(s.sm_clock_mhz, 400.0, 1e-9);
  EXPECT_NEAR(s.gpu_busy_s, 3.4, 1e-12);
  EXPECT_DOUBLE_EQ(s.violation_s, s.gpu_busy_s);
}

}  // namespace
}  // namespace llmrca::sim
