#include "engine/bootstrap.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "base/json.h"
#include "engine/format.h"
#include "engine/images.h"
#include "layer/layer.h"
#include "oci/media_types.h"

extern char** environ;

namespace hull::engine {
namespace {

constexpr std::string_view kPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool isAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Characters a word may hold beyond [a-z0-9]; the first must be [a-z0-9].
bool wordOf(std::string_view s, std::string_view extra, std::size_t max = 128) {
  if (s.empty() || s.size() > max || !isAlnumLower(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [extra](char c) {
    return isAlnumLower(c) || extra.find(c) != std::string_view::npos;
  });
}

// Debian's package name rule (Policy 5.6.1), with apt's ":arch", "=version" and "/release".
bool validPackage(std::string_view p) {
  std::size_t qualifier = p.find_first_of(":=/");
  if (!wordOf(p.substr(0, qualifier), "+.-") || p.substr(0, qualifier).size() < 2) return false;
  if (qualifier == std::string_view::npos) return true;
  std::string_view rest = p.substr(qualifier + 1);
  return !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("+.-~:_", c) != nullptr;
  });
}

// "a,b c" and repeated flags both give one list; empty items are dropped.
std::vector<std::string> splitList(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::size_t start = 0;
    while (start <= item.size()) {
      std::size_t end = item.find_first_of(", \t", start);
      if (end == std::string::npos) end = item.size();
      if (end > start) out.push_back(item.substr(start, end - start));
      start = end + 1;
    }
  }
  return out;
}

Result<void> checkMirror(std::string_view mirror) {
  bool scheme = mirror.starts_with("http://") || mirror.starts_with("https://") ||
                mirror.starts_with("file:///");
  bool clean = std::none_of(mirror.begin(), mirror.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) ||
           std::iscntrl(static_cast<unsigned char>(c));
  });
  if (!scheme || !clean) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--mirror \"{}\": expected an http://, https:// or file:/// URL "
                            "of a Debian archive",
                            mirror));
  }
  return {};
}

std::string trimLine(std::string_view s) {
  std::size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  std::size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    i = s.find_first_not_of(" \t", i);
    if (i == std::string_view::npos) break;
    std::size_t e = s.find_first_of(" \t", i);
    if (e == std::string_view::npos) e = s.size();
    out.emplace_back(s.substr(i, e - i));
    i = e;
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One deb822 stanza's fields (continuation lines joined) turned into entries.
void addStanza(const std::vector<std::pair<std::string, std::string>>& fields,
               std::vector<AptSource>& out) {
  std::vector<std::string> types, uris, suites;
  bool enabled = true;
  for (const auto& [key, value] : fields) {
    if (key == "types") types = words(value);
    if (key == "uris") uris = words(value);
    if (key == "suites") suites = words(value);
    if (key == "enabled") enabled = lower(trimLine(value)) != "no";
  }
  if (!enabled || std::find(types.begin(), types.end(), "deb") == types.end()) return;
  for (const auto& uri : uris) out.push_back({uri, suites});
}

std::vector<AptSource> parseDeb822(std::string_view text) {
  std::vector<AptSource> out;
  std::vector<std::pair<std::string, std::string>> fields;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.starts_with("#")) continue;
    if (trimLine(line).empty()) {
      addStanza(fields, out);
      fields.clear();
    } else if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) {
      fields.back().second += " " + trimLine(line);
    } else if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
      fields.emplace_back(lower(trimLine(line.substr(0, colon))), trimLine(line.substr(colon + 1)));
    }
  }
  addStanza(fields, out);
  return out;
}

std::vector<AptSource> parseOneLine(std::string_view text) {
  std::vector<AptSource> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (std::size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    // "deb [ options ] uri suite [component...]": drop the options first.
    if (std::size_t open = line.find('['); open != std::string::npos) {
      std::size_t close = line.find(']', open);
      if (close == std::string::npos) continue;
      line.erase(open, close - open + 1);
    }
    auto w = words(line);
    if (w.size() < 3 || w[0] != "deb") continue;
    out.push_back({w[1], {w[2]}});
  }
  return out;
}

// A mirror the main archive may be fetched from: a Debian archive, never its security archive.
bool archiveLike(const AptSource& s) {
  bool scheme = s.uri.starts_with("http://") || s.uri.starts_with("https://") ||
                s.uri.starts_with("file:///");
  return scheme && s.uri.find("security") == std::string::npos;
}

}  // namespace

std::vector<AptSource> parseAptSources(std::string_view text, bool deb822) {
  return deb822 ? parseDeb822(text) : parseOneLine(text);
}

std::string chooseMirror(const std::vector<AptSource>& sources, std::string_view suite) {
  for (const auto& s : sources) {
    if (archiveLike(s) && std::find(s.suites.begin(), s.suites.end(), suite) != s.suites.end()) {
      return s.uri;
    }
  }
  for (const auto& s : sources) {
    std::string_view uri = s.uri;
    if (uri.ends_with('/')) uri.remove_suffix(1);
    if (archiveLike(s) && (uri.ends_with("/debian") || uri.find("/debian/") != uri.npos)) {
      return s.uri;
    }
  }
  return std::string(kDefaultMirror);
}

std::string defaultMirror(std::string_view suite, const fs::path& apt_dir) {
  std::vector<AptSource> sources;
  auto add = [&sources](const fs::path& file, bool deb822) {
    auto text = readFile(file, 1u << 20);
    if (!text) return;  // unreadable: apt would complain; the default mirror still works
    auto parsed = parseAptSources(*text, deb822);
    sources.insert(sources.end(), parsed.begin(), parsed.end());
  };
  add(apt_dir / "sources.list", false);
  // apt reads the directory in name order, and only these two suffixes.
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(apt_dir / "sources.list.d", ec)) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    if (f.extension() == ".list") add(f, false);
    if (f.extension() == ".sources") add(f, true);
  }
  return chooseMirror(sources, suite);
}

Result<oci::Platform> platformOfDpkgArch(std::string_view arch) {
  static const std::pair<std::string_view, std::pair<std::string_view, std::string_view>>
      kArches[] = {
          {"amd64", {"amd64", ""}},       {"arm64", {"arm64", "v8"}},
          {"armhf", {"arm", "v7"}},       {"armel", {"arm", "v5"}},
          {"i386", {"386", ""}},          {"ppc64el", {"ppc64le", ""}},
          {"s390x", {"s390x", ""}},       {"riscv64", {"riscv64", ""}},
          {"mips64el", {"mips64le", ""}}, {"loong64", {"loong64", ""}},
      };
  for (const auto& [dpkg, oci_arch] : kArches) {
    if (arch == dpkg) {
      oci::Platform p;
      p.os = "linux";
      p.architecture = oci_arch.first;
      p.variant = oci_arch.second;
      return p;
    }
  }
  return fail(Errc::kInvalidArgument,
              fmt::format("--architecture \"{}\": not a Debian architecture hull knows (amd64, "
                          "arm64, armhf, armel, i386, ppc64el, s390x, riscv64, mips64el)",
                          arch));
}

Result<BootstrapOptions> resolveBootstrapOptions(BootstrapOptions o) {
  HULL_ASSIGN_OR_RETURN(o.name, store::normalizeName(o.name));
  if (!wordOf(lower(o.suite), "._-", 64)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--suite \"{}\": expected a Debian suite such as bookworm", o.suite));
  }
  if (o.variant != "apt" && o.variant != "minbase" && o.variant != "essential") {
    return fail(Errc::kInvalidArgument,
                fmt::format("--variant \"{}\": expected apt, minbase or essential", o.variant));
  }
  o.include = splitList(o.include);
  for (const auto& p : o.include) {
    if (!validPackage(p)) {
      return fail(Errc::kInvalidArgument, fmt::format("--include \"{}\": not a package name", p));
    }
  }
  o.components = splitList(o.components);
  if (o.components.empty()) o.components = {"main"};
  for (const auto& c : o.components) {
    if (!wordOf(c, "-_/", 64)) {
      return fail(Errc::kInvalidArgument, fmt::format("--components \"{}\": not a component", c));
    }
  }
  if (!o.architecture.empty()) HULL_TRY(platformOfDpkgArch(o.architecture));
  if (o.mirror.empty()) o.mirror = defaultMirror(o.suite);
  HULL_TRY(checkMirror(o.mirror));
  if (o.source_date_epoch && *o.source_date_epoch < 0) {
    return fail(Errc::kInvalidArgument, "--source-date-epoch: not a number of seconds");
  }
  if (!o.source_date_epoch) {
    const char* env = std::getenv("SOURCE_DATE_EPOCH");
    if (env != nullptr && *env != '\0') {
      HULL_ASSIGN_OR_RETURN(o.source_date_epoch, buildTime());
    }
  }
  return o;
}

std::vector<std::string> mmdebstrapArgs(const BootstrapOptions& o) {
  std::vector<std::string> args = {"--variant=" + o.variant, "--format=tar"};
  if (o.verbose) args.push_back("--verbose");
  std::string comps;
  for (const auto& c : o.components) comps += (comps.empty() ? "" : ",") + c;
  args.push_back("--components=" + comps);
  if (!o.architecture.empty()) args.push_back("--architectures=" + o.architecture);
  if (!o.include.empty()) {
    std::string inc;
    for (const auto& p : o.include) inc += (inc.empty() ? "" : ",") + p;
    args.push_back("--include=" + inc);
  }
  args.push_back(o.suite);
  args.push_back("-");  // the tarball on stdout
  args.push_back(o.mirror);
  return args;
}

std::string bootstrapCreatedBy(const BootstrapOptions& o) {
  std::string s = fmt::format("hull bootstrap --suite {} --variant {}", o.suite, o.variant);
  if (!o.include.empty()) {
    s += " --include ";
    for (std::size_t i = 0; i < o.include.size(); ++i) s += (i ? "," : "") + o.include[i];
  }
  if (o.components != std::vector<std::string>{"main"}) {
    s += " --components ";
    for (std::size_t i = 0; i < o.components.size(); ++i) s += (i ? "," : "") + o.components[i];
  }
  if (!o.architecture.empty()) s += " --architecture " + o.architecture;
  return s;
}

Result<oci::ImageConfig> bootstrapConfig(const BootstrapOptions& o, const Digest& diff_id) {
  oci::Platform platform = oci::hostPlatform();
  if (!o.architecture.empty()) {
    HULL_ASSIGN_OR_RETURN(platform, platformOfDpkgArch(o.architecture));
  }
  int64_t when = o.source_date_epoch ? *o.source_date_epoch : std::time(nullptr);
  oci::ImageConfig c = oneLayerConfig(platform, when, diff_id, bootstrapCreatedBy(o));
  c.config.env = {"PATH=" + std::string(kPath)};
  // bash is Essential: yes in Debian, so every variant offered (essential, minbase, apt) has it.
  c.config.cmd = std::vector<std::string>{"bash"};
  c.config.labels["org.opencontainers.image.created"] = c.created;
  c.config.labels["org.opencontainers.image.description"] = fmt::format(
      "Debian {} ({} variant) made by hull bootstrap with mmdebstrap", o.suite, o.variant);
  return c;
}

namespace {

// mmdebstrap as a child process: the tar on one pipe, its messages on another (read by a thread
// of this object's own, so neither pipe can fill up and stall it). Killed, reaped and the thread
// joined when dropped, whatever path the caller took.
class Mmdebstrap {
 public:
  Mmdebstrap(const Mmdebstrap&) = delete;
  Mmdebstrap& operator=(const Mmdebstrap&) = delete;
  ~Mmdebstrap() {
    if (pid_ > 0) {
      stop();
      (void)wait();
    }
    if (reader_.joinable()) reader_.join();
  }

  static Result<std::unique_ptr<Mmdebstrap>> start(const BootstrapOptions& o,
                                                   const BootstrapProgress& progress);

  int tarFd() const { return out_.get(); }

  // Closes the tar pipe and asks mmdebstrap to stop (it cleans up its chroot on SIGTERM).
  void stop() {
    out_.reset();
    if (pid_ > 0) ::kill(pid_, SIGTERM);
  }

  // Reaps the child and joins the reader; returns the exit status (128 + signal when killed).
  Result<int> wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) return failErrno("waitpid mmdebstrap");
    }
    pid_ = -1;
    if (reader_.joinable()) reader_.join();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // The first error line mmdebstrap printed (its "E: " prefix removed), else its first line
  // that was not news of progress (a usage error, a Perl message); empty when none was read
  // (with --verbose its output goes straight to the user).
  std::string firstError() const {
    std::lock_guard lock(mu_);
    if (!errors_.empty()) return errors_.front();
    return other_;
  }

 private:
  Mmdebstrap() = default;
  void readMessages(UniqueFd err, BootstrapProgress progress);
  void takeLine(std::string_view line, const BootstrapProgress& progress);

  pid_t pid_ = -1;
  UniqueFd out_;
  std::thread reader_;
  mutable std::mutex mu_;
  std::vector<std::string> errors_;
  std::string other_;
};

void Mmdebstrap::takeLine(std::string_view line, const BootstrapProgress& progress) {
  std::lock_guard lock(mu_);
  if (line.starts_with("E: ") && errors_.size() < 8) errors_.emplace_back(line.substr(3));
  bool info = line.starts_with("I: ") || line.starts_with("W: ");
  if (other_.empty() && !info && !trimLine(line).empty()) other_ = line;
  // One line per phase: mmdebstrap's "I: <doing something>..." lines, without its bookkeeping.
  // Its notes on cleaning up after a failure ("main() received signal PIPE: waiting for
  // setup...") are not phases: the error line says what happened.
  bool phase = line.starts_with("I: ") && line.ends_with("...") &&
               line.find("tempdir") == std::string_view::npos &&
               line.find("signal") == std::string_view::npos;
  if (phase && progress) progress(line.substr(3));
}

void Mmdebstrap::readMessages(UniqueFd err, BootstrapProgress progress) {
  std::string pending;
  char buf[4096];
  while (true) {
    auto n = readSome(err.get(), buf, sizeof buf);
    if (!n || *n == 0) break;
    pending.append(buf, *n);
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      takeLine(std::string_view(pending).substr(0, nl), progress);
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty()) takeLine(pending, progress);
}

// The child's environment: ours, with SOURCE_DATE_EPOCH as the options say.
std::vector<std::string> childEnvironment(const BootstrapOptions& o) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with("SOURCE_DATE_EPOCH=")) env.emplace_back(*e);
  }
  if (o.source_date_epoch) env.push_back(fmt::format("SOURCE_DATE_EPOCH={}", *o.source_date_epoch));
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

Result<std::unique_ptr<Mmdebstrap>> Mmdebstrap::start(const BootstrapOptions& o,
                                                      const BootstrapProgress& progress) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return failErrno("pipe");
  UniqueFd out_read(out[0]), out_write(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return failErrno("pipe");
  UniqueFd err_read(err[0]), err_write(err[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  if (!o.verbose) posix_spawn_file_actions_adddup2(&actions, err_write.get(), STDERR_FILENO);
  // Default dispositions, so that a closed tar pipe or a SIGTERM stops it as it would a shell's.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, none;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM}) sigaddset(&defaults, sig);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<std::string> argv_s = mmdebstrapArgs(o);
  argv_s.insert(argv_s.begin(), o.program);
  std::vector<std::string> env_s = childEnvironment(o);
  auto argv = pointers(argv_s);
  auto envp = pointers(env_s);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, o.program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc == ENOENT) {
    return fail(Errc::kUnsupported,
                fmt::format("bootstrap needs {}, which is not installed (apt-get install "
                            "mmdebstrap)",
                            o.program));
  }
  if (rc != 0) return failErrno("start " + o.program, rc);
  std::unique_ptr<Mmdebstrap> m(new Mmdebstrap());
  m->pid_ = pid;
  m->out_ = std::move(out_read);
  if (!o.verbose) {
    err_write.reset();  // the reader sees the end when the child and its children are gone
    m->reader_ = std::thread(&Mmdebstrap::readMessages, m.get(), std::move(err_read), progress);
  }
  return m;
}

// Streams the tar into a gzip layer blob; the blob is committed by the caller. `eof` says whether
// the pipe reached its end (mmdebstrap closed it) rather than the tar being refused midway.
Result<layer::LayerInfo> ingestTar(int fd, store::BlobWriter& blob, bool& eof) {
  auto pipe = layer::fdReader(fd);
  auto in = layer::funcReader([&pipe, &eof](void* data, std::size_t size) -> Result<std::size_t> {
    HULL_ASSIGN_OR_RETURN(std::size_t n, pipe->read(data, size));
    if (n == 0) eof = true;
    return n;
  });
  auto out = layer::funcWriter(
      [&blob](const void* data, std::size_t size) { return blob.write(data, size); });
  return layer::importTarball(*in, *out, layer::Compression::kGzip);
}

// Writes the config and manifest of the committed layer and points the name at them.
Result<ImportResult> writeImage(const store::Store& store, const BootstrapOptions& o,
                                const oci::Descriptor& layer, const Digest& diff_id) {
  HULL_ASSIGN_OR_RETURN(oci::ImageConfig config, bootstrapConfig(o, diff_id));
  return publishOneLayerImage(store, o.name, oci::toJson(config), layer);
}

}  // namespace

Result<ImportResult> bootstrapImage(const store::Store& store, const BootstrapOptions& options,
                                    const BootstrapProgress& progress) {
  // 1. Everything the user gave is checked before anything runs.
  HULL_ASSIGN_OR_RETURN(BootstrapOptions o, resolveBootstrapOptions(options));
  HULL_TRY(bootstrapConfig(o, Digest::ofBytes("")));
  auto say = [&progress](std::string_view line) {
    if (progress) progress(line);
  };
  say(fmt::format("bootstrapping Debian {} ({} variant{}) from {}", o.suite, o.variant,
                  o.include.empty() ? ""
                                    : fmt::format(" + {} package{}", o.include.size(),
                                                  o.include.size() == 1 ? "" : "s"),
                  o.mirror));
  // 2. mmdebstrap writes the tar to a pipe; it is stored as it comes, under the shared lock.
  HULL_ASSIGN_OR_RETURN(auto child, Mmdebstrap::start(o, progress));
  HULL_ASSIGN_OR_RETURN(store::Lock shared, store.lock(store::LockMode::kShared));
  HULL_ASSIGN_OR_RETURN(store::BlobWriter blob, store.ingest());
  bool eof = false;
  Result<layer::LayerInfo> info = ingestTar(child->tarFd(), blob, eof);
  if (!info && !eof) child->stop();  // a refused tar: mmdebstrap would block on a full pipe
  // 3. Nothing is committed unless mmdebstrap says it succeeded: its error explains a torn tar.
  HULL_ASSIGN_OR_RETURN(int status, child->wait());
  if (status != 0 && (info || eof)) {
    std::string why = child->firstError();
    if (why.empty()) {
      why = fmt::format("mmdebstrap exited with status {}{}", status,
                        o.verbose ? " (its output above says why)" : "");
    }
    return fail(Errc::kIo,
                fmt::format("bootstrap of Debian {} from {} failed: {}", o.suite, o.mirror, why));
  }
  if (!info) return fail(std::move(info).error().wrap("bootstrap: reading mmdebstrap's tarball"));
  HULL_ASSIGN_OR_RETURN(oci::Descriptor layer_desc,
                        blob.commit(info->media_type, info->digest, info->size));
  (void)store.putLayerRecord(layer_desc.digest, {info->diff_id, info->uncompressed_size});
  // 4. Config and manifest, then the name, all or nothing.
  say(fmt::format("writing image {}", o.name));
  return writeImage(store, o, layer_desc, info->diff_id);
}

}  // namespace hull::engine
