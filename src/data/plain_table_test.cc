#include "data/plain_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace llmrca::data {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PlainTableTest, DetectsCommasTabsAndSpaces) {
  for (const char* text : {"a,b,c\n1,2,3\n4,5,6\n", "a\tb\tc\n1\t2\t3\n4\t5\t6\n",
                           "a  b c\n 1 2   3\n4 5 6\n"}) {
    Result<PlainTable> t = ParsePlainTable(text, "t");
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_THAT(t->names, ElementsAre("a", "b", "c"));
    ASSERT_EQ(t->values.rows(), 2);
    EXPECT_DOUBLE_EQ(t->values(1, 2), 6);
    EXPECT_DOUBLE_EQ(t->values(0, 1), 2);
  }
}

TEST(PlainTableTest, AcceptsQuotedNamesCrlfAndBlankLines) {
  Result<PlainTable> t = ParsePlainTable("\"x\",\"y\"\r\n\r\n1.5,-2\r\n", "t");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_THAT(t->names, ElementsAre("x", "y"));
  EXPECT_DOUBLE_EQ(t->values(0, 0), 1.5);
  EXPECT_DOUBLE_EQ(t->values(0, 1), -2);
}

TEST(PlainTableTest, ErrorsNameFileLineAndColumn) {
  Result<PlainTable> ragged = ParsePlainTable("a,b\n1,2\n3\n", "f.csv");
  EXPECT_TRUE(ragged.status().IsDataError());
  EXPECT_THAT(ragged.status().message(), HasSubstr("f.csv:3: ragged row: 1 cells, header has 2"));
  Result<PlainTable> text = ParsePlainTable("a,b\n1,x\n", "f.csv");
  EXPECT_THAT(text.status().message(), HasSubstr("f.csv:2: column 2 ('b'): non-numeric cell 'x'"));
  EXPECT_TRUE(ParsePlainTable("", "f.csv").status().IsDataError());
  EXPECT_TRUE(ParsePlainTable("a,b\n", "f.csv").status().IsDataError());
  EXPECT_TRUE(ReadPlainTable("/nonexistent/table.csv").status().IsIoError());
}

}  // namespace
}  // namespace llmrca::data
