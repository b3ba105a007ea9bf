// The builder (build.h): parse the Dockerfile against the base images' Env, run the build checks,
// build the stages the target needs — each in a thread of its own once the stages it reads are
// done — and write the target's config and manifest to the store.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <thread>

#include "base/fs.h"
#include "build/builder_internal.h"
#include "dockerfile/checks.h"
#include "oci/media_types.h"

namespace hull::build {

namespace detail {

Result<BaseImage> BuildContext::image(const std::string& ref) {
  {
    std::lock_guard lock(mu);
    if (auto it = base_images.find(ref); it != base_images.end()) return it->second;
  }
  // Resolved outside the lock: it may pull. Two stages asking at once both get the same image.
  auto base = (*images)(ref);
  if (!base) return fail(std::move(base).error());
  std::lock_guard lock(mu);
  return base_images.emplace(ref, std::move(base).value()).first->second;
}

std::optional<StageResult> BuildContext::result(int stage) {
  std::lock_guard lock(mu);
  auto it = results.find(stage);
  if (it == results.end()) return std::nullopt;
  return it->second;
}

}  // namespace detail

namespace {

using detail::BuildContext;

// Parses with the base images' Env for expansion and collects the parser's and the checks'
// warnings.
Result<dockerfile::Dockerfile> parseDockerfile(BuildContext& ctx, std::vector<std::string>* out) {
  const BuildOptions& o = *ctx.options;
  ctx.parse_options.file = o.dockerfile_name;
  ctx.parse_options.build_args = o.build_args;
  ctx.parse_options.target = o.target;
  ctx.parse_options.base_image_env =
      [&ctx](const std::string& base) -> Result<std::vector<std::string>> {
    HULL_ASSIGN_OR_RETURN(BaseImage img, ctx.image(base));
    auto env = img.state.config.config.env;
    detail::ensurePath(env);
    return env;
  };
  HULL_ASSIGN_OR_RETURN(dockerfile::Dockerfile df,
                        dockerfile::parse(o.dockerfile, ctx.parse_options));
  for (const auto& w : df.warnings)
    out->push_back(detail::located(o.dockerfile_name, w.line, w.message));
  dockerfile::CheckOptions checks;
  checks.base_image_env = ctx.parse_options.base_image_env;
  for (const auto& c : dockerfile::runChecks(df, o.dockerfile, checks)) {
    out->push_back(detail::located(o.dockerfile_name, c.line, c.rule + ": " + c.message));
  }
  return df;
}

// The context's .dockerignore and the stat cache of its files.
Result<void> loadContext(BuildContext& ctx) {
  ctx.stat_cache = StatCache::open(ctx.store->root() / "cache" / "context-stat.json");
  if (ctx.options->context.empty()) return {};
  fs::path ignore = ctx.options->context / ".dockerignore";
  std::error_code ec;
  if (!fs::is_regular_file(ignore, ec)) return {};
  HULL_ASSIGN_OR_RETURN(std::string text, readFile(ignore));
  HULL_ASSIGN_OR_RETURN(auto matcher, dockerfile::IgnoreMatcher::parse(text, ".dockerignore"));
  ctx.ignore = std::move(matcher);
  return {};
}

// GCC 12's AddressSanitizer has no fork handler: a RUN container forked while another stage's
// thread holds the sanitizer allocator's lock would deadlock at its first allocation (glibc's
// malloc is made safe by fork itself). Sanitized builds run one stage at a time.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Runs every stage once the stages it depends on are done, at most max_parallel_stages at a
// time. The first failure stops the others (their running process is killed) and is returned.
Result<void> runStages(BuildContext& ctx) {
  const auto& stages = ctx.df->stages;
  auto deps = detail::stageDependencies(stages);
  for (const auto& d : deps) {
    if (std::find(d.begin(), d.end(), -1) != d.end()) {
      return fail(Errc::kInternal, "a stage depends on a stage outside the build");
    }
  }
  enum State { kPending, kRunning, kDone };
  std::vector<State> state(stages.size(), kPending);
  std::optional<Error> first_error;
  std::mutex m;
  std::condition_variable cv;
  int running = 0;
  int limit = kSanitized ? 1 : std::max(1, ctx.options->max_parallel_stages);
  std::vector<std::thread> threads;
  auto work = [&](std::size_t i) {
    auto r = detail::buildStage(ctx, stages[i]);
    if (r) {
      std::lock_guard lock(ctx.mu);
      ctx.results[stages[i].index] = std::move(r).value();
    }
    std::lock_guard lock(m);
    if (!r) {
      if (!first_error ||
          (first_error->code == Errc::kCancelled && r.error().code != Errc::kCancelled)) {
        first_error = r.error();
      }
      ctx.stop = true;
    }
    state[i] = kDone;
    --running;
    cv.notify_all();
  };
  std::unique_lock lock(m);
  for (;;) {
    bool stopping = first_error.has_value() || ctx.cancelled();
    for (std::size_t i = 0; i < stages.size() && !stopping && running < limit; ++i) {
      bool ready = state[i] == kPending && std::all_of(deps[i].begin(), deps[i].end(),
                                                       [&](int d) { return state[d] == kDone; });
      if (!ready) continue;
      state[i] = kRunning;
      ++running;
      threads.emplace_back(work, i);
    }
    bool all_done = std::all_of(state.begin(), state.end(), [](State s) { return s == kDone; });
    if (all_done || (running == 0 && (stopping || first_error))) break;
    if (running == 0) {
      first_error = Error{Errc::kInternal, "stages wait on each other"};
      break;
    }
    cv.wait_for(lock, std::chrono::milliseconds(100));
  }
  lock.unlock();
  for (auto& t : threads) t.join();
  if (ctx.user_cancel && ctx.user_cancel->load()) return fail(Errc::kCancelled, "build cancelled");
  if (first_error) return fail(*first_error);
  if (ctx.cancelled()) return fail(Errc::kCancelled, "build cancelled");
  return {};
}

// Writes the target's config (with --label) and an OCI manifest to the store.
Result<BuildResult> finish(BuildContext& ctx, detail::StageResult target) {
  BuildResult out;
  out.image = std::move(target.state);
  auto& config = out.image.config;
  // The time of the newest step, so that a fully cached rebuild is the same image (BuildKit).
  config.created = ctx.created;
  if (!ctx.source_date_epoch && !config.history.empty()) {
    config.created = std::max_element(config.history.begin(), config.history.end(),
                                      [](const oci::History& a, const oci::History& b) {
                                        return a.created < b.created;
                                      })
                         ->created;
  }
  for (const auto& [k, v] : ctx.options->labels) config.config.labels[k] = v;
  HULL_ASSIGN_OR_RETURN(oci::Descriptor config_desc,
                        ctx.store->putBlob(oci::kMediaTypeImageConfig, oci::serialize(config)));
  oci::Manifest m;
  m.media_type = std::string(oci::kMediaTypeImageManifest);
  m.config = config_desc;
  m.config.media_type = std::string(oci::kMediaTypeImageConfig);
  for (const auto& l : out.image.layers) {
    oci::Descriptor d = l.blob;
    d.media_type = detail::ociLayerMediaType(d.media_type);
    d.annotations.clear();
    d.urls.clear();
    m.layers.push_back(std::move(d));
  }
  HULL_ASSIGN_OR_RETURN(out.manifest,
                        ctx.store->putBlob(oci::kMediaTypeImageManifest, oci::serialize(m)));
  out.manifest.media_type = std::string(oci::kMediaTypeImageManifest);
  out.config_digest = config_desc.digest;
  return out;
}

std::optional<int64_t> sourceDateEpoch(const BuildOptions& o) {
  if (o.source_date_epoch) return o.source_date_epoch;
  if (auto it = o.build_args.find("SOURCE_DATE_EPOCH"); it != o.build_args.end()) {
    char* end = nullptr;
    long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (end && *end == '\0' && !it->second.empty() && v >= 0) return v;
  }
  return std::nullopt;
}

// Mirrors the caller's cancel flag into the build's stop flag, which every RUN watches.
class CancelWatcher {
 public:
  CancelWatcher(const std::atomic<bool>* cancel, std::atomic<bool>* stop) {
    if (!cancel) return;
    thread_ = std::thread([this, cancel, stop] {
      while (!done_.load()) {
        if (cancel->load()) stop->store(true);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  ~CancelWatcher() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

Result<BuildResult> build(const store::Store& store, Executor& executor,
                          const ImageResolver& images, const BuildOptions& options,
                          Progress* progress, const std::atomic<bool>* cancel) {
  BuildContext ctx;
  ctx.store = &store;
  ctx.executor = &executor;
  ctx.images = &images;
  ctx.options = &options;
  ctx.progress = progress;
  ctx.user_cancel = cancel;
  ctx.cache = std::make_unique<Cache>(store);
  ctx.source_date_epoch = sourceDateEpoch(options);
  ctx.created = oci::formatTimestamp(
      ctx.source_date_epoch ? *ctx.source_date_epoch : static_cast<int64_t>(std::time(nullptr)));

  // 1. Parse (base images are resolved here, for their Env) and check.
  std::vector<std::string> warnings;
  HULL_ASSIGN_OR_RETURN(dockerfile::Dockerfile df, parseDockerfile(ctx, &warnings));
  ctx.df = &df;
  if (progress) {
    for (const auto& w : warnings) progress->warning(w);
  }
  // 2. Number the steps: each stage's FROM, then its instructions.
  for (const auto& st : df.stages) {
    ctx.first_step[st.index] = ctx.total_steps + 1;
    ctx.total_steps += 1 + static_cast<int>(st.instructions.size());
  }
  // 3. The context, then the stages.
  HULL_TRY(loadContext(ctx));
  CancelWatcher watcher(cancel, &ctx.stop);
  auto built = runStages(ctx);
  (void)ctx.stat_cache->save();  // only a cache: a failed save costs speed, not correctness
  HULL_TRY(built);
  // 4. The image.
  auto target = ctx.result(df.target);
  if (!target) return fail(Errc::kInternal, "the target stage was not built");
  HULL_ASSIGN_OR_RETURN(BuildResult result, finish(ctx, std::move(*target)));
  result.warnings = std::move(warnings);
  for (auto& w : ctx.step_warnings) result.warnings.push_back(std::move(w));
  result.steps = ctx.total_steps;
  result.cached = ctx.cached;
  return result;
}

}  // namespace hull::build
