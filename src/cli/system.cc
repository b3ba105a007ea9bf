// hull system df | prune | fsck.
#include <unistd.h>

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/image_commands.h"
#include "engine/format.h"

namespace hull::cli {
namespace {

std::string percent(int64_t part, int64_t whole) {
  return whole > 0 ? fmt::format("{}%", part * 100 / whole) : "0%";
}

Result<int> runDf(const Context& ctx) {
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  HULL_ASSIGN_OR_RETURN(store::DiskUsage du, store.diskUsage());
  auto size = [](int64_t b) { return engine::humanSize(static_cast<double>(b)); };
  int64_t used = du.blob_bytes - du.unreferenced_bytes;
  std::vector<std::vector<std::string>> table = {
      {"TYPE", "TOTAL", "SIZE", "RECLAIMABLE"},
      {"Images", std::to_string(du.images), size(used), "0B (0%)"},
      {"Blobs", std::to_string(du.blobs), size(du.blob_bytes),
       fmt::format("{} ({})", size(du.unreferenced_bytes),
                   percent(du.unreferenced_bytes, du.blob_bytes))},
      {"Snapshots", "-", size(du.snapshot_bytes), "-"}};
  fmt::print("{}", engine::renderTable(table));
  return 0;
}

struct PruneFlags {
  bool force = false;
  bool dry_run = false;
};

bool confirm() {
  fmt::print(
      "WARNING! This will remove:\n"
      "  - all dangling images (images without a name)\n"
      "  - all blobs that no image references\n"
      "Are you sure you want to continue? [y/N] ");
  std::fflush(stdout);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

Result<int> runPrune(const Context& ctx, const PruneFlags& f) {
  if (!f.force && !f.dry_run && !confirm()) return 0;
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  // As `docker system prune`: dangling images go first, then what nothing references.
  HULL_ASSIGN_OR_RETURN(store::PruneReport report,
                        store.prune(store::PruneOptions{.dry_run = f.dry_run, .untagged = true}));
  if (!report.untagged.empty()) {
    fmt::print("{}\n", f.dry_run ? "Would delete images:" : "Deleted Images:");
    for (const auto& id : report.untagged) {
      fmt::print("{}: {}\n", f.dry_run ? "would delete" : "deleted", id.str());
    }
    fmt::print("\n");
  }
  if (!report.removed.empty()) {
    fmt::print("{}\n", f.dry_run ? "Would delete blobs:" : "Deleted blobs:");
    for (const auto& d : report.removed) fmt::print("{}\n", d.str());
    fmt::print("\n");
  }
  fmt::print("Total {} space: {}\n", f.dry_run ? "reclaimable" : "reclaimed",
             engine::humanSize(static_cast<double>(report.bytes_freed)));
  return 0;
}

Result<int> runFsck(const Context& ctx) {
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  HULL_ASSIGN_OR_RETURN(auto problems, store.fsck());
  if (problems.empty()) {
    fmt::print("no problems found\n");
    return 0;
  }
  for (const auto& p : problems) {
    std::string images;
    for (const auto& n : p.images) images += (images.empty() ? "" : ", ") + n;
    fmt::print("{}: {}{}\n", p.blob.empty() ? std::string("store") : p.blob.str(), p.what,
               images.empty() ? "" : " (breaks " + images + ")");
  }
  return 1;
}

}  // namespace

void registerSystem(CLI::App& app, Context& ctx) {
  auto* sys = app.add_subcommand("system", "Manage the local store: df, prune, fsck");
  sys->require_subcommand(1);
  auto* df = sys->add_subcommand("df", "Show how much disk the store uses and could free");
  df->callback([&ctx] { ctx.action = [&ctx] { return runDf(ctx); }; });

  auto f = std::make_shared<PruneFlags>();
  auto* prune = sys->add_subcommand(
      "prune", "Remove dangling (untagged) images, then blobs that no image references");
  prune->add_flag("-f,--force", f->force, "Do not ask for confirmation");
  prune->add_flag("--dry-run", f->dry_run, "Only list what would be removed");
  prune->callback([&ctx, f] { ctx.action = [&ctx, f] { return runPrune(ctx, *f); }; });

  auto* fsck = sys->add_subcommand(
      "fsck", "Verify every blob the images need; exit 1 and list each problem if any");
  fsck->callback([&ctx] { ctx.action = [&ctx] { return runFsck(ctx); }; });
}

}  // namespace hull::cli
