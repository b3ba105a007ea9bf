// Docker's ~/.docker/config.json: credentials inline ("auths"), in a credential store
// ("credsStore") or per registry ("credHelpers"). Unknown keys are kept as they were, so Docker,
// podman and hull can share the file.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "base/unique_fd.h"
#include "registry/auth.h"
#include "registry/reference.h"

extern char** environ;

namespace hull::registry {
namespace {

constexpr std::size_t kMaxConfig = 4 << 20;
constexpr std::size_t kMaxHelperOutput = 1 << 20;

// The host[:port] an "auths" key names: keys may carry a scheme and a path
// ("https://index.docker.io/v1/").
std::string keyDomain(std::string_view key) {
  if (std::size_t p = key.find("://"); p != std::string_view::npos) key.remove_prefix(p + 3);
  key = key.substr(0, key.find('/'));
  return normalizeDomain(key);
}

std::string helperServer(std::string_view domain) {
  // Docker hands helpers the same key it files inline credentials under.
  return configKey(domain);
}

Result<std::optional<Credentials>> fromHelper(std::string_view helper, std::string_view domain) {
  auto out = runCredentialHelper(helper, "get", helperServer(domain));
  if (!out && out.error().code == Errc::kNotFound) return std::optional<Credentials>();
  if (!out) return fail(out.error());
  HULL_ASSIGN_OR_RETURN(Json j, parseJson(*out, "docker-credential-" + std::string(helper)));
  Credentials c;
  if (j.is_object() && j.contains("Username") && j["Username"].is_string() &&
      j.contains("Secret") && j["Secret"].is_string()) {
    c.username = j["Username"].get<std::string>();
    c.password = j["Secret"].get<std::string>();
  } else {
    return fail(Errc::kInvalidArgument,
                fmt::format("docker-credential-{}: unexpected output", helper));
  }
  // Docker's helpers return an identity token with the user name "<token>".
  if (c.username == "<token>") {
    c.identity_token = c.password;
    c.password.clear();
  }
  return std::optional<Credentials>(std::move(c));
}

}  // namespace

Result<DockerConfig> DockerConfig::load(const fs::path& dir) {
  fs::path file = dir / "config.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return fromJson(OrderedJson::object(), dir);
  HULL_ASSIGN_OR_RETURN(std::string text, readFile(file, kMaxConfig));
  OrderedJson j = OrderedJson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(Errc::kInvalidArgument, fmt::format("{}: not a JSON object", file.string()));
  }
  return fromJson(std::move(j), dir);
}

DockerConfig DockerConfig::fromJson(OrderedJson json, fs::path dir) {
  DockerConfig c;
  c.json_ = std::move(json);
  c.dir_ = std::move(dir);
  return c;
}

std::string DockerConfig::helperFor(std::string_view domain) const {
  auto helpers = json_.find("credHelpers");
  if (helpers != json_.end() && helpers->is_object()) {
    for (const auto& [key, value] : helpers->items()) {
      if (keyDomain(key) == domain && value.is_string()) return value.get<std::string>();
    }
  }
  auto store = json_.find("credsStore");
  if (store != json_.end() && store->is_string()) return store->get<std::string>();
  return "";
}

Result<std::optional<Credentials>> DockerConfig::get(std::string_view domain) const {
  if (std::string helper = helperFor(domain); !helper.empty()) return fromHelper(helper, domain);
  auto auths = json_.find("auths");
  if (auths == json_.end() || !auths->is_object()) return std::optional<Credentials>();
  for (const auto& [key, entry] : auths->items()) {
    if (keyDomain(key) != domain || !entry.is_object()) continue;
    Credentials c;
    if (auto a = entry.find("auth");
        a != entry.end() && a->is_string() && !a->get<std::string>().empty()) {
      HULL_ASSIGN_OR_RETURN(c, decodeBasicAuth(a->get<std::string>()));
    } else {
      if (auto u = entry.find("username"); u != entry.end() && u->is_string()) c.username = *u;
      if (auto p = entry.find("password"); p != entry.end() && p->is_string()) c.password = *p;
    }
    if (auto t = entry.find("identitytoken"); t != entry.end() && t->is_string()) {
      c.identity_token = t->get<std::string>();
    }
    if (!c.empty()) return std::optional<Credentials>(std::move(c));
  }
  return std::optional<Credentials>();
}

Result<void> DockerConfig::store(std::string_view domain, const Credentials& creds) {
  if (std::string helper = helperFor(domain); !helper.empty()) {
    Json input = {{"ServerURL", helperServer(domain)},
                  {"Username", creds.username},
                  {"Secret", creds.password}};
    HULL_TRY(runCredentialHelper(helper, "store", input.dump()));
    return {};
  }
  if (!json_.contains("auths") || !json_["auths"].is_object())
    json_["auths"] = OrderedJson::object();
  OrderedJson& auths = json_["auths"];
  // Replace any spelling of this registry's key with the canonical one.
  for (auto it = auths.begin(); it != auths.end();) {
    it = keyDomain(it.key()) == domain ? auths.erase(it) : std::next(it);
  }
  auths[configKey(domain)] = {{"auth", encodeBasicAuth(creds.username, creds.password)}};
  return {};
}

Result<void> DockerConfig::erase(std::string_view domain) {
  bool found = false;
  if (std::string helper = helperFor(domain); !helper.empty()) {
    auto r = runCredentialHelper(helper, "erase", helperServer(domain));
    if (r)
      found = true;
    else if (r.error().code != Errc::kNotFound)
      return fail(r.error());
  }
  if (json_.contains("auths") && json_["auths"].is_object()) {
    OrderedJson& auths = json_["auths"];
    for (auto it = auths.begin(); it != auths.end();) {
      if (keyDomain(it.key()) == domain) {
        it = auths.erase(it);
        found = true;
      } else {
        ++it;
      }
    }
  }
  if (!found) {
    return fail(Errc::kNotFound, fmt::format("not logged in to {}", domain));
  }
  return {};
}

Result<void> DockerConfig::save() const {
  std::error_code ec;
  if (!fs::exists(dir_, ec)) HULL_TRY(mkdirAll(dir_, 0700));
  return writeFileAtomic(dir_ / "config.json", json_.dump(1, '\t') + "\n", 0600);
}

Result<std::string> runCredentialHelper(std::string_view helper, std::string_view verb,
                                        std::string_view input) {
  for (char c : helper) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return fail(Errc::kInvalidArgument,
                  fmt::format("config.json: bad credential helper name \"{}\"", helper));
    }
  }
  std::string program = fmt::format("docker-credential-{}", helper);
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return failErrno("pipe");
  UniqueFd in_read(in[0]), in_write(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return failErrno("pipe");
  UniqueFd out_read(out[0]), out_write(out[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 2);
  std::string verb_s(verb);
  char* argv[] = {program.data(), verb_s.data(), nullptr};
  pid_t pid = 0;
  int err = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    // Not "no credentials": the config names a helper that is not installed.
    return fail(Errc::kUnsupported, fmt::format("config.json names credential helper {}: {}",
                                                program, std::strerror(err)));
  }
  in_read.reset();
  out_write.reset();
  (void)writeAll(in_write.get(), input);  // a helper that exits early is judged by its status
  in_write.reset();
  std::string output;
  char buf[4096];
  while (output.size() < kMaxHelperOutput) {
    auto n = readSome(out_read.get(), buf, sizeof buf);
    if (!n || *n == 0) break;
    output.append(buf, *n);
  }
  out_read.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;
  std::string said(output.substr(0, output.find('\n')));
  if (said.find("credentials not found") != std::string::npos) {
    return fail(Errc::kNotFound, fmt::format("{} {}: {}", program, verb, said));
  }
  return fail(Errc::kPermission, fmt::format("{} {} failed: {}", program, verb, said));
}

}  // namespace hull::registry
