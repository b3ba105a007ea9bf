// hull images, tag, rmi; registerImageCommands adds every image command.
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/image_commands.h"
#include "engine/format.h"
#include "engine/images.h"

namespace hull::cli {

void registerImageCommands(CLI::App& app, Context& ctx) {
  registerImages(app, ctx);
  registerImport(app, ctx);
  registerInspect(app, ctx);
  registerHistory(app, ctx);
  registerTag(app, ctx);
  registerRmi(app, ctx);
  registerSave(app, ctx);
  registerLoad(app, ctx);
}

void printError(const Error& error) { fmt::print(stderr, "hull: error: {}\n", error.message); }

Result<void> printRows(const std::vector<Json>& rows, bool quiet, const std::string& format,
                       std::vector<std::string> header,
                       const std::function<std::vector<std::string>(const Json&)>& cells) {
  std::vector<std::vector<std::string>> table = {std::move(header)};
  for (const Json& row : rows) {
    if (quiet) {
      fmt::print("{}\n", row["ID"].get<std::string>());
    } else if (format == "json") {
      fmt::print("{}\n", row.dump());
    } else if (format != "table") {
      HULL_ASSIGN_OR_RETURN(std::string line, engine::renderTemplate(format, row));
      fmt::print("{}\n", line);
    } else {
      table.push_back(cells(row));
    }
  }
  if (!quiet && format == "table") fmt::print("{}", engine::renderTable(table));
  return {};
}

namespace {

struct ImagesFlags {
  std::string filter;
  std::vector<std::string> filters;  // --filter KEY=VALUE
  bool all = false;
  bool quiet = false;
  bool digests = false;
  bool no_trunc = false;
  std::string format = "table";
};

// Go's time.Time.String() as Docker prints CreatedAt.
std::string goTime(std::string_view created) {
  auto t = engine::parseTimestamp(created);
  if (!t) return "";
  std::time_t tt = static_cast<std::time_t>(*t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

Json imageRow(const engine::ImageView& v, const ImagesFlags& f, int64_t now) {
  auto [repo, tag] = engine::splitName(v.record.name);
  std::string size = engine::humanSize(static_cast<double>(v.size));
  return {{"Containers", "N/A"},
          {"CreatedAt", goTime(v.config.created)},
          {"CreatedSince", engine::createdSince(v.config.created, now)},
          {"Digest", v.record.manifest.digest.str()},
          {"ID", f.no_trunc ? v.id.str() : v.id.shortId()},
          {"Repository", repo},
          {"SharedSize", "N/A"},
          {"Size", size},
          {"Tag", tag},
          {"UniqueSize", "N/A"},
          {"VirtualSize", size}};
}

// Docker's --filter: only dangling=true|false is known here.
Result<std::optional<bool>> parseDangling(const std::vector<std::string>& filters) {
  std::optional<bool> dangling;
  for (const auto& filter : filters) {
    std::size_t eq = filter.find('=');
    std::string key = filter.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : filter.substr(eq + 1);
    if (key != "dangling") {
      return fail(Errc::kInvalidArgument,
                  fmt::format("invalid filter \"{}\": only dangling=true|false is supported", key));
    }
    if (value != "true" && value != "false" && value != "1" && value != "0") {
      return fail(Errc::kInvalidArgument,
                  fmt::format("invalid filter \"dangling={}\": want true or false", value));
    }
    bool want = value == "true" || value == "1";
    if (dangling && *dangling != want) {
      return fail(Errc::kInvalidArgument, "filters dangling=true and dangling=false conflict");
    }
    dangling = want;
  }
  return dangling;
}

Result<int> runImages(const Context& ctx, const ImagesFlags& f) {
  HULL_ASSIGN_OR_RETURN(std::optional<bool> dangling, parseDangling(f.filters));
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  HULL_ASSIGN_OR_RETURN(auto views, engine::listImages(store, f.filter, dangling));
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::vector<std::string> header = {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"};
  if (f.digests) header.insert(header.begin() + 2, "DIGEST");
  std::vector<Json> rows;
  for (const auto& v : views) rows.push_back(imageRow(v, f, now));
  HULL_TRY(printRows(rows, f.quiet, f.format, header, [&f](const Json& row) {
    std::vector<std::string> cells = {row["Repository"], row["Tag"]};
    if (f.digests) cells.push_back(row["Digest"]);
    for (const char* k : {"ID", "CreatedSince", "Size"}) cells.push_back(row[k]);
    return cells;
  }));
  return 0;
}

}  // namespace

void registerImages(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<ImagesFlags>();
  auto* cmd = app.add_subcommand("images", "List images in the local store");
  cmd->add_option("REPOSITORY", f->filter, "Show only this repository (REPOSITORY[:TAG])");
  cmd->add_flag("-a,--all", f->all,
                "Show all images (untagged ones are listed anyway: hull has no intermediate "
                "images to hide)");
  cmd->add_option("-f,--filter", f->filters,
                  "Filter the list: dangling=true (untagged images only) or dangling=false")
      ->allow_extra_args(false);
  cmd->add_flag("-q,--quiet", f->quiet, "Print image IDs only");
  cmd->add_flag("--digests", f->digests, "Show a DIGEST column (the manifest digest)");
  cmd->add_flag("--no-trunc", f->no_trunc, "Show full image IDs (sha256:...)");
  cmd->add_option("--format", f->format,
                  "Output: table (default), json (one object per line) or a Go template such as "
                  "'{{.Repository}}:{{.Tag}}'");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runImages(ctx, *f); }; });
}

void registerTag(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  auto* cmd = app.add_subcommand("tag", "Give an image another name: hull tag SOURCE TARGET");
  cmd->add_option("SOURCE", args->first, "Image name, ID or manifest digest")->required();
  cmd->add_option("TARGET", args->second, "New name, NAME[:TAG]")->required();
  cmd->callback([&ctx, args] {
    ctx.action = [&ctx, args]() -> Result<int> {
      HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
      HULL_TRY(engine::tagImage(store, args->first, args->second));
      return 0;
    };
  });
}

namespace {

struct RmiFlags {
  std::vector<std::string> refs;
  bool force = false;
};

Result<int> runRmi(const Context& ctx, const RmiFlags& f) {
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  int status = 0;
  for (const auto& ref : f.refs) {
    auto report = engine::removeImage(store, ref, f.force);
    if (!report) {
      printError(report.error());
      status = 1;
      continue;
    }
    for (const auto& n : report->untagged) fmt::print("Untagged: {}\n", n);
    for (const auto& d : report->deleted) fmt::print("Deleted: {}\n", d.str());
  }
  return status;
}

}  // namespace

void registerRmi(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<RmiFlags>();
  auto* cmd = app.add_subcommand("rmi", "Remove images: untag them, then delete unused blobs");
  cmd->add_option("IMAGE", f->refs, "Image names, IDs or manifest digests")->required();
  cmd->add_flag("-f,--force", f->force,
                "Remove every name of an image given by ID, even across repositories");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runRmi(ctx, *f); }; });
}

}  // namespace hull::cli
