// The builder's inner pieces (build.h): the pure rules that turn instructions into image config,
// history and cache-key text (image_config.cc), one stage's steps (stage.cc), and the shared state
// of a build that the stage threads use (builder.cc). Not part of the module's interface; unit
// tests include it.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "build/build.h"
#include "build/cache.h"
#include "build/copy.h"
#include "dockerfile/dockerfile.h"
#include "dockerfile/dockerignore.h"

namespace hull::build::detail {

inline constexpr std::string_view kHistoryComment = "buildkit.dockerfile.v0";
inline constexpr std::string_view kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ---- image_config.cc: pure ----

// What a stage carries between instructions besides its image: the ARGs in scope (declaration
// order, values after --build-arg) and whether this stage set CMD (ENTRYPOINT keeps it then).
struct StageVars {
  std::vector<std::pair<std::string, std::string>> args;
  bool cmd_set = false;
};

// Go's strconv.Quote and fmt's %q of a []string (BuildKit's history texts are Go-formatted).
std::string goQuote(std::string_view s);
std::string goQuoteList(const std::vector<std::string>& v);  // ["a" "b"]
std::string goList(const std::vector<std::string>& v);       // [a b]
std::string goDuration(int64_t nanos);                       // 1m30s, 500ms, 0s

// The config an image built FROM scratch starts with (BuildKit's emptyImage).
oci::ImageConfig scratchConfig();

// Sets K=V in a "K=V" list: replaced in place, or appended.
void setEnv(std::vector<std::string>& env, std::string_view key, std::string_view value);

// A base image without PATH gets the default one, first (as buildah does; BuildKit also always
// sets one), so that `ENV PATH=/opt/bin:$PATH` and RUN see it.
void ensurePath(std::vector<std::string>& env);

// WORKDIR's path made absolute against the previous working directory, cleaned.
std::string resolveWorkdir(std::string_view previous, std::string_view path);

// SHELL of the config, or Docker's default.
std::vector<std::string> shellOf(const oci::ContainerConfig& c);

// True for instructions that change only the config (no layer).
bool isConfigOnly(const dockerfile::Instruction& ins);

// Applies a config-only instruction (or WORKDIR's config part) and returns BuildKit's history
// created_by text for it.
std::string applyConfig(const dockerfile::Instruction& ins, oci::ImageConfig& config,
                        StageVars& vars);

// The canonical text of a config-only instruction for the key chain: its effect, after expansion.
std::string canonicalConfig(const dockerfile::Instruction& ins, const oci::ImageConfig& after);

// A RUN as the executor runs it.
struct RunPlan {
  std::vector<std::string> args;
  std::optional<dockerfile::Heredoc> script;  // a shebang heredoc, run as /dev/pipes/NAME
  std::string created_by;                     // BuildKit's history text, with " # buildkit"
};
RunPlan planRun(const dockerfile::Run& run, const oci::ContainerConfig& config,
                const StageVars& vars);

// The ARGs in scope that a RUN names ($NAME or ${NAME...} in its command or heredocs): the build
// args it uses, which its cache key holds (the process still gets every ARG in scope).
std::vector<std::pair<std::string, std::string>> usedArgs(const dockerfile::Run& run,
                                                          const StageVars& vars);

// The RUN environment: image Env, then ARGs in scope that ENV did not set, then the proxy args
// (never stored in the image), then PATH when still missing.
std::vector<std::string> runEnv(const oci::ContainerConfig& config, const StageVars& vars,
                                const std::map<std::string, std::string>& proxy_args);

// BuildKit's created_by for COPY/ADD (" # buildkit" included).
std::string copyCreatedBy(const dockerfile::Copy& c);

// The error of a RUN exiting non-zero, with the last lines of its output.
std::string runFailure(std::string_view file, int line, const std::vector<std::string>& args,
                       int exit_code, const std::vector<std::string>& last_lines);

// A history entry of a new step.
oci::History historyEntry(std::string created_by, const std::string& created, bool empty_layer);

// The config's media types for a layer in an OCI manifest (Docker's are mapped).
std::string ociLayerMediaType(std::string_view media_type);

// "Dockerfile:LINE: message" (no line when 0).
std::string located(std::string_view file, int line, std::string_view message);

// Keeps the last `max` lines of a stream of output chunks.
class TailLines {
 public:
  explicit TailLines(std::size_t max = 10) : max_(max) {}
  void add(std::string_view chunk);
  std::vector<std::string> lines() const;

 private:
  mutable std::mutex mu_;
  std::size_t max_;
  std::vector<std::string> lines_;
  std::string partial_;
};

// Parses ONBUILD triggers (config on_build) as instructions of a stage FROM an image whose
// Env is `base_env`, with the build's options.
Result<std::vector<dockerfile::Instruction>> parseTriggers(const std::vector<std::string>& triggers,
                                                           const std::vector<std::string>& base_env,
                                                           const dockerfile::ParseOptions& options);

// Positions in `stages` grouped so that every stage comes after the ones it depends on; -1 in
// a dependency list names a stage not in the build (an error for the caller).
std::vector<std::vector<int>> stageDependencies(const std::vector<dockerfile::Stage>& stages);

// ---- builder.cc / stage.cc: the build ----

struct StageResult {
  ImageState state;
  Digest key;  // the key of its last step
};

// What every stage thread shares. Members with a mutex are filled while stages run.
struct BuildContext {
  const store::Store* store = nullptr;
  Executor* executor = nullptr;
  const ImageResolver* images = nullptr;
  const BuildOptions* options = nullptr;
  Progress* progress = nullptr;
  const dockerfile::Dockerfile* df = nullptr;
  dockerfile::ParseOptions parse_options;
  std::unique_ptr<Cache> cache;
  std::unique_ptr<StatCache> stat_cache;
  std::optional<dockerfile::IgnoreMatcher> ignore;
  std::string created;  // RFC 3339 time of new history entries
  std::optional<int64_t> source_date_epoch;
  std::atomic<bool> stop{false};  // a stage failed or the user cancelled
  const std::atomic<bool>* user_cancel = nullptr;
  int total_steps = 0;
  std::map<int, int> first_step;  // stage index → its FROM's step number

  std::mutex mu;
  std::map<std::string, BaseImage> base_images;  // by ref as written
  std::map<int, StageResult> results;            // stage index → result
  int cached = 0;
  std::vector<std::string> step_warnings;  // said while steps ran ("Dockerfile:LINE: text")

  Result<BaseImage> image(const std::string& ref);
  std::optional<StageResult> result(int stage);
  bool cancelled() const { return stop.load() || (user_cancel && user_cancel->load()); }
};

// Builds one stage; its dependencies are in ctx.results.
Result<StageResult> buildStage(BuildContext& ctx, const dockerfile::Stage& stage);

}  // namespace hull::build::detail
