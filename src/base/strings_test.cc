#include "base/strings.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca {
namespace {

using Pieces = std::vector<std::string>;

TEST(SplitTest, KeepsEmptyPieces) {
  EXPECT_EQ(Split("a,,b", ','), (Pieces{"a", "", "b"}));
  EXPECT_EQ(Split(",a,", ','), (Pieces{"", "a", ""}));
  EXPECT_EQ(Split(",", ','), (Pieces{"", ""}));
}

TEST(SplitTest, TextWithoutSeparatorIsOnePiece) {
  EXPECT_EQ(Split("ray-head", '_'), (Pieces{"ray-head"}));
  EXPECT_EQ(Split("", ','), (Pieces{""}));
}

TEST(SplitTest, SplitsAtEverySeparator) {
  EXPECT_EQ(Split("svc_fault_extra", '_'), (Pieces{"svc", "fault", "extra"}));
}

TEST(TrimTest, RemovesSpacesTabsAndLineEndsOnBothSides) {
  EXPECT_EQ(Trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(Trim("x"), "x");
  EXPECT_EQ(Trim("x \n"), "x");
}

TEST(TrimTest, AllWhitespaceBecomesEmpty) {
  EXPECT_EQ(Trim(" \t\r\n "), "");
  EXPECT_EQ(Trim(""), "");
}

TEST(JoinTest, PutsTheSeparatorOnlyBetweenParts) {
  EXPECT_EQ(Join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(Join({"a"}, ", "), "a");
  EXPECT_EQ(Join({}, ", "), "");
  EXPECT_EQ(Join({"", ""}, "/"), "/");
}

TEST(ParseDoubleTest, ParsesPlainNumbersAfterTrimming) {
  EXPECT_EQ(ParseDouble("1.5"), 1.5);
  EXPECT_EQ(ParseDouble("  -2.25 \n"), -2.25);
  EXPECT_EQ(ParseDouble("1e3"), 1000.0);
  EXPECT_EQ(ParseDouble("0"), 0.0);
  EXPECT_EQ(ParseDouble("1700000285"), 1700000285.0);
}

TEST(ParseDoubleTest, AcceptsOneLeadingPlus) {
  EXPECT_EQ(ParseDouble("+3"), 3.0);
  EXPECT_EQ(ParseDouble(" +0.25"), 0.25);
}

TEST(ParseDoubleTest, RejectsTrailingJunk) {
  EXPECT_EQ(ParseDouble("1.5x"), std::nullopt);
  EXPECT_EQ(ParseDouble("1 2"), std::nullopt);
  EXPECT_EQ(ParseDouble("3,5"), std::nullopt);
  EXPECT_EQ(ParseDouble("12abc"), std::nullopt);
}

TEST(ParseDoubleTest, RejectsEmptyTextAndSignsAlone) {
  EXPECT_EQ(ParseDouble(""), std::nullopt);
  EXPECT_EQ(ParseDouble("   "), std::nullopt);
  EXPECT_EQ(ParseDouble("+"), std::nullopt);
  EXPECT_EQ(ParseDouble("-"), std::nullopt);
  EXPECT_EQ(ParseDouble("abc"), std::nullopt);
}

TEST(ParseDoubleTest, RejectsTwoSigns) {
  EXPECT_EQ(ParseDouble("+-5"), std::nullopt);
  EXPECT_EQ(ParseDouble("++5"), std::nullopt);
  EXPECT_EQ(ParseDouble("--5"), std::nullopt);
}

TEST(ParseIntTest, ParsesIntegersAfterTrimming) {
  EXPECT_EQ(ParseInt("42"), 42);
  EXPECT_EQ(ParseInt(" -7 "), -7);
  EXPECT_EQ(ParseInt("+8"), 8);
  EXPECT_EQ(ParseInt("9223372036854775807"), std::numeric_limits<int64_t>::max());
}

TEST(ParseIntTest, RejectsTrailingJunkAndDecimals) {
  EXPECT_EQ(ParseInt("4.2"), std::nullopt);
  EXPECT_EQ(ParseInt("12abc"), std::nullopt);
  EXPECT_EQ(ParseInt("1e3"), std::nullopt);
  EXPECT_EQ(ParseInt(""), std::nullopt);
  EXPECT_EQ(ParseInt("+"), std::nullopt);
  EXPECT_EQ(ParseInt("+-5"), std::nullopt);
}

TEST(ParseIntTest, RejectsOutOfRangeValues) {
  // int64 max is 9223372036854775807; one more does not fit.
  EXPECT_EQ(ParseInt("9223372036854775808"), std::nullopt);
}

TEST(EditDistanceTest, MatchesHandCountedEdits) {
  // kitten -> sitten (substitute k/s) -> sittin (e/i) -> sitting (insert g): 3.
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
  // flaw -> law (delete f) -> lawn (insert n): 2.
  EXPECT_EQ(EditDistance("flaw", "lawn"), 2);
  // pc_pagrank -> pc_pagerank: insert one 'e'.
  EXPECT_EQ(EditDistance("pc_pagrank", "pc_pagerank"), 1);
  // nsgima -> nsigma: the swapped g/i are two substitutions.
  EXPECT_EQ(EditDistance("nsgima", "nsigma"), 2);
}

TEST(EditDistanceTest, EmptyAndEqualStrings) {
  EXPECT_EQ(EditDistance("", ""), 0);
  EXPECT_EQ(EditDistance("", "abc"), 3);
  EXPECT_EQ(EditDistance("abc", ""), 3);
  EXPECT_EQ(EditDistance("baro", "baro"), 0);
}

TEST(EditDistanceTest, IsSymmetric) {
  EXPECT_EQ(EditDistance("sitting", "kitten"), 3);
  EXPECT_EQ(EditDistance("lawn", "flaw"), 2);
}

TEST(SuggestClosestTest, SuggestsTheNearestPlausibleTypo) {
  const std::vector<std::string> names = {"baro", "nsigma", "pc_pagerank"};
  EXPECT_EQ(SuggestClosest("pc_pagrank", names), "pc_pagerank");  // distance 1
  EXPECT_EQ(SuggestClosest("nsgima", names), "nsigma");           // distance 2 <= max(2, 6 / 3)
  EXPECT_EQ(SuggestClosest("bar", names), "baro");                // distance 1
}

TEST(SuggestClosestTest, SuggestsACandidateThatStartsWithTheName) {
  // "pc" -> "pc_pagerank" is 9 insertions, but a prefix counts as a plausible abbreviation.
  EXPECT_EQ(SuggestClosest("pc", {"baro", "pc_pagerank"}), "pc_pagerank");
}

TEST(SuggestClosestTest, SuggestsNothingWhenEverythingIsFar) {
  // "granger" is 6 edits from "baro" and from "nsigma"; the limit is max(2, 7 / 3) = 2.
  EXPECT_EQ(SuggestClosest("granger", {"baro", "nsigma"}), "");
  EXPECT_EQ(SuggestClosest("x", {}), "");
}

TEST(SuggestClosestTest, BreaksTiesByCandidateOrder) {
  // "ab" is one substitution from both; the first listed wins.
  EXPECT_EQ(SuggestClosest("ab", {"ax", "ay"}), "ax");
  EXPECT_EQ(SuggestClosest("ab", {"ay", "ax"}), "ay");
}

TEST(DidYouMeanTest, FormatsTheSuggestionOrNothing) {
  EXPECT_EQ(DidYouMean("windw", {"fill", "window"}), "; did you mean 'window'?");
  EXPECT_EQ(DidYouMean("zzzzzzzz", {"fill", "window"}), "");
}

}  // namespace
}  // namespace llmrca
