#include "data/csv.h"

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "data/testing/temp_dir.h"

namespace llmrca::data {
namespace {

using ::llmrca::testutil::TempDir;

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<double> ToVector(std::span<const double> s) { return {s.begin(), s.end()}; }

// Parses `text` as "m.csv" and expects success.
Frame MustParse(std::string_view text, const CsvReadOptions& options = {}) {
  Result<Frame> r = ParseMetricsCsv(text, "m.csv", options);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : Frame();
}

// Parses `text` as "m.csv" and returns the error message (kDataError expected).
std::string ParseError(std::string_view text, const CsvReadOptions& options = {}) {
  Result<Frame> r = ParseMetricsCsv(text, "m.csv", options);
  if (r.ok()) return "unexpectedly parsed";
  EXPECT_EQ(r.status().code(), StatusCode::kDataError) << r.status().message();
  return r.status().message();
}

TEST(CsvTest, ReadsTimeNamesAndValues) {
  Frame f = MustParse(
      "time,ray-head_ctn_cpu,ray-head_latency\n"
      "1700000000,0.5,200\n"
      "1700000005,0.75,210.25\n"
      "1700000010,1,190\n");
  ASSERT_EQ(f.NumRows(), 3);
  ASSERT_EQ(f.NumCols(), 2);
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"ray-head_ctn_cpu", "ray-head_latency"}));
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{1700000000, 1700000005, 1700000010}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{0.5, 0.75, 1}));
  EXPECT_EQ(ToVector(f.Column(1)), (std::vector<double>{200, 210.25, 190}));
}

TEST(CsvTest, TimeColumnMayComeAnywhereAndBeCapitalized) {
  Frame f = MustParse("a,Time,b\n1,10,2\n3,20,4\n");
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{10, 20}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{1, 3}));
  EXPECT_EQ(ToVector(f.Column(1)), (std::vector<double>{2, 4}));
}

TEST(CsvTest, ReadsALastLineWithoutLineEnd) {
  Frame f = MustParse("time,a\n1,2\n3,4");
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{1, 3}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{2, 4}));
}

TEST(CsvTest, HeaderAloneGivesZeroRows) {
  Frame f = MustParse("time,a,b\n");
  EXPECT_EQ(f.NumRows(), 0);
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"a", "b"}));
}

TEST(CsvTest, RejectsRaggedRowWithTooFewCellsNamingLineAndColumn) {
  // Line 3 stops after 2 cells: column 3 ('b') is missing.
  EXPECT_EQ(ParseError("time,a,b\n1,2,3\n4,5\n"),
            "data: m.csv:3: column 3 ('b'): ragged row: 2 cells, header has 3");
}

TEST(CsvTest, RejectsRaggedRowWithTooManyCellsNamingLineAndColumn) {
  // Line 2 has a 4th cell where the header has 3 columns.
  EXPECT_EQ(ParseError("time,a,b\n1,2,3,4\n"),
            "data: m.csv:2: column 4: ragged row: 4 cells, header has 3");
  EXPECT_EQ(ParseError("time,a,b\n1,2,3\n2,3,4,,\n"),
            "data: m.csv:3: column 4: ragged row: 5 cells, header has 3");
}

TEST(CsvTest, RejectsNonNumericCellNamingLineColumnNumberAndName) {
  EXPECT_EQ(ParseError("time,a,b\n1,2,3\n2,abc,4\n"),
            "data: m.csv:3: column 2 ('a'): non-numeric cell 'abc'");
  EXPECT_EQ(ParseError("time,a,b\n1,2,3x\n"),
            "data: m.csv:2: column 3 ('b'): non-numeric cell '3x'");
  EXPECT_EQ(ParseError("time,a\n1, 1.5 2 \n"),
            "data: m.csv:2: column 2 ('a'): non-numeric cell '1.5 2'");
}

TEST(CsvTest, RejectsTwoSignsInACell) {
  EXPECT_EQ(ParseError("time,a\n1,+-5\n"), "data: m.csv:2: column 2 ('a'): non-numeric cell '+-5'");
  EXPECT_EQ(ParseError("time,a\n1,++5\n"), "data: m.csv:2: column 2 ('a'): non-numeric cell '++5'");
}

TEST(CsvTest, RejectsMissingTimeColumn) {
  EXPECT_EQ(ParseError("timestamp,a\n1,2\n"), "data: m.csv:1: no 'time' column in header");
}

TEST(CsvTest, RejectsEmptyFile) {
  EXPECT_EQ(ParseError(""), "data: m.csv:1: empty file: no header line");
  // Only blank lines: the header would be on line 3.
  EXPECT_EQ(ParseError("\n\r\n"), "data: m.csv:3: empty file: no header line");
}

TEST(CsvTest, RejectsDuplicateColumnNameNamingColumn) {
  EXPECT_EQ(ParseError("time,a,b,a\n1,2,3,4\n"),
            "data: m.csv:1: column 4: duplicate column name 'a'");
}

TEST(CsvTest, RejectsASecondTimeColumn) {
  EXPECT_EQ(ParseError("time,a,time\n1,2,1\n"),
            "data: m.csv:1: column 3: duplicate column name 'time'");
}

TEST(CsvTest, RejectsDecreasingTimeNamingLine) {
  EXPECT_EQ(ParseError("time,a\n1,0\n2,0\n1,0\n"),
            "data: m.csv:4: column 1 ('time'): time 1 is earlier than the previous row's 2");
}

TEST(CsvTest, AcceptsRepeatedTime) {
  Frame f = MustParse("time,a\n1,0\n1,5\n2,0\n");
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{1, 1, 2}));
}

TEST(CsvTest, RejectsEmptyOrNanTimeNamingTheTimeColumn) {
  EXPECT_EQ(ParseError("time,a\n,1\n"), "data: m.csv:2: column 1 ('time'): empty or NaN time");
  EXPECT_EQ(ParseError("time,a\n1,1\nnan,1\n"),
            "data: m.csv:3: column 1 ('time'): empty or NaN time");
  EXPECT_EQ(ParseError("a,time\n1, \n"), "data: m.csv:2: column 2 ('time'): empty or NaN time");
}

TEST(CsvTest, RejectsInfiniteTime) {
  EXPECT_EQ(ParseError("time,a\ninf,1\n"), "data: m.csv:2: column 1 ('time'): infinite time");
}

TEST(CsvTest, RejectsNonNumericTime) {
  EXPECT_EQ(ParseError("time,a\n2024-01-01,1\n"),
            "data: m.csv:2: column 1 ('time'): non-numeric cell '2024-01-01'");
}

TEST(CsvTest, ReadsQuotedCellsAndHeaderNames) {
  // "" inside a quoted header name is one quote; spaces may surround a quoted cell.
  Frame f = MustParse("\"time\",\"svc_a \"\"x\"\"\",b\n\"1\", \"2.5\" ,3\n");
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"svc_a \"x\"", "b"}));
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{1}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{2.5}));
  EXPECT_EQ(ToVector(f.Column(1)), (std::vector<double>{3}));
}

TEST(CsvTest, QuotedEmptyCellIsNan) {
  Frame f = MustParse("time,a\n1,\"\"\n");
  ASSERT_EQ(f.NumRows(), 1);
  EXPECT_TRUE(std::isnan(f.Column(0)[0]));
}

TEST(CsvTest, RejectsQuotedNonNumericCell) {
  EXPECT_EQ(ParseError("time,a\n1,\"n/a\"\n"),
            "data: m.csv:2: column 2 ('a'): non-numeric cell 'n/a'");
}

TEST(CsvTest, RejectsTextAfterAClosingQuote) {
  EXPECT_EQ(ParseError("time,a\n1,\"2\"x\n"),
            "data: m.csv:2: column 2 ('a'): text after the closing quote");
  // Without the check the '3' would be taken for a delimiter and "3,4" for another row.
  EXPECT_EQ(ParseError("time,a\n1,\"2\"3,4\n"),
            "data: m.csv:2: column 2 ('a'): text after the closing quote");
}

TEST(CsvTest, RejectsUnterminatedQuotedCell) {
  EXPECT_EQ(ParseError("time,a\n1,\"2\n"),
            "data: m.csv:2: column 2 ('a'): unterminated quoted cell");
}

TEST(CsvTest, AcceptsCrlfLineEnds) {
  Frame f = MustParse("time,a\r\n1,2\r\n3,4\r\n");
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{1, 3}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{2, 4}));
}

TEST(CsvTest, CountsCrlfLinesOnceInErrors) {
  EXPECT_EQ(ParseError("time,a\r\n1,2\r\n3,x\r\n"),
            "data: m.csv:3: column 2 ('a'): non-numeric cell 'x'");
}

TEST(CsvTest, AcceptsLoneCarriageReturnLineEnds) {
  // Old Mac line ends: every row must still land in its own slot.
  Frame f = MustParse("time,a,b\r1,2,3\r4,5,6\r7,8,9\r");
  ASSERT_EQ(f.NumRows(), 3);
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{1, 4, 7}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{2, 5, 8}));
  EXPECT_EQ(ToVector(f.Column(1)), (std::vector<double>{3, 6, 9}));
}

TEST(CsvTest, SkipsAUtf8ByteOrderMark) {
  Frame f = MustParse("\xEF\xBB\xBFtime,a\n1,2\n");
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{1}));
}

TEST(CsvTest, SkipsBlankLinesAndKeepsCountingThem) {
  Frame f = MustParse("\ntime,a\n\n1,2\n\r\n\n3,4\n\n");
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{1, 3}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{2, 4}));
  // Header on line 1, blank line 2, row line 3, blank line 4, bad row on line 5.
  EXPECT_EQ(ParseError("time,a\n\n1,2\n\n3,x\n"),
            "data: m.csv:5: column 2 ('a'): non-numeric cell 'x'");
}

TEST(CsvTest, EmptyCellIsNan) {
  Frame f = MustParse("time,a,b,c\n1,,2,\n2,3,,4\n");
  ASSERT_EQ(f.NumRows(), 2);
  EXPECT_TRUE(std::isnan(f.Column(0)[0]));
  EXPECT_EQ(f.Column(0)[1], 3);
  EXPECT_EQ(f.Column(1)[0], 2);
  EXPECT_TRUE(std::isnan(f.Column(1)[1]));
  EXPECT_TRUE(std::isnan(f.Column(2)[0]));  // the last cell of the line is empty
  EXPECT_EQ(f.Column(2)[1], 4);
}

TEST(CsvTest, ReadsInfAndNanTextInAnyCase) {
  Frame f = MustParse("time,a\n1,inf\n2,-inf\n3,nan\n4,Infinity\n5,-INF\n6,NaN\n7,+inf\n");
  ASSERT_EQ(f.NumRows(), 7);
  std::span<const double> a = f.Column(0);
  EXPECT_EQ(a[0], kInf);
  EXPECT_EQ(a[1], -kInf);
  EXPECT_TRUE(std::isnan(a[2]));
  EXPECT_EQ(a[3], kInf);
  EXPECT_EQ(a[4], -kInf);
  EXPECT_TRUE(std::isnan(a[5]));
  EXPECT_EQ(a[6], kInf);
}

TEST(CsvTest, OutOfRangeNumbersBecomeInfinityOrZero) {
  // As strtod (and pandas) do: overflow gives +-inf, underflow below the smallest denormal 0.
  Frame f = MustParse("time,a\n1,1e999\n2,-1e999\n3,1e-999\n");
  std::span<const double> a = f.Column(0);
  EXPECT_EQ(a[0], kInf);
  EXPECT_EQ(a[1], -kInf);
  EXPECT_EQ(a[2], 0.0);
}

TEST(CsvTest, ParsesNumbersToTheSameDoublesAsTheCompiler) {
  // The expected values are C++ literals, converted by the compiler (correctly rounded), which
  // is what from_chars must give too, whichever internal path a cell takes.
  Frame f = MustParse(
      "time,a\n"
      "1,0.1\n"
      "2,123456.789012\n"
      "3,1.000191\n"
      "4,-0.3\n"
      "5,9007199254740993\n"  // 2^53 + 1: not a double; rounds to even, 2^53
      "6,12345678901234567890\n"
      "7,1.5e3\n"
      "8,.5\n"
      "9,5.\n"
      "10,0.30000000000000004\n"
      "11,-0\n");
  ASSERT_EQ(f.NumRows(), 11);
  std::span<const double> a = f.Column(0);
  EXPECT_EQ(a[0], 0.1);
  EXPECT_EQ(a[1], 123456.789012);
  EXPECT_EQ(a[2], 1.000191);
  EXPECT_EQ(a[3], -0.3);
  EXPECT_EQ(a[4], 9007199254740992.0);
  EXPECT_EQ(a[5], 12345678901234567890.0);
  EXPECT_EQ(a[6], 1500.0);
  EXPECT_EQ(a[7], 0.5);
  EXPECT_EQ(a[8], 5.0);
  EXPECT_EQ(a[9], 0.30000000000000004);
  EXPECT_EQ(a[10], 0.0);
  EXPECT_TRUE(std::signbit(a[10]));  // "-0" keeps its sign, as strtod does
}

TEST(CsvTest, AcceptsALeadingPlus) {
  Frame f = MustParse("time,a\n+1,+2.5\n2,+0\n");
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{1, 2}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{2.5, 0}));
}

TEST(CsvTest, AcceptsSpacesAndTabsAroundNumbers) {
  Frame f = MustParse("time , a\n 1 ,  2.5 \n\t2\t,\t-3\t\n");
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{1, 2}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{2.5, -3}));
}

TEST(CsvTest, SkipsUnnamedIndexColumnsWithoutParsingThem) {
  // pandas writes its index as "Unnamed: 0" or an empty header name.
  Frame f = MustParse("Unnamed: 0,time,a,\nrow-x,1,2,idx\nrow-y,2,3,idx\n");
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ToVector(f.Time()), (std::vector<double>{1, 2}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{2, 3}));
  Frame g = MustParse(",time,a\n0,1,2\n");
  EXPECT_EQ(g.Names(), (std::vector<std::string>{"a"}));
}

TEST(CsvTest, SkipsTheDuplicateTimeDotNColumn) {
  Frame f = MustParse("time,a,time.1\n1,2,1\n2,3,2\n");
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{2, 3}));
}

TEST(CsvTest, KeepColumnFilterLetsTextColumnsThroughUnparsed) {
  std::vector<std::string> asked;
  CsvReadOptions options;
  options.keep_column = [&](std::string_view name) {
    asked.emplace_back(name);
    return name.find("_pod_") == std::string_view::npos;
  };
  Frame f = MustParse(
      "time,x_pod_ip,x_ctn_cpu,y_pod_name\n"
      "1,10.0.0.1,0.5,\"pod-a, b\"\n"
      "2,10.0.0.2,0.75,pod-c\n",
      options);
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"x_ctn_cpu"}));
  EXPECT_EQ(ToVector(f.Column(0)), (std::vector<double>{0.5, 0.75}));
  // The filter sees every header name except the time column's, once.
  EXPECT_EQ(asked, (std::vector<std::string>{"x_pod_ip", "x_ctn_cpu", "y_pod_name"}));
}

TEST(CsvTest, WithoutAFilterATextColumnIsAnError) {
  EXPECT_EQ(ParseError("time,x_pod_ip\n1,10.0.0.1\n"),
            "data: m.csv:2: column 2 ('x_pod_ip'): non-numeric cell '10.0.0.1'");
}

TEST(CsvTest, LineBreakInsideASkippedQuotedCellCountsAsALine) {
  CsvReadOptions options;
  options.keep_column = [](std::string_view name) { return name != "x_pod_name"; };
  // The quoted cell spans lines 2-3, so the bad cell is on line 4.
  EXPECT_EQ(ParseError("time,x_pod_name,a\n1,\"multi\nline\",2\n3,p,x\n", options),
            "data: m.csv:4: column 3 ('a'): non-numeric cell 'x'");
}

TEST(CsvTest, FilteredOutDuplicateNamesAreNotAnError) {
  CsvReadOptions options;
  options.keep_column = [](std::string_view name) { return name != "a"; };
  Frame f = MustParse("time,a,b,a\n1,2,3,4\n", options);
  EXPECT_EQ(f.Names(), (std::vector<std::string>{"b"}));
}

TEST(CsvTest, ReadsAFileAndNamesItsPathInErrors) {
  TempDir dir;
  const auto good = dir.WriteFile("case/data.csv", "time,a\n1,2\n2,3\n");
  Result<Frame> f = ReadMetricsCsv(good);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(ToVector(f->Column(0)), (std::vector<double>{2, 3}));

  const auto bad = dir.WriteFile("case/bad.csv", "time,a\n1,2\n2\n");
  Result<Frame> r = ReadMetricsCsv(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_EQ(r.status().message(),
            "data: " + bad.string() + ":3: column 2 ('a'): ragged row: 1 cells, header has 2");
}

TEST(CsvTest, MissingFileIsAnIoErrorNamingThePath) {
  TempDir dir;
  const auto missing = dir.path() / "nope.csv";
  Result<Frame> r = ReadMetricsCsv(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_EQ(r.status().message(),
            "data: cannot open " + missing.string() + ": No such file or directory");
}

TEST(CsvTest, DirectoryPathIsAnIoError) {
  TempDir dir;
  const auto sub = dir.MakeDir("data.csv");
  Result<Frame> r = ReadMetricsCsv(sub);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_EQ(r.status().message(), "data: cannot read " + sub.string() + ": is a directory");
}

TEST(ReadFileToStringTest, ReturnsTheExactBytes) {
  TempDir dir;
  const std::string bytes("a\0b\r\n\xEF\xBB\xBF", 8);
  const auto file = dir.WriteFile("bytes.bin", bytes);
  Result<std::string> r = ReadFileToString(file);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, bytes);
  const auto empty = dir.WriteFile("empty.txt", "");
  EXPECT_EQ(*ReadFileToString(empty), "");
}

TEST(ReadFileToStringTest, ReadsFilesLargerThanOneChunk) {
  TempDir dir;
  const std::string big(200000, 'x');  // larger than the 64 KiB growth step
  EXPECT_EQ(*ReadFileToString(dir.WriteFile("big.txt", big)), big);
}

TEST(ReadFileToStringTest, MissingFileIsAnIoErrorWithoutAreaPrefix) {
  TempDir dir;
  Result<std::string> r = ReadFileToString(dir.path() / "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_EQ(r.status().message(),
            "cannot open " + (dir.path() / "x").string() + ": No such file or directory");
}

}  // namespace
}  // namespace llmrca::data
