// COPY and ADD (copy.h): selecting the sources in a tree with Docker's rules and hashing them
// for the cache key. Writing them into a root is copy_apply.cc; URLs and archives copy_fetch.cc.
// docs/copy-add.md states the rules.
#include "build/copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <thread>

#include "base/scope_exit.h"
#include "build/copy_internal.h"

namespace hull::build {

using detail::CopyEntry;
using detail::CopyItem;

namespace {

constexpr int kMaxSymlinks = 40;

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string joinRel(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return std::string(a) + "/" + std::string(b);
}

bool hasMeta(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

// Lexically cleans a source into a path relative to the tree's root; a source that climbs above
// the root ("../x") is refused, as the classic builder did.
Result<std::string> cleanSource(std::string_view source, const SourceTree& tree) {
  std::string rel = std::string(source);
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  std::string cleaned = dockerfile::cleanPath(rel);
  if (cleaned == ".." || cleaned.starts_with("../")) {
    return fail(Errc::kInvalidArgument,
                "forbidden path outside the " + tree.what + ": " + std::string(source));
  }
  return cleaned == "." ? std::string() : cleaned;
}

// Follows the path `rel` inside the tree, symlinks included, without leaving it: a link that
// points outside (absolute, or ".." past the root) is an error for the build context, and
// resolves inside the root for a stage or image (as it would in a container). Returns the
// symlink-free relative path, or nullopt when something on the way does not exist.
Result<std::optional<std::string>> resolveInTree(const SourceTree& tree, std::string_view rel,
                                                 std::string_view label) {
  auto outside = [&] {
    return fail(Errc::kInvalidArgument,
                "source " + std::string(label) + " points outside the " + tree.what);
  };
  const bool scoped = tree.symlinks_in_root || tree.what != "build context";
  std::vector<std::string> done;
  std::deque<std::string> todo;
  for (auto& p : splitPath(rel)) todo.push_back(std::move(p));
  int links = 0;
  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp == ".") continue;
    if (comp == "..") {
      if (done.empty()) {
        if (!scoped) return outside();
        continue;
      }
      done.pop_back();
      continue;
    }
    done.push_back(comp);
    std::string cur;
    for (const auto& d : done) cur = joinRel(cur, d);
    struct stat st;
    if (::lstat((tree.root / cur).c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
      return failErrno("stat " + (tree.root / cur).string());
    }
    if (!S_ISLNK(st.st_mode)) continue;
    if (++links > kMaxSymlinks) return fail(Errc::kInvalidArgument, "too many symlinks: " + cur);
    std::error_code ec;
    fs::path target = fs::read_symlink(tree.root / cur, ec);
    if (ec) return fail(Errc::kIo, "readlink " + (tree.root / cur).string() + ": " + ec.message());
    done.pop_back();
    if (target.is_absolute()) {
      if (!scoped) return outside();
      done.clear();
    }
    auto parts = splitPath(target.string());
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_front(*it);
  }
  std::string out;
  for (const auto& d : done) out = joinRel(out, d);
  return std::optional<std::string>(out);
}

bool ignored(const SourceTree& tree, std::string_view rel) {
  return tree.ignore != nullptr && !rel.empty() && tree.ignore->matches(rel);
}

bool mayHoldReincluded(const SourceTree& tree, const std::string& rel) {
  struct stat st;
  return tree.ignore != nullptr && tree.ignore->hasExceptions() &&
         ::stat((tree.root / rel).c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
         !tree.ignore->canSkipExcludedDir(rel);
}

// Go's filepath.Glob over the tree, one component at a time; returns logical paths, sorted.
Result<std::vector<std::string>> expandGlob(const SourceTree& tree, const std::string& pattern,
                                            std::string_view label) {
  std::vector<std::string> candidates{""};
  for (const auto& comp : splitPath(pattern)) {
    std::vector<std::string> next;
    for (const auto& c : candidates) {
      if (!hasMeta(comp)) {
        next.push_back(joinRel(c, comp));
        continue;
      }
      HULL_ASSIGN_OR_RETURN(auto dir, resolveInTree(tree, c, label));
      if (!dir) continue;
      std::error_code ec;
      std::vector<std::string> names;
      for (const auto& e : fs::directory_iterator(tree.root / *dir, ec)) {
        names.push_back(e.path().filename().string());
      }
      std::sort(names.begin(), names.end());
      for (const auto& name : names) {
        auto m = dockerfile::globMatch(comp, name);
        if (!m) return fail(m.error().wrap("source " + std::string(label)));
        if (*m) next.push_back(joinRel(c, name));
      }
    }
    candidates = std::move(next);
  }
  return candidates;
}

struct Walker {
  const SourceTree& tree;
  const dockerfile::IgnoreMatcher* excludes;  // null: none

  Result<CopyEntry> entryFor(const fs::path& host, const struct stat& st, std::string rel) {
    CopyEntry e;
    e.rel = std::move(rel);
    e.host = host;
    e.mode = st.st_mode;
    e.mtime = st.st_mtim;
    e.rdev = st.st_rdev;
    if (S_ISREG(st.st_mode)) {
      e.size = st.st_size;
      e.ctime = st.st_ctim;
      e.ino = st.st_ino;  // hashed later, on every core (hashPending)
    } else if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      e.link = fs::read_symlink(host, ec).string();
      if (ec) return fail(Errc::kIo, "readlink " + host.string() + ": " + ec.message());
    }
    return e;
  }

  bool left_out(std::string_view tree_rel, std::string_view rel) const {
    return ignored(tree, tree_rel) || (excludes != nullptr && excludes->matches(rel));
  }

  // The contents of directory `tree_rel` (symlink-free), `rel` being its path below the item.
  Result<void> walk(const std::string& tree_rel, const std::string& rel, CopyItem& item) {
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(tree.root / tree_rel, ec)) {
      names.push_back(e.path().filename().string());
    }
    if (ec) return fail(Errc::kIo, "read " + (tree.root / tree_rel).string() + ": " + ec.message());
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string child_tree = joinRel(tree_rel, name), child = joinRel(rel, name);
      fs::path host = tree.root / child_tree;
      struct stat st;
      if (::lstat(host.c_str(), &st) != 0) return failErrno("stat " + host.string());
      if (S_ISSOCK(st.st_mode)) continue;
      bool out = left_out(child_tree, child);
      if (out && !S_ISDIR(st.st_mode)) continue;
      if (out && tree.ignore != nullptr && ignored(tree, child_tree) &&
          tree.ignore->canSkipExcludedDir(child_tree) && excludes == nullptr) {
        continue;
      }
      HULL_ASSIGN_OR_RETURN(CopyEntry e, entryFor(host, st, child));
      std::size_t at = item.entries.size();
      item.entries.push_back(std::move(e));
      if (!S_ISDIR(st.st_mode)) continue;
      HULL_TRY(walk(child_tree, child, item));
      // An excluded directory stays only as the parent of something re-included below it.
      if (out && item.entries.size() == at + 1) item.entries.pop_back();
    }
    return {};
  }
};

// Hashes the regular files selected from the tree, on every core: a cold multi-GB context is
// bound by sha256, not by the walk. The stat cache is thread safe.
Result<void> hashPending(const SourceTree& tree, std::vector<CopyItem>& items) {
  std::vector<CopyEntry*> pending;
  for (auto& item : items) {
    for (auto& e : item.entries) {
      if (S_ISREG(e.mode) && e.digest.empty() && !e.host.empty()) pending.push_back(&e);
    }
  }
  std::atomic<std::size_t> next{0};
  std::mutex mu;
  std::optional<Error> first_error;
  auto work = [&] {
    for (std::size_t i = next++; i < pending.size(); i = next++) {
      CopyEntry& e = *pending[i];
      struct stat st = {};
      st.st_mode = e.mode;
      st.st_size = e.size;
      st.st_mtim = e.mtime;
      st.st_ctim = e.ctime;
      st.st_ino = e.ino;
      auto digest = tree.stat_cache != nullptr ? tree.stat_cache->fileDigest(e.host, st)
                                               : detail::hashFile(e.host);
      if (digest) {
        e.digest = *digest;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu);
      if (!first_error) first_error = digest.error();
      next = pending.size();
    }
  };
  const std::size_t threads =
      std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()), 8);
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads && t < pending.size(); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (first_error) return fail(*first_error);
  return {};
}

// The logical path kept by --parents: below the "/./" pivot when the source has one.
std::string parentsPrefix(std::string_view source, const std::string& matched) {
  std::string s(source);
  while (s.starts_with("./")) s.erase(0, 2);
  std::size_t pivot = s.find("/./");
  if (pivot == std::string::npos) return matched;
  std::string base = dockerfile::cleanPath(s.substr(0, pivot));
  while (!base.empty() && base.front() == '/') base.erase(0, 1);
  if (base == "." || base.empty()) return matched;
  if (matched.starts_with(base + "/")) return matched.substr(base.size() + 1);
  return matched;
}

}  // namespace

namespace detail {

// What a CopyOp holds. Not in the anonymous namespace: CopyOp::State, declared in copy.h, derives
// from it.
struct PreparedCopy {
  Digest digest;
  CopySpec spec;
  std::vector<CopyItem> items;
  std::string dest;
  bool dest_is_dir = false;
  fs::path tmp;  // downloads; removed with the op
  ~PreparedCopy() {
    if (!tmp.empty()) (void)removeAll(tmp);
  }
};

}  // namespace detail

struct CopyOp::State : detail::PreparedCopy {};

CopyOp::CopyOp(std::unique_ptr<State> state) : state_(std::move(state)) {}
CopyOp::CopyOp(CopyOp&&) noexcept = default;
CopyOp& CopyOp::operator=(CopyOp&&) noexcept = default;
CopyOp::~CopyOp() = default;

namespace {

using detail::PreparedCopy;

Result<void> addMatch(const SourceTree& tree, const CopySpec& spec, const std::string& source,
                      const std::string& matched, const std::string& resolved,
                      const dockerfile::IgnoreMatcher* excludes, PreparedCopy& state) {
  fs::path host = tree.root / resolved;
  struct stat st;
  if (::stat(host.c_str(), &st) != 0) return failErrno("stat " + host.string());
  CopyItem item;
  item.label = matched.empty() ? std::string("/") : matched;
  item.name = fs::path(matched).filename().string();
  if (spec.parents) item.prefix = parentsPrefix(source, matched);
  Walker walker{tree, excludes};
  if (S_ISDIR(st.st_mode)) {
    item.contents = true;
    HULL_TRY(walker.walk(resolved, "", item));
  } else {
    HULL_ASSIGN_OR_RETURN(CopyEntry e, walker.entryFor(host, st, ""));
    item.extract = spec.add && S_ISREG(st.st_mode) && detail::isArchive(host);
    item.entries.push_back(std::move(e));
  }
  state.items.push_back(std::move(item));
  return {};
}

Result<void> addLocalSource(const SourceTree& tree, const CopySpec& spec, const std::string& source,
                            const dockerfile::IgnoreMatcher* excludes, PreparedCopy& state) {
  HULL_ASSIGN_OR_RETURN(std::string rel, cleanSource(source, tree));
  const bool glob = hasMeta(rel);
  std::vector<std::string> matches{rel};
  if (glob) {
    HULL_ASSIGN_OR_RETURN(matches, expandGlob(tree, rel, source));
  }
  std::size_t found = 0;
  for (const auto& m : matches) {
    HULL_ASSIGN_OR_RETURN(auto resolved, resolveInTree(tree, m, source));
    if (!resolved) continue;
    // An ignored directory is still in the context as the parent of what an exception
    // re-includes below it: only that is copied.
    const bool hidden = ignored(tree, *resolved) || ignored(tree, m);
    if (hidden && !mayHoldReincluded(tree, *resolved)) continue;
    // A glob match that --exclude names is left out, as BuildKit does.
    if (glob && excludes != nullptr &&
        (excludes->matches(m) || excludes->matches(fs::path(m).filename().string()))) {
      continue;
    }
    HULL_TRY(addMatch(tree, spec, source, m, *resolved, excludes, state));
    if (hidden && state.items.back().entries.empty()) {
      state.items.pop_back();
      continue;
    }
    ++found;
  }
  if (found > 0) return {};
  if (glob) {
    return fail(Errc::kNotFound, "no source files were specified: " + source +
                                     " matches nothing in the " + tree.what);
  }
  return fail(Errc::kNotFound, "file not found in " + tree.what + ": " + source);
}

Result<void> addUrlSource(const CopySpec& spec, const CopyEnv& env, const std::string& url,
                          PreparedCopy& state) {
  if (!spec.add) {
    return fail(Errc::kInvalidArgument, "source can't be a URL for COPY: " + url + " (use ADD)");
  }
  if (detail::isGitUrl(url)) {
    return fail(Errc::kUnsupported, "ADD of a git repository is not supported: " + url);
  }
  if (state.tmp.empty()) {
    state.tmp = uniquePath(env.tmp_dir, "add");
    HULL_TRY(mkdirAll(state.tmp, 0700));
  }
  auto dl = detail::downloadUrl(url, state.tmp, spec.checksum);
  if (!dl) return fail(dl.error().wrap("ADD " + url));
  CopyItem item;
  item.label = url;
  item.name = dl->name;
  CopyEntry e;
  e.host = dl->file;
  e.mode = S_IFREG | 0600;
  e.size = dl->size;
  e.digest = dl->digest;
  e.mtime.tv_sec = dl->last_modified.value_or(env.source_date_epoch.value_or(0));
  item.entries.push_back(std::move(e));
  state.items.push_back(std::move(item));
  return {};
}

void addInline(const dockerfile::Heredoc& heredoc, const CopyEnv& env, PreparedCopy& state) {
  CopyItem item;
  item.label = "<<" + heredoc.name;
  item.name = heredoc.name;
  CopyEntry e;
  e.data = heredoc.content;
  e.mode = S_IFREG | 0644;
  e.size = static_cast<int64_t>(heredoc.content.size());
  e.digest = Digest::ofBytes(heredoc.content);
  e.mtime.tv_sec = env.source_date_epoch.value_or(0);
  item.entries.push_back(std::move(e));
  state.items.push_back(std::move(item));
}

void field(Sha256& h, std::string_view s) {
  h.update(std::to_string(s.size()) + ":");
  h.update(s);
}

// The canonical input: per item in order, its kind and name, then each entry (already in sorted
// walk order) with path, type and permission bits, size, link target and content digest.
Digest digestItems(const PreparedCopy& state) {
  Sha256 h;
  field(h, "hull.copy.v1");
  for (const auto& item : state.items) {
    field(h, item.label.starts_with("<<") ? "inline" : "source");
    field(h, item.label);
    field(h, item.prefix);
    field(h, item.extract ? "extract" : item.contents ? "contents" : "file");
    for (const auto& e : item.entries) {
      field(h, e.rel);
      char mode[16];
      std::snprintf(mode, sizeof mode, "%o", static_cast<unsigned>(e.mode));
      field(h, mode);
      field(h, std::to_string(e.size));
      field(h, e.link);
      field(h, e.digest.str());
    }
  }
  return h.finish();
}

std::string destPath(const CopySpec& spec, bool* trailing_dir) {
  const std::string& d = spec.dest;
  *trailing_dir = d.ends_with("/") || d == "." || d.ends_with("/.") || d == ".." ||
                  d.ends_with("/..") || d.empty();
  std::string full = d.starts_with("/") ? d : spec.workdir + "/" + d;
  if (!full.starts_with("/")) full = "/" + full;
  return dockerfile::cleanPath(full);
}

}  // namespace

Result<CopyOp> CopyOp::prepare(const SourceTree& tree, const CopySpec& spec, const CopyEnv& env) {
  auto state = std::make_unique<State>();
  state->spec = spec;
  if (spec.sources.empty() && spec.inline_sources.empty()) {
    return fail(Errc::kInvalidArgument, "no source files were specified");
  }
  HULL_TRY(detail::parseChmod(spec.chmod));
  if (!spec.checksum.empty() && !spec.add) {
    return fail(Errc::kInvalidArgument, "--checksum is only for ADD");
  }
  std::optional<dockerfile::IgnoreMatcher> excludes;
  if (!spec.excludes.empty()) {
    auto m = dockerfile::IgnoreMatcher::fromPatterns(spec.excludes);
    if (!m) return fail(m.error().wrap("--exclude"));
    excludes = std::move(*m);
  }
  for (const auto& source : spec.sources) {
    if (detail::isUrl(source) || detail::isGitUrl(source)) {
      HULL_TRY(addUrlSource(spec, env, source, *state));
    } else {
      HULL_TRY(addLocalSource(tree, spec, source, excludes ? &*excludes : nullptr, *state));
    }
  }
  for (const auto& heredoc : spec.inline_sources) addInline(heredoc, env, *state);
  HULL_TRY(hashPending(tree, state->items));
  if (!spec.checksum.empty() &&
      std::none_of(spec.sources.begin(), spec.sources.end(), detail::isUrl)) {
    return fail(Errc::kInvalidArgument, "--checksum needs an http(s) URL source");
  }
  bool trailing = false;
  state->dest = destPath(spec, &trailing);
  state->dest_is_dir = trailing || state->items.size() > 1;
  state->digest = digestItems(*state);
  return CopyOp(std::move(state));
}

const Digest& CopyOp::sourcesDigest() const { return state_->digest; }

Result<void> CopyOp::apply(const fs::path& root) const {
  detail::ApplyPlan plan;
  plan.spec = &state_->spec;
  plan.items = &state_->items;
  plan.dest = state_->dest;
  plan.dest_is_dir = state_->dest_is_dir;
  return detail::applyItems(root, plan);
}

namespace detail {

Result<Digest> hashFile(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return failErrno("open " + path.string());
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  Sha256 h;
  std::vector<char> buf(1u << 20);
  while (true) {
    HULL_ASSIGN_OR_RETURN(std::size_t n, readSome(fd.get(), buf.data(), buf.size()));
    if (n == 0) break;
    h.update(buf.data(), n);
  }
  return h.finish();
}

Result<int> parseChmod(std::string_view chmod) {
  if (chmod.empty()) return -1;
  int mode = 0;
  for (char c : chmod) {
    if (c < '0' || c > '7' || mode > 07777) {
      return fail(Errc::kInvalidArgument,
                  "--chmod=" + std::string(chmod) + ": only octal modes are supported");
    }
    mode = mode * 8 + (c - '0');
  }
  if (mode > 07777) {
    return fail(Errc::kInvalidArgument, "--chmod=" + std::string(chmod) + ": mode out of range");
  }
  return mode;
}

}  // namespace detail

}  // namespace hull::build
