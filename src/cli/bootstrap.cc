// hull bootstrap: a Debian base image from the archive with mmdebstrap (engine/bootstrap.h).
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"
#include "engine/bootstrap.h"

namespace hull::cli {
namespace {

struct BootstrapFlags {
  engine::BootstrapOptions options;
  int64_t source_date_epoch = 0;
  CLI::Option* source_date_epoch_opt = nullptr;
};

Result<int> runBootstrap(const Context& ctx, const BootstrapFlags& f) {
  engine::BootstrapOptions options = f.options;
  if (f.source_date_epoch_opt->count() > 0) options.source_date_epoch = f.source_date_epoch;
  // Bad input is refused before the store is even created.
  HULL_ASSIGN_OR_RETURN(options, engine::resolveBootstrapOptions(std::move(options)));
  HULL_ASSIGN_OR_RETURN(store::Store store, store::Store::open(ctx.root));
  // Phases go to stderr, so stdout holds only the image ID, as with hull import.
  auto progress = [](std::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    std::fflush(stderr);
  };
  HULL_ASSIGN_OR_RETURN(engine::ImportResult result,
                        engine::bootstrapImage(store, options, progress));
  fmt::print("{}\n", result.id.str());
  return 0;
}

}  // namespace

void registerBootstrap(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<BootstrapFlags>();
  auto* cmd = app.add_subcommand(
      "bootstrap", "Create a Debian base image from the package archive with mmdebstrap");
  auto& o = f->options;
  cmd->add_option("NAME", o.name, "Name for the image, NAME[:TAG] (default tag: latest)")
      ->required();
  cmd->add_option("--suite", o.suite, "Debian suite or codename")->capture_default_str();
  cmd->add_option("--variant", o.variant,
                  "Package set: essential (Essential: yes only), minbase (+ required), apt "
                  "(minbase + apt)")
      ->capture_default_str();
  cmd->add_option("--include", o.include, "Extra packages, comma-separated; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--mirror", o.mirror,
                  "Debian archive URL (default: the one this machine's apt sources use, else " +
                      std::string(engine::kDefaultMirror) + ")");
  cmd->add_option("--components", o.components, "Archive components, comma-separated (main)")
      ->allow_extra_args(false);
  cmd->add_option("--architecture", o.architecture,
                  "Debian architecture of the image (default: this machine's)");
  f->source_date_epoch_opt = cmd->add_option(
      "--source-date-epoch", f->source_date_epoch,
      "Timestamp for reproducible output, in seconds (default: $SOURCE_DATE_EPOCH)");
  cmd->add_flag("-v,--verbose", o.verbose, "Show mmdebstrap's own output on stderr");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runBootstrap(ctx, *f); }; });
}

}  // namespace hull::cli
