#include "data/csv_writer.h"

#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/csv.h"
#include "data/testing/temp_dir.h"

namespace llmrca::data {
namespace {

using ::llmrca::testutil::TempDir;
using ::testing::HasSubstr;

TEST(FormatCsvNumberTest, UsesSevenSignificantDigits) {
  EXPECT_EQ(FormatCsvNumber(0), "0");
  EXPECT_EQ(FormatCsvNumber(-0.0), "0");
  EXPECT_EQ(FormatCsvNumber(1.5), "1.5");
  EXPECT_EQ(FormatCsvNumber(1234.56789), "1234.568");    // 7 significant digits, rounded
  EXPECT_EQ(FormatCsvNumber(123456789.0), "1.234568e+08");
  EXPECT_EQ(FormatCsvNumber(std::numeric_limits<double>::quiet_NaN()), "");
  EXPECT_EQ(FormatCsvNumber(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(FormatCsvNumber(-std::numeric_limits<double>::infinity()), "-inf");
}

TEST(CsvWriterTest, WritesWhatTheStrictReaderReadsBack) {
  TempDir dir;
  const auto path = dir.path() / "data.csv";
  CsvWriter w;
  ASSERT_TRUE(w.Open(path).ok());
  const std::vector<std::string> header = {"time", "a_x", "b_pod_ip", "c_y"};
  w.Row(header);
  w.Time(1700000000);
  w.Number(0.25);
  w.Text("10.0.0.1");
  w.Number(std::numeric_limits<double>::quiet_NaN());
  w.EndRow();
  w.Time(1700000005.5);
  w.Number(-3);
  w.Text("a,\"b\"");  // needs quoting
  w.Number(7);
  w.EndRow();
  ASSERT_TRUE(w.Close().ok());

  Result<std::string> text = ReadFileToString(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "time,a_x,b_pod_ip,c_y\n"
            "1700000000,0.25,10.0.0.1,\n"
            "1700000005.500000,-3,\"a,\"\"b\"\"\",7\n");
  CsvReadOptions options;
  options.keep_column = [](std::string_view name) { return name != "b_pod_ip"; };
  Result<Frame> frame = ReadMetricsCsv(path, options);
  ASSERT_TRUE(frame.ok()) << frame.status().message();
  ASSERT_EQ(frame->NumRows(), 2);
  EXPECT_DOUBLE_EQ(frame->Time()[1], 1700000005.5);
  EXPECT_DOUBLE_EQ(frame->Column(0)[1], -3);
  EXPECT_TRUE(std::isnan(frame->Column(1)[0]));
}

TEST(CsvWriterTest, OpenAndWriteFailuresNameThePath) {
  CsvWriter w;
  Status s = w.Open("/nonexistent-dir/x/data.csv");
  EXPECT_TRUE(s.IsIoError());
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent-dir/x/data.csv"));
  Status s2 = WriteStringToFile("/nonexistent-dir/x/report.csv", "x");
  EXPECT_TRUE(s2.IsIoError());
  EXPECT_THAT(s2.message(), HasSubstr("/nonexistent-dir/x/report.csv"));
}

TEST(CsvWriterTest, WriteStringToFileReplacesTheContent) {
  TempDir dir;
  const auto path = dir.path() / "f.txt";
  ASSERT_TRUE(WriteStringToFile(path, "first\n").ok());
  ASSERT_TRUE(WriteStringToFile(path, "second\n").ok());
  EXPECT_EQ(*ReadFileToString(path), "second\n");
}

}  // namespace
}  // namespace llmrca::data
