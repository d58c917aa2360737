#include "base/file.h"

#include <unistd.h>

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace llmrca {
namespace {

TEST(ReadFileToStringTest, ReadsAProcFileWhoseStatSizeIsZero) {
  // /proc files report size 0; the read must go on to end of file. /proc/self/stat starts with
  // this process's pid (proc(5)).
  Result<std::string> r = ReadFileToString("/proc/self/stat");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rfind(fmt::format("{} (", ::getpid()), 0), 0u) << *r;
  EXPECT_EQ(r->back(), '\n');
}

TEST(ReadFileToStringTest, NamesThePathOfAMissingFileOrADirectory) {
  Result<std::string> r = ReadFileToString("/proc/self/no-such-file");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find("/proc/self/no-such-file"), std::string::npos);
  r = ReadFileToString("/proc/self");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is a directory"), std::string::npos);
}

}  // namespace
}  // namespace llmrca
