// planContainer: golden cases plus targeted checks of Docker's rules.
//
// Golden cases live in tests/testdata/engine/run_spec/<case>/:
//   image.json    the image's "config" object (or a whole image config with "rootfs")
//   options.json  RunOptions (run_options.h field names)
//   rootfs.json   optional {path: contents} added to the image's files (passwd and group exist)
//   spec.json     the expected OCI spec after bindPlanPaths; the default seccomp profile for the
//                 bounding set is written as the string "docker-default"
//   plan.json     the rest of the plan (health check, stop signal, labels, volumes, user)
//   error.txt     instead of spec.json/plan.json: the exact error message
// The host is fixed (testHost): files named by env-file/label-file/seccomp options are read from
// the case directory. HULL_UPDATE_GOLDEN=1 rewrites the expected files from the current output.
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "base/json.h"
#include "engine/run_spec.h"
#include "oci/defaults.h"
#include "test_util.h"

namespace hull::engine {
namespace {

using testing::kContainerId;

const fs::path kContainerDir = "/var/lib/hull/containers/" + kContainerId;
const fs::path kVolumesRoot = "/var/lib/hull/volumes";

fs::path casesDir() { return fs::path(HULL_TESTDATA) / "engine" / "run_spec"; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

HostEnvironment testHost(const fs::path& case_dir) {
  HostEnvironment h;
  h.getenv = [](const std::string& key) -> std::optional<std::string> {
    if (key == "HOST_VAR") return std::string("from-host");
    if (key == "HOST_EMPTY") return std::string();
    return std::nullopt;
  };
  h.read_file = [case_dir](const std::string& path) -> Result<std::string> {
    fs::path p = case_dir / path;
    if (!fs::exists(p)) return fail(Errc::kNotFound, "open " + path + ": No such file");
    return slurp(p);
  };
  // Host paths under /srv exist; everything else does not.
  h.path_exists = [](const std::string& path) { return path.starts_with("/srv/"); };
  h.hard_rlimit = [](int resource) -> uint64_t {
    return resource == RLIMIT_NOFILE ? 20000 : RLIM_INFINITY;
  };
  h.resolv_conf = []() -> std::optional<std::string> {
    return std::string("nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.test\n");
  };
  h.init_binary = "/usr/bin/tini-static";
  h.kernel = oci::KernelVersion{.major = 6, .minor = 1};
  return h;
}

MemoryRootfsView baseRootfs() {
  MemoryRootfsView view;
  view.put("/etc/passwd",
           "root:x:0:0:root:/root:/bin/sh\n"
           "app:x:1000:1000:App:/home/app:/bin/sh\n");
  view.put("/etc/group",
           "root:x:0:\n"
           "app:x:1000:\n"
           "video:x:44:app\n"
           "wheel:x:10:root\n");
  return view;
}

Json planJson(const ContainerPlan& plan) {
  Json j = Json::object();
  if (plan.healthcheck) {
    const auto& h = *plan.healthcheck;
    j["healthcheck"] = {{"test", h.test},
                        {"interval", h.interval},
                        {"timeout", h.timeout},
                        {"start_period", h.start_period},
                        {"start_interval", h.start_interval},
                        {"retries", h.retries}};
  } else {
    j["healthcheck"] = nullptr;
  }
  j["stop_signal"] = {{"number", plan.stop_signal.number}, {"name", plan.stop_signal.name}};
  j["stop_timeout"] = plan.stop_timeout;
  j["labels"] = plan.labels;
  Json volumes = Json::array();
  for (const auto& v : plan.volumes) {
    volumes.push_back({{"name", v.name},
                       {"destination", v.destination},
                       {"anonymous", v.anonymous},
                       {"read_only", v.read_only},
                       {"no_copy", v.no_copy},
                       {"mount_index", v.mount_index}});
  }
  j["volumes"] = volumes;
  j["create_bind_sources"] = plan.create_bind_sources;
  j["user"] = {{"uid", plan.user.uid},
               {"gid", plan.user.gid},
               {"additional_gids", plan.user.additional_gids},
               {"name", plan.user.name},
               {"home", plan.user.home}};
  j["hostname"] = plan.hostname;
  return j;
}

Json specJson(const ContainerPlan& plan, const HostEnvironment& host) {
  Json j = oci::toJson(plan.spec);
  if (plan.spec.linux && plan.spec.linux->seccomp && plan.spec.process &&
      plan.spec.process->capabilities) {
    oci::SeccompContext context{.capabilities = plan.spec.process->capabilities->bounding,
                                .arch = "",
                                .kernel = host.kernel};
    if (*plan.spec.linux->seccomp == oci::dockerDefaultSeccomp(context)) {
      j["linux"]["seccomp"] = "docker-default";
    }
  }
  return j;
}

// A readable structural diff: one line per differing path.
void diffJson(const Json& want, const Json& got, const std::string& path,
              std::vector<std::string>& out) {
  if (want.is_number() && got.is_number()) {  // parsed 15 is unsigned, built 15 may be signed
    if (want != got) out.push_back(path + ": want " + want.dump() + ", got " + got.dump());
    return;
  }
  if (want.type() != got.type()) {
    out.push_back(path + ": want " + want.dump() + ", got " + got.dump());
    return;
  }
  if (want.is_object()) {
    for (const auto& [k, v] : want.items()) {
      if (!got.contains(k))
        out.push_back(path + "/" + k + ": missing (want " + v.dump() + ")");
      else
        diffJson(v, got.at(k), path + "/" + k, out);
    }
    for (const auto& [k, v] : got.items()) {
      if (!want.contains(k)) out.push_back(path + "/" + k + ": unexpected " + v.dump());
    }
  } else if (want.is_array()) {
    std::size_t n = std::max(want.size(), got.size());
    for (std::size_t i = 0; i < n; ++i) {
      std::string p = path + "/" + std::to_string(i);
      if (i >= want.size())
        out.push_back(p + ": unexpected " + got[i].dump());
      else if (i >= got.size())
        out.push_back(p + ": missing (want " + want[i].dump() + ")");
      else
        diffJson(want[i], got[i], p, out);
    }
  } else if (want != got) {
    out.push_back(path + ": want " + want.dump() + ", got " + got.dump());
  }
}

void expectJson(const fs::path& file, const Json& got, bool update) {
  if (update) {
    spit(file, got.dump(2) + "\n");
    return;
  }
  ASSERT_TRUE(fs::exists(file)) << file << " missing (HULL_UPDATE_GOLDEN=1 writes it)";
  auto want = parseJson(slurp(file), file.string());
  ASSERT_TRUE(want) << want.error().message;
  std::vector<std::string> diffs;
  diffJson(*want, got, "", diffs);
  std::string text;
  for (const auto& d : diffs) text += "  " + d + "\n";
  EXPECT_TRUE(diffs.empty()) << file.filename() << " differs:\n" << text;
}

Result<oci::ImageConfig> loadImage(const fs::path& file) {
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(slurp(file), "image.json"));
  if (!j.contains("rootfs")) {
    j = Json{{"architecture", "amd64"},
             {"os", "linux"},
             {"rootfs", {{"type", "layers"}, {"diff_ids", Json::array()}}},
             {"config", j}};
  }
  return oci::imageConfigFromJson(j);
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, Plan) {
  fs::path dir = casesDir() / GetParam();
  bool update = std::getenv("HULL_UPDATE_GOLDEN") != nullptr;
  auto image = loadImage(dir / "image.json");
  ASSERT_TRUE(image) << image.error().message;
  auto options_json = parseJson(slurp(dir / "options.json"), "options.json");
  ASSERT_TRUE(options_json) << options_json.error().message;
  auto options = runOptionsFromJson(*options_json);
  ASSERT_TRUE(options) << options.error().message;
  MemoryRootfsView view = baseRootfs();
  if (fs::exists(dir / "rootfs.json")) {
    auto files = parseJson(slurp(dir / "rootfs.json"), "rootfs.json");
    ASSERT_TRUE(files) << files.error().message;
    for (const auto& [path, contents] : files->items()) view.put(path, contents.get<std::string>());
  }
  HostEnvironment host = testHost(dir);
  auto plan = planContainer(*image, *options, view, kContainerId, host);
  bool want_error = fs::exists(dir / "error.txt") || (update && GetParam().starts_with("err_"));
  if (want_error) {
    ASSERT_FALSE(plan) << "expected an error";
    if (update) {
      spit(dir / "error.txt", plan.error().message + "\n");
    } else {
      std::string want = slurp(dir / "error.txt");
      while (!want.empty() && want.back() == '\n') want.pop_back();
      EXPECT_EQ(plan.error().message, want);
    }
    return;
  }
  ASSERT_TRUE(plan) << plan.error().message;
  bindPlanPaths(*plan, kContainerDir, kVolumesRoot);
  expectJson(dir / "spec.json", specJson(*plan, host), update);
  expectJson(dir / "plan.json", planJson(*plan), update);
  // The spec must survive its own codec: what the runtime reads is what was planned.
  auto reparsed = oci::parseRuntimeSpec(oci::serialize(plan->spec));
  ASSERT_TRUE(reparsed) << reparsed.error().message;
  EXPECT_EQ(oci::toJson(*reparsed), oci::toJson(plan->spec));
}

std::vector<std::string> caseNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(casesDir(), ec)) {
    if (e.is_directory()) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(RunSpec, Golden, ::testing::ValuesIn(caseNames()),
                         [](const auto& info) { return info.param; });

TEST(RunSpecGolden, HasEnoughCases) { EXPECT_GE(caseNames().size(), 15u); }

// --- targeted checks ---

oci::ImageConfig busyboxImage() {
  oci::ImageConfig image;
  image.config.cmd = std::vector<std::string>{"sh"};
  image.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  return image;
}

Result<ContainerPlan> plan(const RunOptions& options,
                           const oci::ImageConfig& image = busyboxImage()) {
  MemoryRootfsView view = baseRootfs();
  return planContainer(image, options, view, kContainerId, testHost(casesDir()));
}

std::string errorOf(const RunOptions& options) {
  auto p = plan(options);
  if (p) return "(no error)";
  return p.error().message;
}

TEST(RunSpec, HostnameDefaultsToShortIdAndEnvHasIt) {
  auto p = plan(RunOptions{});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->spec.hostname, "0123456789ab");
  const auto& env = p->spec.process->env;
  EXPECT_NE(std::find(env.begin(), env.end(), "HOSTNAME=0123456789ab"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "HOME=/root"), env.end());
  EXPECT_EQ(p->spec.linux->cgroups_path, "/hull/" + kContainerId);
}

TEST(RunSpec, HomeFromEnvIsKept) {
  RunOptions o;
  o.env = {"HOME=/custom"};
  auto p = plan(o);
  ASSERT_TRUE(p) << p.error().message;
  const auto& env = p->spec.process->env;
  EXPECT_EQ(std::count_if(env.begin(), env.end(),
                          [](const std::string& e) { return e.starts_with("HOME="); }),
            1);
  EXPECT_NE(std::find(env.begin(), env.end(), "HOME=/custom"), env.end());
}

TEST(RunSpec, NetworkNamespaceOnlyForNone) {
  auto host = plan(RunOptions{});
  ASSERT_TRUE(host);
  for (const auto& ns : host->spec.linux->namespaces) EXPECT_NE(ns.type, "network");
  RunOptions o;
  o.network = "none";
  auto none = plan(o);
  ASSERT_TRUE(none);
  EXPECT_TRUE(std::any_of(none->spec.linux->namespaces.begin(), none->spec.linux->namespaces.end(),
                          [](const oci::Namespace& ns) { return ns.type == "network"; }));
}

TEST(RunSpec, BadInputIsOneClearLine) {
  auto check = [](RunOptions o, std::string_view needle) {
    std::string e = errorOf(o);
    EXPECT_NE(e.find(needle), std::string::npos) << "error: " << e << "\nwanted: " << needle;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  };
  RunOptions o;
  o.memory = "lots";
  check(o, "invalid --memory \"lots\"");
  o = {};
  o.memory = "1m";
  check(o, "minimum memory limit allowed is 6MB");
  o = {};
  o.cpus = "-1";
  check(o, "invalid --cpus \"-1\"");
  o = {};
  o.user = "ghost";
  check(o, "unable to find user ghost: no matching entries in passwd file");
  o = {};
  o.workdir = "relative/dir";
  check(o, "the working directory 'relative/dir' is invalid, it needs to be an absolute path");
  o = {};
  o.ulimits = {"nofile=1048576"};
  check(o, "above this process's hard limit 20000");
  o = {};
  o.ulimits = {"bogus=1"};
  check(o, "unknown limit \"bogus\"");
  o = {};
  o.ulimits = {"nofile=10:5"};
  check(o, "soft limit must be less than or equal to hard limit");
  o = {};
  o.health_cmd = "true";
  o.health_interval = "10 seconds";
  check(o, "invalid --health-interval \"10 seconds\"");
  o = {};
  o.security_opts = {"apparmor=docker-default"};
  check(o, "hull applies no AppArmor or SELinux profiles");
  o = {};
  o.security_opts = {"bogus"};
  check(o, "unknown option");
  o = {};
  o.mounts = {"type=bind,source=/nope,target=/x"};
  check(o, "bind source path does not exist: /nope");
  o = {};
  o.mounts = {"type=bind,source=/srv/a,target=/x,colour=blue"};
  check(o, "unexpected key 'colour'");
  o = {};
  o.volumes = {"/srv/a:relative"};
  check(o, "must be absolute");
  o = {};
  o.volumes = {"/srv/a:/x", "named:/x"};
  check(o, "Duplicate mount point: /x");
  o = {};
  o.network = "bridge";
  check(o, "only host (the default) and none are supported");
  o = {};
  o.stop_signal = "SIGNOPE";
  check(o, "invalid --stop-signal \"SIGNOPE\"");
  o = {};
  o.no_healthcheck = true;
  o.health_cmd = "true";
  check(o, "--no-healthcheck conflicts with --health-* options");
}

TEST(RunSpec, NoCommand) {
  oci::ImageConfig image;
  MemoryRootfsView view = baseRootfs();
  auto p = planContainer(image, RunOptions{}, view, kContainerId, testHost(casesDir()));
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().message.starts_with("no command specified"));
}

TEST(RunSpec, AnonymousVolumeNamesAreStablePerContainer) {
  RunOptions o;
  o.volumes = {"/data"};
  auto a = plan(o);
  auto b = plan(o);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->volumes.size(), 1u);
  EXPECT_EQ(a->volumes[0].name, b->volumes[0].name);
  EXPECT_EQ(a->volumes[0].name.size(), 64u);
  EXPECT_TRUE(a->volumes[0].anonymous);
}

TEST(RunSpec, EnvFileFormat) {
  HostEnvironment host = testHost(casesDir());
  auto vars = parseEnvFile("# comment\n\n  A=1\nB= spaced \nHOST_VAR\nUNSET_VAR\nC=x=y\r\n",
                           "my.env", host);
  ASSERT_TRUE(vars) << vars.error().message;
  EXPECT_EQ(*vars, (std::vector<std::string>{"A=1", "B= spaced ", "HOST_VAR=from-host", "C=x=y"}));
  auto bad = parseEnvFile("A=1\nBAD KEY=2\n", "my.env", host);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "my.env:2: variable 'BAD KEY' contains whitespaces");
  auto nokey = parseEnvFile("=value\n", "my.env", host);
  ASSERT_FALSE(nokey);
  EXPECT_TRUE(nokey.error().message.starts_with("my.env:1: "));
}

TEST(RunSpec, Signals) {
  EXPECT_EQ(parseSignal("SIGTERM")->number, 15);
  EXPECT_EQ(parseSignal("int")->name, "SIGINT");
  EXPECT_EQ(parseSignal("9")->name, "SIGKILL");
  EXPECT_EQ(parseSignal("SIGRTMIN+3")->name, "SIGRTMIN+3");
  EXPECT_FALSE(parseSignal("0"));
  EXPECT_FALSE(parseSignal("SIGBOGUS"));
}

TEST(RunSpec, OptionsRoundTripAndRejectUnknownKeys) {
  RunOptions o;
  o.image = "busybox";
  o.command = {"sh", "-c", "echo hi"};
  o.entrypoint = "";
  o.pids_limit = 10;
  o.health_retries = 2;
  o.stop_timeout = 3;
  auto back = runOptionsFromJson(toJson(o));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(toJson(*back), toJson(o));
  EXPECT_EQ(back->entrypoint, std::optional<std::string>(""));
  EXPECT_FALSE(runOptionsFromJson(Json{{"imgae", "x"}}));
  EXPECT_FALSE(runOptionsFromJson(Json{{"rm", "yes"}}));
}

TEST(RunSpec, EtcFiles) {
  auto p = plan(RunOptions{});
  ASSERT_TRUE(p);
  fs::path dir = fs::temp_directory_path() / fs::path(uniquePath("", "etc-files")).filename();
  ASSERT_TRUE(mkdirAll(dir));
  HostEnvironment host = testHost(casesDir());
  ASSERT_TRUE(writeEtcFiles(*p, dir, host));
  EXPECT_EQ(slurp(dir / "hostname"), "0123456789ab\n");
  EXPECT_NE(slurp(dir / "hosts").find("127.0.0.1\tlocalhost\n"), std::string::npos);
  EXPECT_NE(slurp(dir / "hosts").find("127.0.0.1\t0123456789ab\n"), std::string::npos);
  EXPECT_EQ(slurp(dir / "resolv.conf"), *host.resolv_conf());
  RunOptions none;
  none.network = "none";
  auto q = plan(none);
  ASSERT_TRUE(q);
  ASSERT_TRUE(writeEtcFiles(*q, dir, host));
  EXPECT_EQ(slurp(dir / "resolv.conf"), "nameserver 10.0.0.2\nsearch example.test\n");
  ASSERT_TRUE(removeAll(dir));
}

}  // namespace
}  // namespace hull::engine
