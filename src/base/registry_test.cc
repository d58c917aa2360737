#include "base/registry.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca {
namespace {

// A fake plugin entry: Registry only needs the `name` member.
struct FakeEntry {
  std::string_view name;
  int id = 0;
};

std::vector<std::string_view> ListedNames(const Registry<FakeEntry>& registry) {
  std::vector<std::string_view> out;
  for (const FakeEntry* e : registry.List()) out.push_back(e->name);
  return out;
}

TEST(RegistryTest, ListsEntriesSortedByNameWhateverTheInsertionOrder) {
  Registry<FakeEntry> registry("method");
  ASSERT_TRUE(registry.Add({"pc_pagerank", 1}).ok());
  ASSERT_TRUE(registry.Add({"baro", 2}).ok());
  ASSERT_TRUE(registry.Add({"nsigma", 3}).ok());
  ASSERT_TRUE(registry.Add({"dummy", 4}).ok());
  EXPECT_EQ(ListedNames(registry),
            (std::vector<std::string_view>{"baro", "dummy", "nsigma", "pc_pagerank"}));
  EXPECT_EQ(registry.Names(), (std::vector<std::string>{"baro", "dummy", "nsigma", "pc_pagerank"}));
  EXPECT_EQ(registry.size(), 4u);
}

TEST(RegistryTest, FindsARegisteredEntry) {
  Registry<FakeEntry> registry("method");
  ASSERT_TRUE(registry.Add({"baro", 2}).ok());
  ASSERT_TRUE(registry.Add({"nsigma", 3}).ok());
  Result<const FakeEntry*> found = registry.Find("nsigma");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)->id, 3);
  EXPECT_TRUE(registry.Contains("baro"));
  EXPECT_FALSE(registry.Contains("bar"));
}

TEST(RegistryTest, RejectsADuplicateNameAndKeepsTheFirstEntry) {
  Registry<FakeEntry> registry("method");
  ASSERT_TRUE(registry.Add({"baro", 1}).ok());
  Status s = registry.Add({"baro", 2});
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "method registry: 'baro' is already registered");
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_EQ((*registry.Find("baro"))->id, 1);
}

TEST(RegistryTest, RejectsAnEmptyName) {
  Registry<FakeEntry> registry("fault kind");
  Status s = registry.Add({"", 1});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "fault kind registry: empty name");
  EXPECT_EQ(registry.size(), 0u);
}

TEST(RegistryTest, UnknownNameIsNotFoundWithDidYouMean) {
  Registry<FakeEntry> registry("method");
  ASSERT_TRUE(registry.Add({"baro", 1}).ok());
  ASSERT_TRUE(registry.Add({"pc_pagerank", 2}).ok());
  // "pc_pagrank" is one deletion away from "pc_pagerank".
  Result<const FakeEntry*> r = registry.Find("pc_pagrank");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "unknown method 'pc_pagrank'; did you mean 'pc_pagerank'?");
}

TEST(RegistryTest, UnknownNameFarFromEveryEntryHasNoSuggestion) {
  Registry<FakeEntry> registry("method");
  ASSERT_TRUE(registry.Add({"baro", 1}).ok());
  // "granger" vs "baro": 6 edits, above the limit max(2, 7 / 3) = 2.
  Result<const FakeEntry*> r = registry.Find("granger");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "unknown method 'granger'");
}

TEST(RegistryTest, EmptyRegistryListsNothingAndFindsNothing) {
  Registry<FakeEntry> registry("reporter");
  EXPECT_TRUE(registry.List().empty());
  EXPECT_TRUE(registry.Names().empty());
  Result<const FakeEntry*> r = registry.Find("json");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "unknown reporter 'json'");
}

}  // namespace
}  // namespace llmrca
