#include "chaos/cgroup.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace llmrca::chaos {
namespace {

namespace fs = std::filesystem;

// A fake machine: /proc and cgroupfs files under a temporary root.
class FakeRoot {
 public:
  FakeRoot() {
    root_ = fs::temp_directory_path() /
            ("llmrca_cgroup_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  ~FakeRoot() { fs::remove_all(root_); }
  void Write(const std::string& path, const std::string& text) {
    const fs::path p = root_ / path.substr(1);
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string root() const { return root_.string(); }

 private:
  fs::path root_;
};

TEST(CgroupTest, FindsAContainersCgroupOnAV2Node) {
  FakeRoot f;
  f.Write("/proc/self/mountinfo",
          "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
          "30 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n");
  f.Write("/proc/42/cgroup", "0::/kubepods.slice/pod1/cri-abc\n");
  const std::string dir = "/sys/fs/cgroup/kubepods.slice/pod1/cri-abc";
  f.Write(dir + "/cgroup.controllers", "cpuset cpu io memory pids\n");
  f.Write(dir + "/cgroup.procs", "42\n");
  auto cpu = CgroupOf(42, "cpu", f.root());
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
  EXPECT_EQ(cpu->version, CgroupVersion::kV2);
  EXPECT_EQ(cpu->path, f.root() + dir);
  EXPECT_EQ(cpu->procs_file(), f.root() + dir + "/cgroup.procs");
  EXPECT_EQ(CgroupOf(42, "rdma", f.root()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(CgroupOf(43, "cpu", f.root()).status().code(), StatusCode::kNotFound);
  auto at = CgroupAt(f.root() + dir);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->version, CgroupVersion::kV2);
  EXPECT_FALSE(at->is_root);
  // v1's blkio is v2's io; v2's freezer is the cgroup.freeze file of any non-root cgroup.
  auto io = CgroupOf(42, "blkio", f.root());
  ASSERT_TRUE(io.ok()) << io.status().ToString();
  EXPECT_EQ(io->path, f.root() + dir);
  EXPECT_EQ(CgroupOf(42, "freezer", f.root()).status().code(), StatusCode::kNotFound);
  f.Write(dir + "/cgroup.freeze", "0\n");
  auto freezer = CgroupOf(42, "freezer", f.root());
  ASSERT_TRUE(freezer.ok()) << freezer.status().ToString();
  EXPECT_EQ(freezer->version, CgroupVersion::kV2);
  EXPECT_FALSE(freezer->is_root);
}

TEST(CgroupTest, FindsAContainerByItsIdAsEachRuntimeNamesIt) {
  FakeRoot f;
  f.Write("/proc/self/mountinfo",
          "30 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
  const std::string pod = "/sys/fs/cgroup/kubepods.slice/kubepods-pod1.slice";
  const std::string cri = pod + "/cri-containerd-0123456789abcdef0123.scope";
  const std::string docker = "/sys/fs/cgroup/system.slice/docker-fedcba9876543210aaaa.scope";
  const std::string crio = pod + "/crio-0123456789ab9999.scope";
  for (const std::string& d : {cri, docker, crio}) {
    f.Write(d + "/cgroup.controllers", "cpu io memory pids\n");
    f.Write(d + "/cgroup.procs", "");
  }
  f.Write(cri + "/cgroup.freeze", "0\n");
  auto c = CgroupOfContainer("0123456789abcdef", "cpu", f.root());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->path, f.root() + cri);
  EXPECT_EQ(c->version, CgroupVersion::kV2);
  auto d = CgroupOfContainer("fedcba987654", "blkio", f.root());  // io on v2
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->path, f.root() + docker);
  EXPECT_TRUE(CgroupOfContainer("0123456789abcdef", "freezer", f.root()).ok());
  EXPECT_EQ(CgroupOfContainer("fedcba987654", "freezer", f.root()).status().code(),
            StatusCode::kNotFound);  // no cgroup.freeze there
  const Status two = CgroupOfContainer("0123456789ab", "cpu", f.root()).status();
  EXPECT_EQ(two.code(), StatusCode::kInvalidArgument);  // cri-containerd and crio both match
  EXPECT_NE(two.message().find("matches 2 cgroups"), std::string::npos) << two.message();
  EXPECT_EQ(CgroupOfContainer("0123", "cpu", f.root()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CgroupOfContainer("not-hex-at-all-x", "cpu", f.root()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CgroupOfContainer("aaaaaaaaaaaa", "cpu", f.root()).status().code(), StatusCode::kNotFound);
}

TEST(CgroupTest, FallsBackToV1WhereTheUnifiedHierarchyLacksTheController) {
  // This build machine's layout: every controller on v1, the unified hierarchy without them.
  FakeRoot f;
  f.Write("/proc/self/mountinfo",
          "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
          "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
          "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
          "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
          "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
  f.Write("/proc/42/cgroup",
          "9:name=systemd:/\n4:memory:/process_api/bd25\n1:cpu:/\n0::/\n");
  f.Write("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
  f.Write("/sys/fs/cgroup/memory/process_api/bd25/cgroup.procs", "42\n");
  auto mem = CgroupOf(42, "memory", f.root());
  ASSERT_TRUE(mem.ok()) << mem.status().ToString();
  EXPECT_EQ(mem->version, CgroupVersion::kV1);
  EXPECT_EQ(mem->path, f.root() + "/sys/fs/cgroup/memory/process_api/bd25");
  auto cpu = CgroupOf(42, "cpu", f.root());
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->path, f.root() + "/sys/fs/cgroup/cpu");
  // Every hierarchy with a controller, the systemd-named one left out.
  auto all = V1CgroupsOf(42, f.root());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].path, f.root() + "/sys/fs/cgroup/memory/process_api/bd25");
  EXPECT_FALSE((*all)[0].is_root);
  EXPECT_EQ((*all)[1].path, f.root() + "/sys/fs/cgroup/cpu");
  EXPECT_TRUE((*all)[1].is_root);
  auto at = CgroupAt(f.root() + "/sys/fs/cgroup/memory/process_api/bd25");
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->version, CgroupVersion::kV1);
  EXPECT_EQ(CgroupAt(f.root() + "/sys/fs/cgroup/cpu").status().code(), StatusCode::kNotFound);
}

TEST(CgroupTest, MapsPathsThroughAMountOfASubtree) {
  // Inside a container: the hierarchy's /kubepods/pod1 is what is mounted.
  FakeRoot f;
  f.Write("/proc/self/mountinfo",
          "35 31 0:32 /kubepods/pod1 /sys/fs/cgroup/memory ro,relatime - cgroup cgroup rw,memory\n");
  f.Write("/proc/7/cgroup", "4:memory:/kubepods/pod1/ctr\n");
  auto mem = CgroupOf(7, "memory", f.root());
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->path, f.root() + "/sys/fs/cgroup/memory/ctr");
  const std::vector<CgroupMount> m = ParseCgroupMounts(
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "40 31 0:37 / /x rw - cgroup cgroup rw,name=systemd\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_TRUE(m[1].controllers.empty());
}

TEST(CgroupTest, FindsThisProcessOnThisMachine) {
  auto cpu = CgroupOf(::getpid(), "cpu");
  if (!cpu.ok()) GTEST_SKIP() << "no cpu controller here: " << cpu.status().ToString();
  std::ifstream procs(cpu->procs_file());
  ASSERT_TRUE(procs) << cpu->procs_file();
  std::stringstream text;
  text << procs.rdbuf();
  bool listed = false;
  std::string line;
  while (std::getline(text, line)) listed = listed || line == std::to_string(::getpid());
  EXPECT_TRUE(listed);
}

}  // namespace
}  // namespace llmrca::chaos
