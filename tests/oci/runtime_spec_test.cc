#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "oci/runtime_spec.h"

namespace hull::oci {
namespace {

std::string readTestdata(const std::string& name) {
  std::ifstream in(std::string(HULL_TESTDATA) + "/runtime/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RuntimeSpec fullSpec() {
  RuntimeSpec s;
  Process p;
  p.terminal = true;
  p.console_size = ConsoleSize{.height = 24, .width = 80};
  p.user = User{.uid = 1000, .gid = 1000, .umask = 022, .additional_gids = {5, 10}};
  p.args = {"sh", "-c", "echo hi"};
  p.env = {"PATH=/bin", "A=b"};
  p.cwd = "/work";
  p.capabilities = Capabilities{.bounding = {"CAP_CHOWN"},
                                .effective = {"CAP_CHOWN"},
                                .inheritable = {},
                                .permitted = {"CAP_CHOWN"},
                                .ambient = {}};
  p.rlimits = {{.type = "RLIMIT_NOFILE", .hard = 20000, .soft = 1024}};
  p.no_new_privileges = true;
  p.oom_score_adj = 100;
  s.process = p;
  s.root = Root{.path = "/abs/rootfs", .readonly = true};
  s.hostname = "box";
  s.mounts = {
      {.destination = "/data", .type = "bind", .source = "/srv", .options = {"rbind", "ro"}}};
  Hooks hooks;
  hooks.create_runtime = {{.path = "/bin/hook", .args = {"hook", "x"}, .env = {}, .timeout = 5}};
  s.hooks = hooks;
  s.annotations = {{"org.example", "1"}};
  Linux l;
  l.namespaces = {{.type = "pid", .path = ""}, {.type = "network", .path = "/run/netns/x"}};
  l.uid_mappings = {{.container_id = 0, .host_id = 100000, .size = 65536}};
  l.devices = {{.path = "/dev/fuse",
                .type = "c",
                .major = 10,
                .minor = 229,
                .file_mode = 0666,
                .uid = 0,
                .gid = 0}};
  l.cgroups_path = "/hull/box";
  Resources r;
  r.memory_limit = 512 << 20;
  r.memory_swap = -1;
  r.cpu_shares = 512;
  r.cpu_quota = 50000;
  r.cpu_period = 100000;
  r.cpuset_cpus = "0-1";
  r.pids_limit = 100;
  r.devices = {{.allow = false, .type = "", .major = {}, .minor = {}, .access = "rwm"},
               {.allow = true, .type = "c", .major = 1, .minor = 3, .access = "rw"}};
  r.unified = {{"memory.high", "100000000"}};
  l.resources = r;
  l.sysctl = {{"net.ipv4.ip_forward", "1"}};
  Seccomp sc;
  sc.default_action = "SCMP_ACT_ERRNO";
  sc.default_errno_ret = 1;
  sc.architectures = {"SCMP_ARCH_X86_64"};
  sc.syscalls = {
      {.names = {"personality"},
       .action = "SCMP_ACT_ALLOW",
       .errno_ret = {},
       .args = {{.index = 0, .value = 8, .value_two = 0xff, .op = "SCMP_CMP_MASKED_EQ"}}},
      {.names = {"clone3"}, .action = "SCMP_ACT_ERRNO", .errno_ret = 38, .args = {}}};
  l.seccomp = sc;
  l.masked_paths = {"/proc/kcore"};
  l.readonly_paths = {"/proc/sys"};
  l.rootfs_propagation = "rslave";
  s.linux = l;
  return s;
}

TEST(RuntimeSpec, RoundTrip) {
  RuntimeSpec s = fullSpec();
  auto back = parseRuntimeSpec(serialize(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
  EXPECT_EQ(serialize(*back), serialize(s));
}

TEST(RuntimeSpec, DockerFieldNames) {
  Json j = toJson(fullSpec());
  EXPECT_EQ(j["ociVersion"], "1.0.2");
  EXPECT_EQ(j["process"]["consoleSize"]["width"], 80);
  EXPECT_EQ(j["process"]["user"]["additionalGids"], Json({5, 10}));
  EXPECT_EQ(j["process"]["noNewPrivileges"], true);
  EXPECT_EQ(j["process"]["oomScoreAdj"], 100);
  EXPECT_EQ(j["linux"]["uidMappings"][0]["hostID"], 100000);
  EXPECT_EQ(j["linux"]["cgroupsPath"], "/hull/box");
  EXPECT_EQ(j["linux"]["resources"]["memory"]["swap"], -1);
  EXPECT_EQ(j["linux"]["resources"]["cpu"]["cpus"], "0-1");
  EXPECT_EQ(j["linux"]["resources"]["pids"]["limit"], 100);
  EXPECT_EQ(j["linux"]["resources"]["devices"][1]["major"], 1);
  EXPECT_EQ(j["linux"]["seccomp"]["defaultErrnoRet"], 1);
  EXPECT_EQ(j["linux"]["seccomp"]["syscalls"][0]["args"][0]["valueTwo"], 0xff);
  EXPECT_EQ(j["linux"]["seccomp"]["syscalls"][1]["errnoRet"], 38);
  EXPECT_EQ(j["linux"]["rootfsPropagation"], "rslave");
  EXPECT_TRUE(j["hooks"].contains("createRuntime"));
}

// `runc spec` output (checked in: tests/testdata/runtime/runc-spec.json) parses.
TEST(RuntimeSpec, RuncSpecParses) {
  std::string text = readTestdata("runc-spec.json");
  ASSERT_FALSE(text.empty());
  auto spec = parseRuntimeSpec(text);
  ASSERT_TRUE(spec) << spec.error().message;
  ASSERT_TRUE(spec->process);
  EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
  EXPECT_TRUE(spec->process->terminal);
  EXPECT_EQ(spec->process->rlimits.at(0).type, "RLIMIT_NOFILE");
  EXPECT_EQ(spec->mounts.size(), 7u);
  EXPECT_EQ(spec->mounts[2].type, "devpts");
  ASSERT_TRUE(spec->linux);
  EXPECT_EQ(spec->linux->namespaces.size(), 5u);
  EXPECT_EQ(spec->linux->masked_paths.front(), "/proc/acpi");
  ASSERT_TRUE(spec->linux->resources);
  EXPECT_EQ(spec->linux->resources->devices.at(0).access, "rwm");
  EXPECT_TRUE(spec->root.readonly);
}

TEST(RuntimeSpec, UnknownFieldsAreIgnored) {
  auto spec = parseRuntimeSpec(
      R"({"ociVersion":"1.1.0","process":{"args":["true"],"future":{"x":1}},"vm":{},
          "linux":{"intelRdt":{"closID":"x"},"personality":{"domain":"LINUX"}}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->process->cwd, "/");
}

TEST(RuntimeSpec, MissingProcessIsAllowedByTheCodec) {
  auto spec = parseRuntimeSpec(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_FALSE(spec->process);
}

TEST(RuntimeSpec, HostileInputs) {
  struct Case {
    const char* json;
    const char* needle;
  };
  const Case cases[] = {
      {R"([])", "must be a JSON object"},
      {R"({"process":{"args":["x"]}})", "ociVersion"},
      {R"({"ociVersion":1})", "ociVersion"},
      {R"({"ociVersion":"1","process":{"args":"sh"}})", "process.args"},
      {R"({"ociVersion":"1","process":{"args":[1]}})", "process.args"},
      {R"({"ociVersion":"1","process":{"terminal":"yes"}})", "process.terminal"},
      {R"({"ociVersion":"1","process":{"user":{"uid":-1}}})", "process.user.uid"},
      {R"({"ociVersion":"1","process":{"user":{"uid":4294967296}}})", "process.user.uid"},
      {R"({"ociVersion":"1","process":{"user":{"additionalGids":["5"]}}})", "additionalGids"},
      {R"({"ociVersion":"1","process":{"rlimits":[{"type":"RLIMIT_NOFILE","hard":1e400}]}})", ""},
      {R"({"ociVersion":"1","process":{"rlimits":[{"hard":1}]}})", "type"},
      {R"({"ociVersion":"1","process":{"oomScoreAdj":99999999999}})", "oomScoreAdj"},
      {R"({"ociVersion":"1","linux":{"resources":{"memory":{"limit":18446744073709551615}}}})",
       "memory.limit"},
      {R"({"ociVersion":"1","linux":{"resources":{"memory":{"limit":1.5}}}})", "memory.limit"},
      {R"({"ociVersion":"1","linux":{"namespaces":[{"path":"/x"}]}})", "type"},
      {R"({"ociVersion":"1","linux":{"seccomp":{"syscalls":[{"names":"read"}]}}})", "names"},
      {R"({"ociVersion":"1","mounts":[{"type":"tmpfs"}]})", "destination"},
      {R"({"ociVersion":"1","mounts":{}})", "mounts"},
      {R"({"ociVersion":"1","annotations":{"a":1}})", "annotations"},
      {R"({"ociVersion":"1","hooks":{"prestart":[{"args":[]}]}})", "path"},
      {R"({"ociVersion":"1",)", "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto spec = parseRuntimeSpec(c.json);
    ASSERT_FALSE(spec) << c.json;
    EXPECT_EQ(spec.error().code, Errc::kInvalidArgument) << c.json;
    EXPECT_NE(spec.error().message.find(c.needle), std::string::npos)
        << c.json << " -> " << spec.error().message;
  }
}

TEST(RuntimeSpec, DeepNestingAndHugeInputAreRefused) {
  std::string deep =
      R"({"ociVersion":"1","x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_FALSE(parseRuntimeSpec(deep));
  std::string huge = R"({"ociVersion":"1","hostname":")" + std::string(17u << 20, 'a') + "\"}";
  auto r = parseRuntimeSpec(huge);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("16 MiB"), std::string::npos);
}

TEST(RuntimeSpec, ProcessJson) {
  auto p = parseProcess(R"({"args":["ls","-l"],"cwd":"/tmp","env":["A=1"],"terminal":true,
                           "user":{"uid":5,"gid":6}})");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->args.size(), 2u);
  EXPECT_EQ(p->user.gid, 6u);
  auto back = parseProcess(toJson(*p).dump());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *p);
  EXPECT_FALSE(parseProcess(R"({"args":[true]})"));
}

}  // namespace
}  // namespace hull::oci
