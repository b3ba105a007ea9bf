// hull system df | prune | fsck.
#include <unistd.h>

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/image_commands.h"
#include "engine/format.h"
#include "engine/prune_containers.h"
#include "engine/snapshot_gc.h"

namespace hull::cli {
namespace {

std::string percent(int64_t part, int64_t whole) {
  return whole > 0 ? fmt::format("{}%", part * 100 / whole) : "0%";
}

Result<int> runDf(const Context& ctx) {
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  HULL_ASSIGN_OR_RETURN(store::DiskUsage du, store.diskUsage());
  HULL_ASSIGN_OR_RETURN(engine::ContainerUsage cu, engine::containerUsage(store));
  // Snapshots: how many, how many something needs (active), and what a prune would free.
  HULL_ASSIGN_OR_RETURN(engine::SnapshotPrune sp, engine::planSnapshotPrune(store));
  auto size = [](int64_t b) { return engine::humanSize(static_cast<double>(b)); };
  auto reclaim = [&](int64_t part, int64_t whole) {
    return fmt::format("{} ({})", size(part), percent(part, whole));
  };
  int64_t used = du.blob_bytes - du.unreferenced_bytes;
  std::vector<std::vector<std::string>> table = {
      {"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"},
      {"Images", std::to_string(du.images), "-", size(used), "0B (0%)"},
      {"Containers", std::to_string(cu.total), std::to_string(cu.active), size(cu.bytes),
       reclaim(cu.reclaimable, cu.bytes)},
      {"Blobs", std::to_string(du.blobs), "-", size(du.blob_bytes),
       reclaim(du.unreferenced_bytes, du.blob_bytes)},
      {"Snapshots", std::to_string(sp.total), std::to_string(sp.kept), size(du.snapshot_bytes),
       reclaim(sp.bytes_freed, du.snapshot_bytes)}};
  fmt::print("{}", engine::renderTable(table));
  return 0;
}

struct SystemPruneFlags {
  bool force = false;
  bool dry_run = false;
};

bool confirm() {
  fmt::print(
      "WARNING! This will remove:\n"
      "  - all stopped containers\n"
      "  - all dangling images (images without a name)\n"
      "  - all blobs that no image references\n"
      "  - all unpacked layers (snapshots) that no image or container needs\n"
      "Are you sure you want to continue? [y/N] ");
  std::fflush(stdout);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

void printSection(bool dry_run, std::string_view done, std::string_view would,
                  const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  fmt::print("{}\n", dry_run ? would : done);
  for (const auto& line : lines) fmt::print("{}\n", line);
  fmt::print("\n");
}

Result<int> runSystemPrune(const Context& ctx, const SystemPruneFlags& f) {
  if (!f.force && !f.dry_run && !confirm()) return 0;
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  // One exclusive hold for the three steps, so no run or import slips in between them.
  HULL_ASSIGN_OR_RETURN(store::Lock lock, store.lock(store::LockMode::kExclusive));
  // As `docker system prune`: stopped containers first, then dangling images, then what nothing
  // references: blobs, and the snapshots no image or remaining container needs.
  HULL_ASSIGN_OR_RETURN(engine::ContainerPruneReport containers,
                        engine::pruneContainers(store, f.dry_run));
  HULL_ASSIGN_OR_RETURN(store::PruneReport report, engine::pruneImages(store, f.dry_run));
  HULL_ASSIGN_OR_RETURN(engine::SnapshotPrune snapshots, engine::pruneSnapshots(store, f.dry_run));
  printSection(f.dry_run, "Deleted Containers:", "Would delete containers:", containers.removed);
  std::vector<std::string> lines;
  for (const auto& id : report.untagged) {
    lines.push_back(fmt::format("{}: {}", f.dry_run ? "would delete" : "deleted", id.str()));
  }
  printSection(f.dry_run, "Deleted Images:", "Would delete images:", lines);
  lines.clear();
  for (const auto& d : report.removed) lines.push_back(d.str());
  printSection(f.dry_run, "Deleted blobs:", "Would delete blobs:", lines);
  printSection(f.dry_run, "Deleted snapshots:", "Would delete snapshots:", snapshots.removed);
  int64_t total = containers.bytes_freed + report.bytes_freed + snapshots.bytes_freed;
  fmt::print("Total {} space: {}\n", f.dry_run ? "reclaimable" : "reclaimed",
             engine::humanSize(static_cast<double>(total)));
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

  auto f = std::make_shared<SystemPruneFlags>();
  auto* prune = sys->add_subcommand(
      "prune",
      "Remove stopped containers, dangling images, then blobs and snapshots nothing needs");
  prune->add_flag("-f,--force", f->force, "Do not ask for confirmation");
  prune->add_flag("--dry-run", f->dry_run, "Only list what would be removed");
  prune->callback([&ctx, f] { ctx.action = [&ctx, f] { return runSystemPrune(ctx, *f); }; });

  auto* fsck = sys->add_subcommand(
      "fsck", "Verify every blob the images need; exit 1 and list each problem if any");
  fsck->callback([&ctx] { ctx.action = [&ctx] { return runFsck(ctx); }; });
}

}  // namespace hull::cli
