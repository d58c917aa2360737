// End-to-end tests of `llmrca chaos`: each fault's effect measured on a target the test starts,
// its record, and its undo after a normal end, SIGTERM, and SIGKILL followed by `chaos recover`.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/subprocess.h"
#include "cli/cli_test_fixture.h"
#include "net/test_client.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using llmrca::cli_test::CliTest;
using llmrca::cli_test::ProcessEnded;
using llmrca::cli_test::ProcessState;

// Polls `done` every 10 ms for up to `ms`; its last answer.
bool WaitUntil(const std::function<bool()>& done, int ms = 5000) {
  for (int waited = 0; waited < ms; waited += 10) {
    if (done()) return true;
    usleep(10000);
  }
  return done();
}

// The exit status of a child within `ms`, or nothing.
std::optional<int> WaitExit(llmrca::Subprocess& p, int ms = 10000) {
  std::optional<int> code;
  WaitUntil([&] { return (code = p.Poll()).has_value(); }, ms);
  return code;
}

// The JSON records (one per line) of a file.
std::vector<nlohmann::json> Records(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

#ifdef LLMRCA_WITH_LOAD
TEST_F(CliTest, ChaosProxyDelaysAReplicaAndWritesItsRecordOnSigterm) {
  // The live demo's network fault: a chaos proxy adds 300 ms to everything a serve-sim engine
  // sends back. TTFT through the proxy must include it; the engine's own pace (TPOT) must not.
  auto engine = llmrca::cli_test::StartEngine();
  ASSERT_TRUE(engine);
  const std::string upstream = engine->address;  // 127.0.0.1:PORT
  const int port = llmrca::net::test_support::UnusedLoopbackPort();
  const fs::path record = tmp_ / "fault.json";
  auto proxy = llmrca::Subprocess::Start(
      {LLMRCA_BINARY, "chaos", "proxy", "--listen", fmt::format("127.0.0.1:{}", port),
       "--upstream", upstream, "--delay", "300", "--duration", "60", "--record", record.string()},
      [&] {
        llmrca::SubprocessOptions o;
        o.stderr_path = (tmp_ / "proxy.err").string();
        return o;
      }());
  ASSERT_TRUE(proxy.ok());
  for (int i = 0; i < 250 && Slurp(tmp_ / "proxy.err").find("listening") == std::string::npos; ++i) {
    usleep(20000);
  }
  Run r = Llmrca(fmt::format("load --url http://127.0.0.1:{} --provider vllm -u 2 -n 4 -p 64 -o 8 "
                             "--format json --progress off",
                             port));
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out)["overall"];
  EXPECT_EQ(j["completed"], 4);
  EXPECT_GE(j["distributions_ms"]["ttft"]["p50"].get<double>(), 300);
  // The engine's own pace: ~7 ms a token (chunks keep their spacing through the proxy).
  EXPECT_LT(j["distributions_ms"]["tpot"]["p50"].get<double>(), 100);
  ASSERT_EQ(kill(proxy->pid(), SIGTERM), 0);
  std::optional<int> code;
  for (int i = 0; i < 250 && !code; ++i) {
    code = proxy->Poll();
    if (!code) usleep(20000);
  }
  EXPECT_EQ(code, 0);
  const nlohmann::json rec = nlohmann::json::parse(Slurp(record));
  EXPECT_EQ(rec["type"], "delay");
  EXPECT_EQ(rec["outcome"], "stopped by signal");
  EXPECT_EQ(rec["params"]["latency_ms"], 300.0);
  EXPECT_GE(rec["params"]["connections"].get<double>(), 2);
  EXPECT_GT(rec["end"].get<double>(), rec["start"].get<double>());

  Run dry = Llmrca("chaos proxy --upstream 127.0.0.1:1 --delay 5 --duration 9 --dry-run");
  EXPECT_EQ(dry.code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("\"outcome\":\"dry run: nothing injected\""));
  EXPECT_EQ(Llmrca("chaos proxy --upstream 127.0.0.1:1 --delay 5").code, 2);  // no duration
  EXPECT_EQ(Llmrca("chaos proxy --upstream nowhere --duration 1").code, 2);
}

#endif  // LLMRCA_WITH_LOAD

TEST_F(CliTest, ChaosPauseSurvivesAKilledInjectorThroughRecover) {
  // A process paused by `chaos process` stays paused if the injector is SIGKILLed; `chaos
  // recover` reads the journal and resumes it.
  auto victim = llmrca::Subprocess::Start({"sleep", "30"});
  ASSERT_TRUE(victim.ok());
  const std::string journal = (tmp_ / "chaos.state").string();
  auto injector = llmrca::Subprocess::Start(
      {LLMRCA_BINARY, "chaos", "process", "--pid", std::to_string(victim->pid()), "--action",
       "pause", "--duration", "30", "--state", journal});
  ASSERT_TRUE(injector.ok());
  for (int i = 0; i < 250 && ProcessState(victim->pid()) != 'T'; ++i) usleep(20000);
  ASSERT_EQ(ProcessState(victim->pid()), 'T');
  ASSERT_EQ(kill(injector->pid(), SIGKILL), 0);
  injector->Stop(std::chrono::seconds(2));
  usleep(100000);
  EXPECT_EQ(ProcessState(victim->pid()), 'T');  // nobody resumed it
  Run r = Llmrca("chaos recover --state " + journal);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("resumed pid " + std::to_string(victim->pid())));
  for (int i = 0; i < 100 && ProcessState(victim->pid()) == 'T'; ++i) usleep(10000);
  EXPECT_NE(ProcessState(victim->pid()), 'T');
  EXPECT_THAT(Llmrca("chaos recover --state " + journal).out, HasSubstr("nothing to recover"));

  // A pause that runs its course resumes the process itself and says so in its record.
  Run pause = Llmrca(fmt::format("chaos process --pid {} --duration 0.3 --state {}",
                                 victim->pid(), journal));
  EXPECT_EQ(pause.code, 0) << pause.err;
  EXPECT_THAT(pause.out, HasSubstr("\"outcome\":\"completed\""));
  EXPECT_NE(ProcessState(victim->pid()), 'T');
  EXPECT_EQ(Llmrca("chaos process --pid 999999999 --duration 1").code, 1);
}

TEST_F(CliTest, ChaosCpuRunsItsStressorInsideTheTargetCgroup) {
  const std::string dir =
      "/sys/fs/cgroup/cpu/llmrca-cli-test-" + std::to_string(getpid());
  if (mkdir(dir.c_str(), 0755) != 0) GTEST_SKIP() << "cannot create a cpu cgroup here";
  auto injector = llmrca::Subprocess::Start(
      {LLMRCA_BINARY, "chaos", "cpu", "--cgroup", dir, "--workers", "1", "--load", "20",
       "--duration", "1.5", "--record", (tmp_ / "cpu.json").string(), "--state",
       (tmp_ / "chaos.state").string()});
  ASSERT_TRUE(injector.ok());
  bool member = false;
  for (int i = 0; i < 100 && !member; ++i) {
    member = !Slurp(fs::path(dir) / "cgroup.procs").empty();
    if (!member) usleep(10000);
  }
  std::optional<int> code;
  for (int i = 0; i < 300 && !code; ++i) {
    code = injector->Poll();
    if (!code) usleep(20000);
  }
  const bool empty_after = Slurp(fs::path(dir) / "cgroup.procs").empty();
  for (int i = 0; i < 200 && rmdir(dir.c_str()) != 0; ++i) usleep(5000);  // EBUSY until emptied
  EXPECT_NE(access(dir.c_str(), F_OK), 0) << dir << " was left behind";
  EXPECT_TRUE(member) << "the stressor never joined " << dir;
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(empty_after);  // the stressor is gone
  const nlohmann::json rec = nlohmann::json::parse(Slurp(tmp_ / "cpu.json"));
  EXPECT_EQ(rec["type"], "cpu");
  EXPECT_EQ(rec["outcome"], "completed");
  EXPECT_THAT(rec["target"].get<std::string>(), HasSubstr("(v1)"));
  EXPECT_GT(rec["params"]["cpu_seconds_measured"].get<double>(), 0.05);  // 20 % of 1.5 s: 0.3
}

TEST_F(CliTest, ChaosNetworkShapesOnlyTheNamedInterfaceInItsNamespace) {
  const std::string ns = "llmrca-cli-" + std::to_string(getpid());
  if (std::system(("ip netns add " + ns + " 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << "cannot create a network namespace here";
  }
  ASSERT_EQ(std::system(("ip -n " + ns + " link set lo up").c_str()), 0);
  const auto qdisc = [&] {
    const fs::path out = tmp_ / "qdisc";
    const int rc = std::system(
        fmt::format("ip netns exec {} tc qdisc show dev lo >'{}' 2>&1", ns, out.string()).c_str());
    return rc == 0 ? Slurp(out) : std::string("tc failed");
  };
  auto injector = llmrca::Subprocess::Start(
      {LLMRCA_BINARY, "chaos", "network", "--dev", "lo", "--netns", ns, "--rate", "1mbit",
       "--duration", "1", "--record", (tmp_ / "net.json").string(), "--state",
       (tmp_ / "chaos.state").string()});
  ASSERT_TRUE(injector.ok());
  bool shaped = false;
  for (int i = 0; i < 100 && !shaped; ++i) {
    shaped = qdisc().find("qdisc tbf") != std::string::npos;
    if (!shaped) usleep(10000);
  }
  std::optional<int> code;
  for (int i = 0; i < 300 && !code; ++i) {
    code = injector->Poll();
    if (!code) usleep(20000);
  }
  const std::string after = qdisc();
  Run netem = Llmrca("chaos network --dev lo --netns " + ns + " --delay 50 --duration 0.2 --state " +
                     (tmp_ / "chaos.state").string());
  EXPECT_EQ(std::system(("ip netns del " + ns).c_str()), 0);
  EXPECT_TRUE(shaped);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(after.find("tbf"), std::string::npos) << after;  // the default is back
  const nlohmann::json rec = nlohmann::json::parse(Slurp(tmp_ / "net.json"));
  EXPECT_EQ(rec["type"], "bandwidth");
  EXPECT_EQ(rec["outcome"], "completed");
  // netem works where the kernel has it; here it must fail naming what is missing.
  if (netem.code != 0) {
    EXPECT_THAT(netem.err, HasSubstr("no netem qdisc"));
    EXPECT_THAT(netem.err, HasSubstr("llmrca chaos proxy"));
  }
  EXPECT_EQ(Llmrca("chaos network --rate 1mbit --duration 1").code, 2);  // no interface named
}

TEST_F(CliTest, ChaosCpuRaisesTheTargetCgroupsOwnCpuAccounting) {
  // A sleeping target in a v1 cpu cgroup and a cpuacct cgroup of its own (as a container on a
  // v1 node is): the stressor joins both, so the target's cpuacct.usage, which the target alone
  // barely moves, rises by the stress: 30 % of 1 s of one worker is 0.3 CPU s.
  const std::string tag = "llmrca-cli-acct-" + std::to_string(getpid());
  const std::string cpu = "/sys/fs/cgroup/cpu/" + tag, acct = "/sys/fs/cgroup/cpuacct/" + tag;
  if (mkdir(cpu.c_str(), 0755) != 0) GTEST_SKIP() << "cannot create v1 cgroups here";
  if (mkdir(acct.c_str(), 0755) != 0) {
    rmdir(cpu.c_str());
    GTEST_SKIP() << "no separate v1 cpuacct hierarchy here";
  }
  auto target = llmrca::Subprocess::Start({"sleep", "30"});
  ASSERT_TRUE(target.ok());
  for (const std::string& dir : {cpu, acct}) {
    std::ofstream(dir + "/cgroup.procs") << target->pid();
  }
  const auto usage_s = [&] {
    const std::string ns = Slurp(acct + "/cpuacct.usage");
    return ns.empty() ? 0.0 : std::stod(ns) / 1e9;
  };
  const double before = usage_s();
  Run r = Llmrca(fmt::format("chaos cpu --pid {} --workers 1 --load 30 --duration 1 --state {}",
                             target->pid(), (tmp_ / "j").string()));
  const double risen = usage_s() - before;
  target->Stop(std::chrono::seconds(1));
  for (const std::string& dir : {cpu, acct}) {
    for (int i = 0; i < 200 && rmdir(dir.c_str()) != 0; ++i) usleep(5000);
    EXPECT_NE(access(dir.c_str(), F_OK), 0) << dir << " was left behind";
  }
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"other_cgroups_joined\":"));
  EXPECT_GT(risen, 0.15);
  EXPECT_LT(risen, 0.6);
}

TEST_F(CliTest, ChaosNetworkIsUndoneOnSigtermAndAfterSigkillByRecover) {
  // Rollback on every path: SIGTERM restores at once; SIGKILL leaves the qdisc (and, for
  // ingress, the ingress qdisc and the ifb) until `chaos recover` runs the journaled undo.
  const std::string ns = "llmrca-clr-" + std::to_string(getpid());
  if (std::system(("ip netns add " + ns + " 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << "cannot create a network namespace here";
  }
  ASSERT_EQ(std::system(("ip -n " + ns + " link set lo up").c_str()), 0);
  const auto shown = [&](const std::string& what) {
    const fs::path out = tmp_ / "shown";
    const int rc = std::system(fmt::format("ip netns exec {} {} >'{}' 2>&1", ns, what, out.string()).c_str());
    return rc == 0 ? Slurp(out) : std::string("failed");
  };
  const std::string journal = (tmp_ / "chaos.state").string();
  const auto start = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {LLMRCA_BINARY, "chaos", "network", "--dev", "lo", "--netns",
                                     ns, "--rate", "1mbit", "--duration", "60", "--state",
                                     journal, "--record", (tmp_ / "net.json").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return llmrca::Subprocess::Start(argv);
  };
  auto egress = start({});
  ASSERT_TRUE(egress.ok());
  EXPECT_TRUE(WaitUntil([&] { return shown("tc qdisc show dev lo").find("tbf") != std::string::npos; }));
  ASSERT_EQ(kill(egress->pid(), SIGTERM), 0);
  EXPECT_EQ(WaitExit(*egress), 0);
  EXPECT_EQ(shown("tc qdisc show dev lo").find("tbf"), std::string::npos);

  auto ingress = start({"--direction", "ingress", "--ifb", "lrifbcli"});
  ASSERT_TRUE(ingress.ok());
  EXPECT_TRUE(WaitUntil([&] { return shown("tc qdisc show dev lrifbcli").find("tbf") != std::string::npos; }));
  EXPECT_THAT(shown("tc qdisc show dev lo"), HasSubstr("ingress"));
  ASSERT_EQ(kill(ingress->pid(), SIGKILL), 0);
  WaitExit(*ingress);
  EXPECT_THAT(shown("tc qdisc show dev lo"), HasSubstr("ingress"));  // left behind ...
  Run r = Llmrca("chaos recover --state " + journal);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("qdisc del dev lo ingress"));
  EXPECT_THAT(r.out, HasSubstr("link del lrifbcli"));
  const std::string after = shown("tc qdisc show dev lo");
  const std::string links = shown("ip link show");
  EXPECT_EQ(std::system(("ip netns del " + ns).c_str()), 0);
  EXPECT_EQ(after.find("ingress"), std::string::npos) << after;  // ... until recover
  EXPECT_EQ(links.find("lrifbcli"), std::string::npos) << links;
  const std::vector<nlohmann::json> recs = Records(Slurp(tmp_ / "net.json"));
  ASSERT_EQ(recs.size(), 1u);  // the SIGKILLed run wrote none
  EXPECT_EQ(recs[0]["outcome"], "stopped by signal");
  EXPECT_EQ(recs[0]["params"]["direction"], "egress");
}

TEST_F(CliTest, ChaosRestartKillsAServiceAndStartsItAgainAfterTheDowntime) {
  // The victim writes its pid to a file each time it starts, in its own directory and with its
  // own environment, so the restarted copy proves both were carried over.
  const fs::path dir = tmp_ / "svc";
  fs::create_directories(dir);
  // The shell itself is the service (no exec), so its command line is the script's.
  const std::string script = "echo \"$$ $LLMRCA_SVC\" >> pids; while :; do sleep 0.1; done";
  auto victim = llmrca::Subprocess::Start(
      {"/bin/sh", "-c", "cd '" + dir.string() + "' && LLMRCA_SVC=alpha exec /bin/sh -c '" +
                            script + "'"});
  ASSERT_TRUE(victim.ok());
  ASSERT_TRUE(WaitUntil([&] { return !Slurp(dir / "pids").empty(); }));
  const pid_t first = victim->pid();
  EXPECT_EQ(Slurp(dir / "pids"), fmt::format("{} alpha\n", first));
  const fs::path record = tmp_ / "restart.json";
  Run r = Llmrca(fmt::format("chaos process --pid {} --action restart --duration 0.3 --record {} "
                             "--state {}", first, record.string(), (tmp_ / "j").string()));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(ProcessEnded(first));
  const nlohmann::json rec = Records(Slurp(record)).at(0);
  EXPECT_EQ(rec["outcome"], "completed");
  EXPECT_GE(rec["end"].get<double>() - rec["start"].get<double>(), 0.3);
  const int second = rec["params"]["restarted_pid"].get<int>();
  ASSERT_TRUE(WaitUntil([&] { return Slurp(dir / "pids").find('\n') != Slurp(dir / "pids").rfind('\n'); }));
  EXPECT_EQ(Slurp(dir / "pids"), fmt::format("{} alpha\n{} alpha\n", first, second));

  // SIGKILL during the downtime: the service stays down until `chaos recover` starts it.
  auto injector = llmrca::Subprocess::Start(
      {LLMRCA_BINARY, "chaos", "process", "--pid", std::to_string(second), "--action", "restart",
       "--duration", "60", "--state", (tmp_ / "j").string()});
  ASSERT_TRUE(injector.ok());
  ASSERT_TRUE(WaitUntil([&] { return kill(second, 0) != 0; }));
  ASSERT_EQ(kill(injector->pid(), SIGKILL), 0);
  WaitExit(*injector);
  usleep(100000);
  EXPECT_EQ(Lines(Slurp(dir / "pids")), 2);  // nobody restarted it
  Run recover = Llmrca("chaos recover --state " + (tmp_ / "j").string());
  EXPECT_EQ(recover.code, 0) << recover.err;
  EXPECT_THAT(recover.out, HasSubstr("started '/bin/sh -c " + script + "' again as pid"));
  ASSERT_TRUE(WaitUntil([&] { return Lines(Slurp(dir / "pids")) == 3; }));
  const std::string pids = Slurp(dir / "pids");
  const int third = std::stoi(pids.substr(pids.rfind('\n', pids.size() - 2) + 1));
  EXPECT_EQ(pids.substr(pids.rfind('\n', pids.size() - 2) + 1), fmt::format("{} alpha\n", third));
  kill(third, SIGKILL);
}

TEST_F(CliTest, ChaosFreezerPausesAWholeCgroupAndRecoverThawsIt) {
  const std::string dir = "/sys/fs/cgroup/freezer/llmrca-cli-freeze-" + std::to_string(getpid());
  if (mkdir(dir.c_str(), 0755) != 0) GTEST_SKIP() << "cannot create a v1 freezer cgroup here";
  llmrca::SubprocessOptions o;
  o.join_cgroup_procs = dir + "/cgroup.procs";
  auto busy = llmrca::Subprocess::Start({"/bin/sh", "-c", "while :; do :; done"}, o);
  ASSERT_TRUE(busy.ok());
  const std::string journal = (tmp_ / "j").string();
  Run r = Llmrca(fmt::format("chaos process --pid {} --method freezer --duration 0.3 --state {}",
                             busy->pid(), journal));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"outcome\":\"completed\""));
  EXPECT_THAT(r.out, HasSubstr(dir));
  EXPECT_THAT(Slurp(dir + "/freezer.state"), HasSubstr("THAWED"));

  auto injector = llmrca::Subprocess::Start(
      {LLMRCA_BINARY, "chaos", "process", "--pid", std::to_string(busy->pid()), "--method",
       "freezer", "--duration", "60", "--state", journal});
  ASSERT_TRUE(injector.ok());
  const bool frozen = WaitUntil([&] { return Slurp(dir + "/freezer.state") == "FROZEN\n"; });
  kill(injector->pid(), SIGKILL);
  WaitExit(*injector);
  const std::string left = Slurp(dir + "/freezer.state");
  Run recover = Llmrca("chaos recover --state " + journal);
  const std::string thawed = Slurp(dir + "/freezer.state");
  busy->Stop(std::chrono::seconds(1));
  for (int i = 0; i < 200 && rmdir(dir.c_str()) != 0; ++i) usleep(5000);
  EXPECT_TRUE(frozen);
  EXPECT_EQ(left, "FROZEN\n");
  EXPECT_THAT(recover.out, HasSubstr("wrote THAWED to " + dir + "/freezer.state"));
  EXPECT_EQ(thawed, "THAWED\n");
  EXPECT_NE(access(dir.c_str(), F_OK), 0) << dir << " was left behind";

  // A container by its id: a freezer cgroup named as Docker's systemd driver names one.
  const std::string id = fmt::format("{:012x}feedfacecafe", getpid());
  const std::string scope = "/sys/fs/cgroup/freezer/docker-" + id + ".scope";
  ASSERT_EQ(mkdir(scope.c_str(), 0755), 0);
  o.join_cgroup_procs = scope + "/cgroup.procs";
  auto member = llmrca::Subprocess::Start({"sleep", "30"}, o);
  ASSERT_TRUE(member.ok());
  auto by_id = llmrca::Subprocess::Start(
      {LLMRCA_BINARY, "chaos", "process", "--container", id.substr(0, 12), "--duration", "0.5",
       "--state", journal, "--record", (tmp_ / "container.json").string()});
  ASSERT_TRUE(by_id.ok());
  const bool container_frozen = WaitUntil([&] { return Slurp(scope + "/freezer.state") == "FROZEN\n"; });
  const std::optional<int> by_id_code = WaitExit(*by_id);
  const std::string container_after = Slurp(scope + "/freezer.state");
  member->Stop(std::chrono::seconds(1));
  for (int i = 0; i < 200 && rmdir(scope.c_str()) != 0; ++i) usleep(5000);
  EXPECT_TRUE(container_frozen);
  EXPECT_EQ(by_id_code, 0);
  EXPECT_EQ(container_after, "THAWED\n");
  EXPECT_THAT(Slurp(tmp_ / "container.json"), HasSubstr("\"target\":\"container " + id.substr(0, 12)));
  EXPECT_NE(access(scope.c_str(), F_OK), 0) << scope << " was left behind";

  // A process in the root freezer cgroup would take the machine with it: refused.
  auto sleeper = llmrca::Subprocess::Start({"sleep", "30"});
  ASSERT_TRUE(sleeper.ok());
  Run root = Llmrca(fmt::format("chaos process --pid {} --method freezer --duration 1 --state {}",
                                sleeper->pid(), journal));
  EXPECT_EQ(root.code, 2);
  EXPECT_THAT(root.err, HasSubstr("root freezer cgroup"));
  EXPECT_NE(ProcessState(sleeper->pid()), 'T');
}

TEST_F(CliTest, ChaosDiskWritesAtItsRateAndRecordsWhatItMeasured) {
  const fs::path dir = tmp_ / "disk";
  fs::create_directories(dir);
  Run r = Llmrca(fmt::format("chaos disk --write-rate 4M --fsync --dir {} --duration 1 --state {}",
                             dir.string(), (tmp_ / "j").string()));
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json rec = nlohmann::json::parse(r.out);
  EXPECT_EQ(rec["type"], "disk");
  EXPECT_EQ(rec["outcome"], "completed");
  EXPECT_EQ(rec["params"]["write_bytes_per_s"], 4194304.0);
  // The worker's own wchar (kernel-counted), 4 MiB/s over ~1 s, sampled every 20 ms.
  const double written = rec["params"]["bytes_written_measured"].get<double>();
  EXPECT_GE(written, 3.0 * (1 << 20));
  EXPECT_LE(written, 4.6 * (1 << 20));
  EXPECT_TRUE(fs::is_empty(dir));
  Run none = Llmrca("chaos disk --duration 1");
  EXPECT_EQ(none.code, 2);
  EXPECT_THAT(none.err, HasSubstr("--write-rate, --read-rate or both"));
  Run bad_dir = Llmrca("chaos disk --write-rate 1M --dir /nonexistent/x --duration 1");
  EXPECT_EQ(bad_dir.code, 2);
  EXPECT_THAT(bad_dir.err, HasSubstr("/nonexistent/x"));
  EXPECT_EQ(Llmrca("chaos disk --write-rate 12X --duration 1").code, 2);
}

TEST_F(CliTest, ChaosScheduleRunsFaultsAtTheirOffsetsAndStopsThemAllOnSigterm) {
  auto victim = llmrca::Subprocess::Start({"sleep", "60"});
  ASSERT_TRUE(victim.ok());
  const fs::path dir = tmp_ / "disk";
  fs::create_directories(dir);
  Write(tmp_ / "s.yaml", fmt::format(R"(# two faults, the second 0.4 s after the first
faults:
  - kind: disk
    start: 0
    duration: 0.6
    write_rate: 1M
    dir: {}
  - {{kind: process, start: 0.4, duration: 0.5, pid: {}, action: pause}}
)", dir.string(), victim->pid()));
  const fs::path record = tmp_ / "records.json";
  auto run = llmrca::Subprocess::Start(
      {LLMRCA_BINARY, "chaos", "schedule", (tmp_ / "s.yaml").string(), "--record",
       record.string(), "--state", (tmp_ / "j").string()});
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(WaitUntil([&] { return ProcessState(victim->pid()) == 'T'; }));
  EXPECT_EQ(WaitExit(*run), 0);
  EXPECT_NE(ProcessState(victim->pid()), 'T');
  std::vector<nlohmann::json> recs = Records(Slurp(record));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0]["type"], "disk");  // ends first: 0.6 s against 0.4 + 0.5
  EXPECT_EQ(recs[1]["type"], "process");
  for (const nlohmann::json& rec : recs) EXPECT_EQ(rec["outcome"], "completed");
  const double offset = recs[1]["start"].get<double>() - recs[0]["start"].get<double>();
  EXPECT_GE(offset, 0.39);
  EXPECT_LT(offset, 1.0);

  // SIGTERM: the active fault is undone and the one not yet started is recorded as such.
  Write(tmp_ / "long.yaml", fmt::format(
      "faults:\n  - {{kind: process, duration: 60, pid: {}}}\n"
      "  - {{kind: process, start: 30, duration: 5, pid: {}, action: kill}}\n",
      victim->pid(), victim->pid()));
  fs::remove(record);
  auto long_run = llmrca::Subprocess::Start(
      {LLMRCA_BINARY, "chaos", "schedule", (tmp_ / "long.yaml").string(), "--record",
       record.string(), "--state", (tmp_ / "j").string()});
  ASSERT_TRUE(long_run.ok());
  ASSERT_TRUE(WaitUntil([&] { return ProcessState(victim->pid()) == 'T'; }));
  ASSERT_EQ(kill(long_run->pid(), SIGTERM), 0);
  EXPECT_EQ(WaitExit(*long_run), 0);
  EXPECT_EQ(ProcessState(victim->pid()), 'S');  // resumed, and not killed
  recs = Records(Slurp(record));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0]["outcome"], "stopped by signal");
  EXPECT_EQ(recs[1]["outcome"], "not started: stopped by signal");
  EXPECT_FALSE(fs::exists(tmp_ / "j"));  // nothing left to recover

  Run dry = Llmrca("chaos schedule --dry-run " + (tmp_ / "s.yaml").string());
  EXPECT_EQ(dry.code, 0) << dry.err;
  EXPECT_EQ(Lines(dry.out), 2);
  EXPECT_THAT(dry.err, HasSubstr("at +0.4 s for 0.5 s"));
  EXPECT_THAT(dry.err, HasSubstr(fmt::format("send SIGSTOP to pid {}", victim->pid())));
}

TEST_F(CliTest, ChaosGpuPowerCapIsRestoredAtTheEndAndByRecoverOnAFakeNvml) {
  // A fake NVML (two GPUs; GPU 0 starts at 350 W, accepts 100-400 W) keeps its limits and every
  // set in a state file, so the test sees what was changed without any real GPU.
  const fs::path state = tmp_ / "nvml.state";
  setenv("LLMRCA_NVML_LIBRARY", LLMRCA_FAKE_NVML_LIBRARY, 1);
  setenv("LLMRCA_FAKE_NVML_STATE", state.c_str(), 1);
  const std::string journal = (tmp_ / "j").string();
  Run dry = Llmrca("chaos gpu --power-cap 150 --duration 5 --dry-run");
  Run cap = Llmrca("chaos gpu --device 0 --power-cap 150 --duration 0.3 --state " + journal);
  const std::string after_cap = Slurp(state);
  auto injector = llmrca::Subprocess::Start({LLMRCA_BINARY, "chaos", "gpu", "--power-cap", "200",
                                             "--duration", "60", "--state", journal});
  const bool capped = injector.ok() && WaitUntil([&] {
    return Slurp(state).find("set 0 200000") != std::string::npos;
  });
  if (injector.ok()) {
    kill(injector->pid(), SIGKILL);
    WaitExit(*injector);
  }
  const std::string left = Slurp(state);
  Run recover = Llmrca("chaos recover --state " + journal);
  const std::string recovered = Slurp(state);
  Run load = Llmrca("chaos gpu --load 50 --duration 1");
  Run both = Llmrca("chaos gpu --load 50 --power-cap 150 --duration 1");
  Run range = Llmrca("chaos gpu --power-cap 5 --duration 1 --state " + journal);
  unsetenv("LLMRCA_NVML_LIBRARY");
  unsetenv("LLMRCA_FAKE_NVML_STATE");
  Run missing = Llmrca("chaos gpu --power-cap 150 --duration 1 --nvml-library /nonexistent/libnvidia-ml.so.1");

  EXPECT_EQ(dry.code, 0) << dry.err;
  EXPECT_THAT(dry.err, HasSubstr("set the power limit of GPU 0 (llmrca fake GPU 0, "));
  EXPECT_THAT(dry.err, HasSubstr("from 350 W to 150 W"));
  ASSERT_EQ(cap.code, 0) << cap.err;
  const nlohmann::json rec = nlohmann::json::parse(cap.out);
  EXPECT_EQ(rec["type"], "gpu");
  EXPECT_EQ(rec["outcome"], "completed");
  EXPECT_EQ(rec["params"]["previous_limit_w"], 350.0);
  // The dry run set nothing; the fault set 150 W, then 350 W back (the limit read before).
  EXPECT_EQ(after_cap, "limit 0 350000\nlimit 1 300000\nset 0 150000\nset 0 350000\n");
  EXPECT_TRUE(capped);
  EXPECT_THAT(left, HasSubstr("limit 0 200000"));  // SIGKILL left the cap in force ...
  EXPECT_EQ(recover.code, 0) << recover.err;
  EXPECT_THAT(recover.out, HasSubstr("gpu-restore --uuid GPU-"));
  EXPECT_THAT(recovered, HasSubstr("limit 0 350000"));  // ... until recover restored it
  EXPECT_EQ(load.code, 1);
  EXPECT_THAT(load.err, HasSubstr("built without CUDA"));
  EXPECT_EQ(both.code, 2);
  EXPECT_EQ(range.code, 2);
  EXPECT_THAT(range.err, HasSubstr("it accepts 100 W to 400 W"));
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/libnvidia-ml.so.1"));
  EXPECT_THAT(missing.err, HasSubstr("NVIDIA driver"));
}

TEST_F(CliTest, ChaosScheduleErrorsNameTheFileTheFaultAndTheProblem) {
  const auto check = [&](const std::string& yaml, int code, const std::string& message) {
    Write(tmp_ / "bad.yaml", yaml);
    Run r = Llmrca("chaos schedule " + (tmp_ / "bad.yaml").string());
    EXPECT_EQ(r.code, code) << yaml << r.err;
    EXPECT_THAT(r.err, HasSubstr(message)) << yaml;
    EXPECT_EQ(Lines(r.err), 1) << r.err;
  };
  check("faults:\n  - {kind: cpu, duration: 1}\n  - {kind: gpu-melt, duration: 1}\n", 2,
        "fault 2 (gpu-melt): unknown kind (one of: proxy, cpu, memory, disk, process, network, gpu)");
  check("faults:\n  - {kind: cpu, duration: 1, wrokers: 2}\n", 2,
        "fault 1 (cpu): unknown option 'wrokers' (see llmrca chaos cpu --help)");
  check("faults:\n  - {kind: cpu, workers: 2}\n", 2, "fault 1 (cpu): --duration is required");
  check("faults:\n  - {kind: cpu, duration: 1, start: -3}\n", 2, "'start' must be >= 0 s");
  check("faults: [\n", 2, "bad.yaml");
  check("faults: []\n", 2, "expected a list 'faults:' of one or more faults");
  check("faults:\n  - {kind: process, duration: 1, pid: 999999999}\n", 1,
        "fault 1 (process): process 999999999 does not exist");
  Run missing = Llmrca("chaos schedule " + (tmp_ / "none.yaml").string());
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("none.yaml': cannot read the file"));
}

}  // namespace
