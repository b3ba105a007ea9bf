// `hull build` (build.h): base images found or pulled, build::build over the executor
// (build_executor.cc), then the names and the outputs.
#include "engine/build.h"

#include <unistd.h>

#include <map>
#include <mutex>

#include <fmt/format.h>

#include "engine/archive.h"
#include "engine/images.h"
#include "engine/pull.h"
#include "engine/save.h"
#include "layer/layer.h"

namespace hull::engine {

namespace {

Error badOutput(std::string_view spec, std::string_view why) {
  return Error{Errc::kInvalidArgument, fmt::format("--output \"{}\": {}", spec, why)};
}

// The base images of one build: each reference resolved (and with --pull pulled) once.
class BaseImages {
 public:
  BaseImages(const store::Store& store, const BuildRequest& request)
      : store_(store), request_(request) {}

  Result<build::BaseImage> resolve(std::string_view ref) {
    std::lock_guard lock(mutex_);
    auto it = resolved_.find(std::string(ref));
    if (it != resolved_.end()) return it->second;
    HULL_ASSIGN_OR_RETURN(build::BaseImage image, load(ref));
    resolved_.emplace(std::string(ref), image);
    return image;
  }

 private:
  Result<build::BaseImage> load(std::string_view ref) {
    PullOptions options;
    options.tls_verify = request_.tls_verify;
    HULL_ASSIGN_OR_RETURN(ImageRef found, request_.pull ? pullImage(store_, ref, options)
                                                        : ensureImage(store_, ref, options));
    store::ImageRecord record{.name = found.name, .manifest = found.manifest};
    HULL_ASSIGN_OR_RETURN(ImageView view, loadImageView(store_, record));
    const auto& layers = view.manifest.layers;
    const auto& diff_ids = view.config.diff_ids;
    if (layers.size() != diff_ids.size()) {
      return fail(Errc::kCorrupt, fmt::format("image {}: {} layers but {} diff IDs", ref,
                                              layers.size(), diff_ids.size()));
    }
    build::BaseImage image;
    auto normal = store::normalizeName(ref);
    image.ref = normal ? *normal : std::string(ref);
    image.manifest = found.manifest;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      image.state.layers.push_back(build::Layer{.blob = layers[i], .diff_id = diff_ids[i]});
    }
    image.state.config = std::move(view.config);
    return image;
  }

  const store::Store& store_;
  const BuildRequest& request_;
  std::mutex mutex_;
  std::map<std::string, build::BaseImage> resolved_;
};

// The final root file system in a directory: every layer applied in order.
Result<void> writeLocal(const store::Store& store, const build::ImageState& image,
                        const fs::path& dest) {
  HULL_TRY(mkdirAll(dest, 0755));
  bool root = ::geteuid() == 0;
  layer::ApplyOptions options{.allow_devices = root, .allow_setuid = root, .preserve_owners = root};
  for (const auto& l : image.layers) {
    HULL_ASSIGN_OR_RETURN(store::BlobReader reader, store.openBlob(l.blob.digest));
    auto in = layer::funcReader([&reader](void* p, std::size_t n) { return reader.read(p, n); });
    auto applied = layer::applyLayer(*in, dest, options);
    if (!applied) return fail(applied.error().wrap("--output local " + dest.string()));
  }
  return {};
}

Result<void> writeOutput(const store::Store& store, const BuildOutput& output,
                         const build::BuildResult& result, const std::vector<std::string>& names) {
  if (output.type == "image") return {};
  if (output.type == "local") return writeLocal(store, result.image, output.dest);
  SaveOptions save;
  save.format = output.type == "oci" ? ArchiveFormat::kOci : ArchiveFormat::kDocker;
  save.refs = names;
  if (save.refs.empty()) save.refs.push_back(result.manifest.digest.str());
  if (output.dest == "-") return saveImages(store, save, STDOUT_FILENO);
  return saveImagesToFile(store, save, output.dest);
}

}  // namespace

Result<BuildOutput> parseBuildOutput(std::string_view spec) {
  if (spec.empty()) return fail(badOutput(spec, "empty"));
  if (spec.find('=') == std::string_view::npos && spec.find(',') == std::string_view::npos) {
    if (spec == "-") return fail(badOutput(spec, "use type=oci,dest=- or type=docker,dest=-"));
    return BuildOutput{.type = "local", .dest = std::string(spec)};  // a bare directory
  }
  BuildOutput out;
  out.type.clear();
  bool has_dest = false;
  std::size_t start = 0;
  while (start <= spec.size()) {
    std::size_t comma = spec.find(',', start);
    std::string_view field = spec.substr(start, comma - start);
    std::size_t eq = field.find('=');
    if (eq == std::string_view::npos) {
      return fail(badOutput(spec, fmt::format("\"{}\" is not KEY=VALUE", field)));
    }
    std::string_view key = field.substr(0, eq), value = field.substr(eq + 1);
    if (key == "type") {
      out.type = std::string(value);
    } else if (key == "dest") {
      out.dest = std::string(value);
      has_dest = true;
    } else {
      return fail(
          badOutput(spec, fmt::format("unknown attribute \"{}\" (use type and dest)", key)));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (out.type.empty()) out.type = "local";
  if (out.type != "image" && out.type != "oci" && out.type != "docker" && out.type != "local") {
    return fail(badOutput(
        spec, fmt::format("unknown type \"{}\" (use image, oci, docker or local)", out.type)));
  }
  if (out.type == "image" && has_dest) return fail(badOutput(spec, "type=image takes no dest"));
  if (out.type != "image" && out.dest.empty()) {
    return fail(badOutput(spec, fmt::format("type={} needs dest=PATH", out.type)));
  }
  return out;
}

Result<BuildOutcome> buildImage(const store::Store& store, const BuildRequest& request,
                                build::Progress* progress, const std::atomic<bool>* cancel) {
  // 1. Every name and output is checked before anything is built.
  BuildOutcome outcome;
  for (const auto& tag : request.tags) {
    auto name = store::normalizeName(tag);
    if (!name) return fail(name.error().wrap(fmt::format("-t {}", tag)));
    outcome.tags.push_back(*name);
  }
  // 2. Build.
  BaseImages bases(store, request);
  build::ImageResolver images = [&bases](std::string_view ref) { return bases.resolve(ref); };
  std::unique_ptr<build::Executor> executor = makeBuildExecutor(store);
  HULL_ASSIGN_OR_RETURN(outcome.result,
                        build::build(store, *executor, images, request.options, progress, cancel));
  if (cancel != nullptr && cancel->load()) return fail(Errc::kCancelled, "build cancelled");
  // 3. Names, all or none (an untagged result is kept as Docker keeps a dangling image), then
  // the outputs, which read the image through its names.
  const build::BuildResult& r = outcome.result;
  std::vector<NameChange> changes;
  for (const auto& name : outcome.tags) changes.push_back({name, r.manifest});
  if (changes.empty()) changes.push_back({"", r.manifest});
  std::vector<Digest> needed = {r.manifest.digest, r.config_digest};
  for (const auto& l : r.image.layers) needed.push_back(l.blob.digest);
  HULL_TRY(publishNames(store, changes, needed));
  for (const auto& output : request.outputs) {
    HULL_TRY(writeOutput(store, output, r, outcome.tags));
  }
  return outcome;
}

}  // namespace hull::engine
