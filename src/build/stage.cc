// One stage of a build (builder_internal.h): FROM, the base image's ONBUILD triggers, then each
// instruction as a config change, or as a layer step — cache lookup by key, else a mounted root,
// the work (RUN, COPY/ADD, WORKDIR's mkdir), a commit and a cache record.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <type_traits>

#include "base/fs.h"
#include "base/json.h"
#include "base/scope_exit.h"
#include "base/unique_fd.h"
#include "build/builder_internal.h"
#include "build/copy_internal.h"
#include "build/run_mounts.h"
#include "dockerfile/text.h"

namespace hull::build::detail {

namespace df = hull::dockerfile;

namespace {

// `path` with every symlink resolved as if root were "/" (BuildKit's RootPath): a dangling link
// gives the path its target would have, so that mkdir -p creates it inside root.
Result<std::string> resolveInRoot(int root_fd, std::string_view path) {
  std::vector<std::string> todo, done;
  auto push = [&todo](std::string_view p) {
    std::vector<std::string> parts;
    std::size_t i = 0;
    while (i <= p.size()) {
      std::size_t j = p.find('/', i);
      if (j == std::string_view::npos) j = p.size();
      if (j > i) parts.emplace_back(p.substr(i, j - i));
      i = j + 1;
    }
    todo.insert(todo.end(), parts.rbegin(), parts.rend());
  };
  push(path);
  int hops = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.back());
    todo.pop_back();
    if (name == ".") continue;
    if (name == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    std::string rel;
    for (const auto& d : done) rel += d + "/";
    rel += name;
    char target[4096];
    ssize_t n = ::readlinkat(root_fd, rel.c_str(), target, sizeof target - 1);
    if (n < 0) {
      done.push_back(std::move(name));
      continue;
    }
    if (++hops > 255) return fail(Errc::kInvalidArgument, "too many levels of symbolic links");
    std::string_view t(target, static_cast<std::size_t>(n));
    if (!t.empty() && t[0] == '/') done.clear();
    push(t);
  }
  std::string out;
  for (const auto& d : done) out += "/" + d;
  return out.empty() ? std::string("/") : out;
}

// mkdir -p of an absolute path inside root: the path is resolved inside root first, then each
// parent is opened with RESOLVE_IN_ROOT, so a symlink in the image cannot send the directory
// outside the root. The directories it creates belong to `owner` (BuildKit creates WORKDIR as
// the stage's USER).
Result<void> mkdirInRoot(const fs::path& root, std::string_view path, const Owner& owner) {
  UniqueFd root_fd(::open(root.c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!root_fd) return failErrno("open " + root.string());
  HULL_ASSIGN_OR_RETURN(std::string resolved, resolveInRoot(root_fd.get(), path));
  std::string prefix = "/";
  std::size_t i = 1;
  while (i < resolved.size()) {
    std::size_t j = resolved.find('/', i);
    if (j == std::string::npos) j = resolved.size();
    std::string name = resolved.substr(i, j - i);
    i = j + 1;
    UniqueFd parent(openInRoot(root_fd.get(), prefix, O_DIRECTORY | O_PATH | O_CLOEXEC));
    if (!parent) return failErrno("WORKDIR " + std::string(path) + ": open " + prefix);
    if (::mkdirat(parent.get(), name.c_str(), 0755) == 0) {
      if (::fchmodat(parent.get(), name.c_str(), 0755, 0) != 0 ||
          ::fchownat(parent.get(), name.c_str(), owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return failErrno("WORKDIR " + std::string(path) + ": " + prefix + name);
      }
    } else if (errno != EEXIST) {
      return failErrno("WORKDIR " + std::string(path) + ": mkdir " + prefix + name);
    }
    prefix += name + "/";
  }
  UniqueFd dir(openInRoot(root_fd.get(), resolved, O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!dir) return failErrno("WORKDIR " + std::string(path));
  return {};
}

// The owner of WORKDIR's new directories: the stage's USER, resolved in its root (root when
// unset or unknown there).
Owner workdirOwner(const fs::path& root, const std::string& user) {
  if (user.empty()) return Owner{};
  UniqueFd root_fd(::open(root.c_str(), O_DIRECTORY | O_PATH | O_CLOEXEC));
  if (!root_fd) return Owner{};
  std::string spec = user;
  if (spec.find(':') == std::string::npos && !spec.empty() &&
      spec.find_first_not_of("0123456789") == std::string::npos) {
    spec += ":0";  // a bare uid: group 0 unless passwd says otherwise (kept simple)
  }
  auto owner = resolveOwner(root_fd.get(), spec);
  return owner ? *owner : Owner{};
}

std::string compressionName(layer::Compression c) {
  switch (c) {
    case layer::Compression::kNone:
      return "none";
    case layer::Compression::kGzip:
      return "gzip";
    case layer::Compression::kZstd:
      return "zstd";
  }
  return "?";
}

class StageRunner {
 public:
  StageRunner(BuildContext& ctx, const df::Stage& stage) : ctx_(ctx), stage_(stage) {}

  Result<StageResult> run();

 private:
  Result<void> from();
  Result<void> instruction(const df::Instruction& ins, int step);
  Result<void> configStep(const df::Instruction& ins, const StepEvent& ev);
  // Chains `key` for a step that makes no layer. Its record (no layer) lets progress say CACHED
  // for it when a build passed here before.
  Result<void> configRecord(const Digest& key, const std::string& created_by, const StepEvent& ev);
  Result<void> runStep(const df::Instruction& ins, const df::Run& run, const StepEvent& ev);
  Result<void> copyStep(const df::Instruction& ins, const df::Copy& copy, const StepEvent& ev);
  Result<void> workdirStep(const df::Instruction& ins, const StepEvent& ev);
  // Reuses the cached result of `key`, or mounts the stage's root, runs `work` in it, commits
  // it and records it. Appends the layer (if any) and the history entry.
  Result<void> layerStep(KeyBuilder kb, const std::string& created_by, const StepEvent& ev,
                         const std::function<Result<void>(Mounted&)>& work);
  void append(const std::optional<Layer>& layer, const std::string& created_by,
              const std::string& created);
  std::string createdOf(const std::optional<CacheRecord>& rec) const;
  Result<std::unique_ptr<Mounted>> mountFrom(const std::optional<int>& stage,
                                             const std::string& image, Digest* key);
  StepEvent event(int step, const std::string& text) const;
  Error at(const df::Instruction& ins, const Error& e) const {
    return Error{e.code, located(ctx_.options->dockerfile_name, ins.range.start, e.message)};
  }

  BuildContext& ctx_;
  const df::Stage& stage_;
  ImageState state_;
  StageVars vars_;
  Digest key_;
};

StepEvent StageRunner::event(int step, const std::string& text) const {
  StepEvent ev;
  ev.stage = stage_.index;
  ev.stage_name = stage_.name;
  ev.step = step;
  ev.steps = ctx_.total_steps;
  ev.text = text;
  return ev;
}

Result<StageResult> StageRunner::run() {
  int step = ctx_.first_step.at(stage_.index);
  auto ev = event(step, "FROM " + stage_.base);
  if (ctx_.progress) ctx_.progress->stepStarted(ev);
  auto t0 = std::chrono::steady_clock::now();
  if (auto r = from(); !r) {
    return fail(Error{r.error().code, located(ctx_.options->dockerfile_name, stage_.range.start,
                                              r.error().message)});
  }
  if (ctx_.progress) {
    ctx_.progress->stepDone(
        ev, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  // ONBUILD triggers of the base run first, then the image keeps only this stage's own.
  if (!state_.config.config.on_build.empty()) {
    auto triggers =
        parseTriggers(state_.config.config.on_build, state_.config.config.env, ctx_.parse_options);
    if (!triggers) {
      return fail(Error{
          triggers.error().code,
          located(ctx_.options->dockerfile_name, stage_.range.start, triggers.error().message)});
    }
    state_.config.config.on_build.clear();
    for (const auto& ins : *triggers) HULL_TRY(instruction(ins, step));
  }
  for (const auto& ins : stage_.instructions) HULL_TRY(instruction(ins, ++step));
  return StageResult{std::move(state_), key_};
}

Result<void> StageRunner::from() {
  if (stage_.base_stage) {
    auto base = ctx_.result(*stage_.base_stage);
    if (!base) return fail(Errc::kInternal, "stage " + stage_.base + " has not been built");
    state_ = std::move(base->state);
    key_ = base->key;
  } else if (df::asciiLower(stage_.base) == "scratch") {
    state_.config = scratchConfig();
    key_ = baseKey(std::nullopt);
  } else {
    HULL_ASSIGN_OR_RETURN(BaseImage base, ctx_.image(stage_.base));
    state_ = std::move(base.state);
    ensurePath(state_.config.config.env);
    key_ = baseKey(base.manifest.digest);
  }
  return {};
}

Result<void> StageRunner::instruction(const df::Instruction& ins, int step) {
  if (ctx_.cancelled()) return fail(Errc::kCancelled, "build cancelled");
  auto ev = event(step, ins.original);
  if (ctx_.progress) ctx_.progress->stepStarted(ev);
  Result<void> r = std::visit(
      [&](const auto& b) -> Result<void> {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, df::Run>) return runStep(ins, b, ev);
        if constexpr (std::is_same_v<T, df::Copy>) return copyStep(ins, b, ev);
        if constexpr (std::is_same_v<T, df::Workdir>) return workdirStep(ins, ev);
        return configStep(ins, ev);
      },
      ins.body);
  if (!r) {
    // Errors that already name their line (a failing RUN) pass through as they are.
    std::string prefix = ctx_.options->dockerfile_name + ":";
    if (r.error().message.rfind(prefix, 0) == 0 || r.error().code == Errc::kCancelled) return r;
    return fail(at(ins, r.error()));
  }
  return {};
}

Result<void> StageRunner::configStep(const df::Instruction& ins, const StepEvent& ev) {
  std::string created_by = applyConfig(ins, state_.config, vars_);
  Digest key = KeyBuilder("config")
                   .add("parent", key_)
                   .add("instruction", canonicalConfig(ins, state_.config))
                   .finish();
  return configRecord(key, created_by, ev);
}

Result<void> StageRunner::configRecord(const Digest& key, const std::string& created_by,
                                       const StepEvent& ev) {
  auto rec = ctx_.options->no_cache ? std::nullopt : ctx_.cache->lookup(key);
  bool cached = rec.has_value();
  if (!cached) HULL_TRY(ctx_.cache->put(CacheRecord{key, std::nullopt, created_by, ctx_.created}));
  key_ = key;
  state_.config.history.push_back(historyEntry(created_by, createdOf(rec), true));
  if (cached) {
    std::lock_guard lock(ctx_.mu);
    ++ctx_.cached;
  }
  if (!ctx_.progress) return {};
  if (cached) {
    ctx_.progress->stepCached(ev);
  } else {
    ctx_.progress->stepDone(ev, 0);
  }
  return {};
}

// A cached step keeps the time it first ran, unless SOURCE_DATE_EPOCH fixes every time.
std::string StageRunner::createdOf(const std::optional<CacheRecord>& rec) const {
  if (ctx_.source_date_epoch || !rec || rec->created.empty()) return ctx_.created;
  return rec->created;
}

void StageRunner::append(const std::optional<Layer>& layer, const std::string& created_by,
                         const std::string& created) {
  if (layer) {
    state_.layers.push_back(*layer);
    state_.config.diff_ids.push_back(layer->diff_id);
  }
  state_.config.history.push_back(historyEntry(created_by, created, !layer));
}

Result<void> StageRunner::layerStep(KeyBuilder kb, const std::string& created_by,
                                    const StepEvent& ev,
                                    const std::function<Result<void>(Mounted&)>& work) {
  kb.add("compression", compressionName(ctx_.options->compression));
  if (ctx_.source_date_epoch) {
    kb.add("source_date_epoch", std::to_string(*ctx_.source_date_epoch));
  }
  Digest key = kb.finish();
  if (!ctx_.options->no_cache) {
    if (auto rec = ctx_.cache->lookup(key)) {
      if (ctx_.progress) ctx_.progress->stepCached(ev);
      {
        std::lock_guard lock(ctx_.mu);
        ++ctx_.cached;
      }
      append(rec->layer, created_by, createdOf(rec));
      key_ = key;
      return {};
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  HULL_ASSIGN_OR_RETURN(auto root, ctx_.executor->mount(state_.layers));
  HULL_TRY(work(*root));
  if (ctx_.cancelled()) return fail(Errc::kCancelled, "build cancelled");
  CommitOptions co;
  co.compression = ctx_.options->compression;
  co.source_date_epoch = ctx_.source_date_epoch;
  HULL_ASSIGN_OR_RETURN(auto layer, ctx_.executor->commit(std::move(root), co));
  HULL_TRY(ctx_.cache->put(CacheRecord{key, layer, created_by, ctx_.created}));
  append(layer, created_by, ctx_.created);
  key_ = key;
  if (ctx_.progress) {
    ctx_.progress->stepDone(
        ev, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return {};
}

Result<std::unique_ptr<Mounted>> StageRunner::mountFrom(const std::optional<int>& stage,
                                                        const std::string& image, Digest* key) {
  if (stage) {
    auto r = ctx_.result(*stage);
    if (!r) return fail(Errc::kInternal, "stage " + std::to_string(*stage) + " is not built");
    if (key) *key = r->key;
    return ctx_.executor->mount(r->state.layers);
  }
  HULL_ASSIGN_OR_RETURN(BaseImage base, ctx_.image(image));
  if (key) *key = base.manifest.digest;
  return ctx_.executor->mount(base.state.layers);
}

std::string runCanonical(const df::Run& run, const RunPlan& plan, const StageVars& vars,
                         const std::string& network, const std::vector<std::string>& mounts) {
  Json j = Json::object();
  j["args"] = plan.args;
  Json args = Json::array();
  for (const auto& [k, v] : usedArgs(run, vars)) args.push_back(k + "=" + v);
  j["build_args"] = args;
  j["network"] = network;
  j["security"] = run.security;
  // Names as written: a step that now finds its optional device missing is the same step.
  Json devices = Json::array();
  for (const auto& d : run.devices) devices.push_back(d.name + (d.required ? ",required" : ""));
  j["devices"] = devices;
  j["mounts"] = mounts;
  if (plan.script) j["script"] = plan.script->content;
  return j.dump();
}

Result<void> StageRunner::runStep(const df::Instruction& ins, const df::Run& run,
                                  const StepEvent& ev) {
  RunPlan plan = planRun(run, state_.config.config, vars_);
  std::string network =
      run.network.empty() || run.network == "default" ? ctx_.options->network : run.network;
  auto from_key = [&](const df::Mount& m) -> Digest {
    if (m.from_stage) {
      if (auto r = ctx_.result(*m.from_stage)) return r->key;
    } else if (!m.from.empty()) {
      if (auto img = ctx_.image(m.from)) return img->manifest.digest;
    } else if (m.type == "bind" && !ctx_.options->context.empty()) {
      SourceTree tree{ctx_.options->context, ctx_.ignore ? &*ctx_.ignore : nullptr,
                      ctx_.stat_cache.get()};
      CopySpec spec;
      spec.sources = {m.source.empty() ? "." : m.source};
      spec.dest = "/";
      if (auto op = CopyOp::prepare(tree, spec, CopyEnv{ctx_.store->tmpDir(), {}})) {
        return op->sourcesDigest();
      }
    }
    return Digest::ofBytes("unresolved:" + m.from + ":" + m.source);
  };
  auto mounts = canonicalMounts(run.mounts, from_key);
  KeyBuilder kb("run");
  kb.add("parent", key_).add("instruction", runCanonical(run, plan, vars_, network, mounts));
  return layerStep(kb, plan.created_by, ev, [&](Mounted& root) -> Result<void> {
    RunRequest req;
    req.args = plan.args;
    req.env = runEnv(state_.config.config, vars_, ctx_.df->proxy_args);
    req.user = state_.config.config.user;
    req.workdir = state_.config.config.working_dir.empty() ? "/" : state_.config.config.working_dir;
    req.network = network;
    req.cancel = &ctx_.stop;
    for (const auto& d : run.devices) req.devices.push_back(RunDevice{d.name, d.required});
    req.warn = [&](const std::string& text) {
      std::string w = located(ctx_.options->dockerfile_name, ins.range.start, text);
      if (ctx_.progress) ctx_.progress->warning(w);
      std::lock_guard lock(ctx_.mu);
      ctx_.step_warnings.push_back(std::move(w));
    };
    std::optional<RunMounts> held;
    if (!run.mounts.empty()) {
      MountEnv env;
      env.store = ctx_.store;
      env.cache = ctx_.cache.get();
      env.options = ctx_.options;
      env.mount_from = [&](const df::Mount& m) { return mountFrom(m.from_stage, m.from, nullptr); };
      HULL_ASSIGN_OR_RETURN(RunMounts rm, RunMounts::resolve(run.mounts, env));
      held.emplace(std::move(rm));
      req.mounts = held->mounts();
      for (auto& e : held->env()) req.env.push_back(e);
    }
    fs::path script;
    ScopeExit remove_script([&] {
      if (!script.empty()) (void)removeAll(script);
    });
    if (plan.script) {
      script = uniquePath(ctx_.store->tmpDir(), "heredoc-");
      HULL_TRY(writeFileAtomic(script, plan.script->content, 0755));
      req.mounts.push_back(RunMount{RunMount::Kind::kBind, script, plan.args[0], true, {}, {}});
    }
    TailLines tail;
    req.output = [&](std::string_view chunk) {
      tail.add(chunk);
      if (ctx_.progress) ctx_.progress->stepOutput(ev, chunk);
    };
    HULL_ASSIGN_OR_RETURN(int code, ctx_.executor->run(root, req));
    if (ctx_.cancelled()) return fail(Errc::kCancelled, "build cancelled");
    if (code != 0) {
      return fail(Errc::kInvalidArgument, runFailure(ctx_.options->dockerfile_name, ins.range.start,
                                                     plan.args, code, tail.lines()));
    }
    return {};
  });
}

CopySpec copySpec(const df::Copy& copy, const std::string& workdir) {
  CopySpec spec;
  spec.add = copy.add;
  spec.sources = copy.sources;
  spec.inline_sources = copy.inline_sources;
  spec.dest = copy.dest;
  spec.workdir = workdir.empty() ? "/" : workdir;
  spec.chown = copy.chown;
  spec.chmod = copy.chmod;
  spec.excludes = copy.excludes;
  spec.parents = copy.parents;
  spec.link = copy.link;
  spec.checksum = copy.checksum;
  spec.keep_git_dir = copy.keep_git_dir;
  return spec;
}

std::string copyCanonical(const CopySpec& spec) {
  Json j = Json::object();
  j["add"] = spec.add;
  j["sources"] = spec.sources;
  Json docs = Json::array();
  for (const auto& h : spec.inline_sources) docs.push_back(h.name + "\n" + h.content);
  j["inline"] = docs;
  j["dest"] = spec.dest;
  j["workdir"] = spec.workdir;
  j["chown"] = spec.chown;
  j["chmod"] = spec.chmod;
  j["excludes"] = spec.excludes;
  j["parents"] = spec.parents;
  j["link"] = spec.link;
  j["checksum"] = spec.checksum;
  j["keep_git_dir"] = spec.keep_git_dir;
  return j.dump();
}

Result<void> StageRunner::copyStep(const df::Instruction& ins, const df::Copy& copy,
                                   const StepEvent& ev) {
  CopySpec spec = copySpec(copy, state_.config.config.working_dir);
  CopyEnv env{ctx_.store->tmpDir(), ctx_.source_date_epoch};
  KeyBuilder kb("copy");
  kb.add("parent", key_).add("instruction", copyCanonical(spec));
  if (!copy.from_stage && copy.from.empty()) {
    // From the context: the sources' content digests are the input.
    SourceTree tree{ctx_.options->context, ctx_.ignore ? &*ctx_.ignore : nullptr,
                    ctx_.stat_cache.get()};
    HULL_ASSIGN_OR_RETURN(CopyOp op, CopyOp::prepare(tree, spec, env));
    kb.add("sources", op.sourcesDigest());
    return layerStep(kb, copyCreatedBy(copy), ev,
                     [&](Mounted& root) { return op.apply(root.root()); });
  }
  // From a stage or an image: its key (a stage's last key, an image's manifest digest) names
  // its content, so a cached copy needs no mount of the source; it is mounted only to copy.
  Digest from_key;
  if (copy.from_stage) {
    auto r = ctx_.result(*copy.from_stage);
    if (!r) return fail(Errc::kInternal, "stage " + copy.from + " is not built");
    from_key = r->key;
  } else {
    HULL_ASSIGN_OR_RETURN(BaseImage img, ctx_.image(copy.from));
    from_key = img.manifest.digest;
  }
  kb.add("from", from_key);
  return layerStep(kb, copyCreatedBy(copy), ev, [&](Mounted& root) -> Result<void> {
    HULL_ASSIGN_OR_RETURN(auto from_root, mountFrom(copy.from_stage, copy.from, nullptr));
    SourceTree tree;
    tree.root = from_root->root();
    tree.what = (copy.from_stage ? "stage " : "image ") + copy.from;
    HULL_ASSIGN_OR_RETURN(CopyOp op, CopyOp::prepare(tree, spec, env));
    return op.apply(root.root());
  });
}

Result<void> StageRunner::workdirStep(const df::Instruction& ins, const StepEvent& ev) {
  std::string created_by = applyConfig(ins, state_.config, vars_);
  const std::string& wd = state_.config.config.working_dir;
  if (wd == "/") {
    return configRecord(KeyBuilder("config").add("parent", key_).add("workdir", wd).finish(),
                        created_by, ev);
  }
  KeyBuilder kb("workdir");
  // The directories belong to USER: it is part of what the step makes.
  const std::string& user = state_.config.config.user;
  kb.add("parent", key_).add("path", wd).add("user", user);
  return layerStep(kb, created_by, ev, [&](Mounted& root) {
    return mkdirInRoot(root.root(), wd, workdirOwner(root.root(), user));
  });
}

}  // namespace

Result<StageResult> buildStage(BuildContext& ctx, const df::Stage& stage) {
  return StageRunner(ctx, stage).run();
}

}  // namespace hull::build::detail
