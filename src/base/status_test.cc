#include "base/status.h"

#include <memory>
#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace llmrca {
namespace {

TEST(StatusTest, DefaultIsOkWithEmptyMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, NamedConstructorsSetCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
  };
  const Case cases[] = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument},
      {Status::NotFound("m"), StatusCode::kNotFound},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists},
      {Status::IoError("m"), StatusCode::kIoError},
      {Status::Unavailable("m"), StatusCode::kUnavailable},
      {Status::DataError("m"), StatusCode::kDataError},
      {Status::DeadlineExceeded("m"), StatusCode::kDeadlineExceeded},
      {Status::Internal("m"), StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
  }
}

TEST(StatusTest, PredicatesMatchOnlyTheirOwnCode) {
  EXPECT_TRUE(Status::InvalidArgument("x").IsInvalidArgument());
  EXPECT_TRUE(Status::NotFound("x").IsNotFound());
  EXPECT_TRUE(Status::DataError("x").IsDataError());
  EXPECT_TRUE(Status::IoError("x").IsIoError());
  EXPECT_FALSE(Status::NotFound("x").IsInvalidArgument());
  EXPECT_FALSE(Status::IoError("x").IsDataError());
  EXPECT_FALSE(Status::DataError("x").IsIoError());
  EXPECT_FALSE(Status::Ok().IsNotFound());
}

TEST(StatusTest, ToStringOfAnErrorIsTheMessageAlone) {
  EXPECT_EQ(Status::NotFound("data: no data.csv in /x").ToString(), "data: no data.csv in /x");
}

TEST(StatusTest, CodeNamesAreLowerCaseWords) {
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "ok");
  EXPECT_EQ(StatusCodeName(StatusCode::kInvalidArgument), "invalid argument");
  EXPECT_EQ(StatusCodeName(StatusCode::kNotFound), "not found");
  EXPECT_EQ(StatusCodeName(StatusCode::kAlreadyExists), "already exists");
  EXPECT_EQ(StatusCodeName(StatusCode::kIoError), "io error");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnavailable), "unavailable");
  EXPECT_EQ(StatusCodeName(StatusCode::kDataError), "data error");
  EXPECT_EQ(StatusCodeName(StatusCode::kDeadlineExceeded), "deadline exceeded");
  EXPECT_EQ(StatusCodeName(StatusCode::kInternal), "internal");
}

TEST(StatusTest, WithPrefixPrependsPrefixAndKeepsCode) {
  Status s = Status::IoError("cannot open x.csv: No such file or directory").WithPrefix("data");
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_EQ(s.message(), "data: cannot open x.csv: No such file or directory");
  // Prefixes nest outermost-last.
  EXPECT_EQ(s.WithPrefix("eval").message(),
            "eval: data: cannot open x.csv: No such file or directory");
}

TEST(StatusTest, WithPrefixLeavesOkUntouched) {
  Status s = Status::Ok().WithPrefix("data");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(ResultTest, HoldsAValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
}

TEST(ResultTest, HoldsAnErrorStatus) {
  Result<int> r = Status::NotFound("data: no such case 'x'");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "data: no such case 'x'");
}

TEST(ResultTest, ValueOrGivesTheValueOrTheFallback) {
  const Result<std::string> good(std::string("held"));
  const Result<std::string> bad(Status::IoError("gone"));
  EXPECT_EQ(good.value_or("fallback"), "held");
  EXPECT_EQ(bad.value_or("fallback"), "fallback");
  EXPECT_EQ(Result<std::string>(std::string("moved")).value_or(""), "moved");
  EXPECT_EQ(Result<int>(Status::NotFound("x")).value_or(7), 7);
}

TEST(ResultTest, ArrowAndMutableValueReachTheHeldObject) {
  Result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3u);
  r.value() += "d";
  *r += "e";
  EXPECT_EQ(*r, "abcde");
}

TEST(ResultTest, MovesAMoveOnlyValueOut) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

Status FailIf(bool fail, int& calls) {
  ++calls;
  return fail ? Status::DataError("stats: step failed") : Status::Ok();
}

Status RunThreeSteps(bool fail_second, int& calls) {
  LLMRCA_RETURN_IF_ERROR(FailIf(false, calls));
  LLMRCA_RETURN_IF_ERROR(FailIf(fail_second, calls));
  LLMRCA_RETURN_IF_ERROR(FailIf(false, calls));
  return Status::Ok();
}

TEST(StatusMacroTest, ReturnIfErrorPassesOkThrough) {
  int calls = 0;
  EXPECT_TRUE(RunThreeSteps(false, calls).ok());
  EXPECT_EQ(calls, 3);
}

TEST(StatusMacroTest, ReturnIfErrorStopsAtTheFirstError) {
  int calls = 0;
  Status s = RunThreeSteps(true, calls);
  EXPECT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_EQ(s.message(), "stats: step failed");
  EXPECT_EQ(calls, 2);  // the third step never ran
}

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("half: " + std::to_string(x) + " is odd");
  return x / 2;
}

// Halves twice, declaring one variable and assigning an existing one through the macro.
Result<int> Quarter(int x) {
  LLMRCA_ASSIGN_OR_RETURN(int half, Half(x));
  int quarter = 0;
  LLMRCA_ASSIGN_OR_RETURN(quarter, Half(half));
  return quarter;
}

TEST(StatusMacroTest, AssignOrReturnAssignsTheValue) {
  Result<int> r = Quarter(12);  // 12 / 2 = 6, 6 / 2 = 3
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
}

TEST(StatusMacroTest, AssignOrReturnPropagatesTheInnerError) {
  Result<int> r = Quarter(6);  // 6 / 2 = 3, then 3 is odd
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "half: 3 is odd");
}

Result<std::unique_ptr<int>> MakeBox(int v) { return std::make_unique<int>(v); }

Status UnboxInto(int& out) {
  LLMRCA_ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(9));
  out = *box;
  return Status::Ok();
}

TEST(StatusMacroTest, AssignOrReturnMovesMoveOnlyValues) {
  int out = 0;
  EXPECT_TRUE(UnboxInto(out).ok());
  EXPECT_EQ(out, 9);
}

TEST(ResultDeathTest, ValueOfAnErrorAborts) {
  Result<int> r = Status::NotFound("gone");
  EXPECT_DEATH((void)r.value(), "value\\(\\) of a failed Result: gone");
}

TEST(ResultDeathTest, ConstructingFromOkStatusAborts) {
  EXPECT_DEATH((void)Result<int>(Status::Ok()), "Result constructed from an OK Status");
}

}  // namespace
}  // namespace llmrca
