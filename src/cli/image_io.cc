// hull import, save, load: the commands that move image bytes in and out of the store.
#include <fcntl.h>
#include <unistd.h>

#include <memory>

#include <fmt/format.h>

#include "base/fs.h"
#include "cli/image_commands.h"
#include "engine/import.h"
#include "engine/load.h"
#include "engine/save.h"
#include "layer/layer.h"

namespace hull::cli {
namespace {

struct ImportFlags {
  std::string source;
  std::string name;
  std::vector<std::string> changes;
  std::string message;
  std::string platform;
};

Result<int> runImport(const Context& ctx, const ImportFlags& f) {
  if (f.source.find("://") != std::string::npos) {
    return fail(Errc::kUnsupported, "import: URLs are not supported; download the tarball first");
  }
  UniqueFd file;
  int fd = STDIN_FILENO;
  if (f.source != "-") {
    HULL_ASSIGN_OR_RETURN(file, openFile(f.source, O_RDONLY));
    fd = file.get();
  } else if (::isatty(STDIN_FILENO)) {
    return fail(Errc::kInvalidArgument, "import: \"-\" reads the tarball from stdin, a terminal");
  }
  engine::ImportOptions options{f.name, f.changes, f.message, f.source, f.platform};
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  auto in = layer::fdReader(fd);
  HULL_ASSIGN_OR_RETURN(engine::ImportResult result, engine::importImage(store, *in, options));
  fmt::print("{}\n", result.id.str());
  return 0;
}

struct SaveFlags {
  std::vector<std::string> refs;
  std::string output;
  std::string format = "docker";
};

Result<int> runSave(const Context& ctx, const SaveFlags& f) {
  engine::SaveOptions options;
  HULL_ASSIGN_OR_RETURN(options.format, engine::parseArchiveFormat(f.format));
  options.refs = f.refs;
  if (f.output.empty() && ::isatty(STDOUT_FILENO)) {
    return fail(Errc::kInvalidArgument,
                "refusing to write an archive to a terminal: use -o FILE or redirect stdout");
  }
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  if (f.output.empty() || f.output == "-") {
    HULL_TRY(engine::saveImages(store, options, STDOUT_FILENO));
  } else {
    HULL_TRY(engine::saveImagesToFile(store, options, f.output));
  }
  return 0;
}

struct LoadFlags {
  std::string input;
  bool quiet = false;
};

Result<int> runLoad(const Context& ctx, const LoadFlags& f) {
  UniqueFd file;
  int fd = STDIN_FILENO;
  if (!f.input.empty() && f.input != "-") {
    HULL_ASSIGN_OR_RETURN(file, openFile(f.input, O_RDONLY));
    fd = file.get();
  } else if (::isatty(STDIN_FILENO)) {
    return fail(Errc::kInvalidArgument,
                "load: no archive: use -i FILE or pipe one in (stdin is a terminal)");
  }
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  HULL_ASSIGN_OR_RETURN(engine::LoadResult result, engine::loadArchive(store, fd));
  for (const auto& name : result.names) fmt::print("Loaded image: {}\n", name);
  for (const auto& id : result.untagged) fmt::print("Loaded image ID: {}\n", id.str());
  return 0;
}

}  // namespace

void registerImport(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<ImportFlags>();
  auto* cmd = app.add_subcommand(
      "import", "Create a one-layer image from a root file system tarball (tar, tar.gz, tar.zst)");
  cmd->add_option("TARBALL", f->source, "The tarball's path, or - to read it from stdin")
      ->required();
  cmd->add_option("NAME", f->name,
                  "Name for the image, NAME[:TAG] (default tag: latest); without it the image "
                  "is kept untagged, found by the ID printed");
  cmd->add_option("-c,--change", f->changes,
                  "Apply a Dockerfile instruction to the config (repeatable): CMD, ENTRYPOINT, "
                  "ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD, SHELL, "
                  "HEALTHCHECK")
      ->allow_extra_args(false);
  cmd->add_option("-m,--message", f->message, "Comment for the history entry");
  cmd->add_option("--platform", f->platform,
                  "Platform written to the config, OS/ARCH[/VARIANT] (default: this machine's)");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runImport(ctx, *f); }; });
}

void registerSave(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<SaveFlags>();
  auto* cmd = app.add_subcommand("save", "Write images to a tar archive (stdout unless -o)");
  cmd->add_option("IMAGE", f->refs, "Image names, IDs or manifest digests")->required();
  cmd->add_option("-o,--output", f->output,
                  "Write to this file (atomically: a failed save leaves no file)");
  cmd->add_option("--format", f->format,
                  "docker (default: docker save's layout, uncompressed layers) or oci (an OCI "
                  "image layout; blobs kept byte for byte)");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runSave(ctx, *f); }; });
}

void registerLoad(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<LoadFlags>();
  auto* cmd = app.add_subcommand(
      "load", "Load images from a docker-archive or OCI archive (plain, gzip or zstd)");
  cmd->add_option("-i,--input", f->input, "Read from this file instead of stdin");
  cmd->add_flag("-q,--quiet", f->quiet, "Print only the loaded names (hull prints no progress)");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runLoad(ctx, *f); }; });
}

}  // namespace hull::cli
