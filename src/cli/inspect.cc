// hull inspect, hull history.
#include <ctime>
#include <memory>

#include <fmt/format.h>

#include "cli/container_commands.h"
#include "cli/image_commands.h"
#include "engine/format.h"
#include "engine/images.h"

namespace hull::cli {
namespace {

struct InspectFlags {
  std::vector<std::string> refs;
  std::string format = "json";
  std::string type;  // "", "container" or "image"
};

// A container wins over an image of the same name, as in `docker inspect`.
Result<OrderedJson> inspectAny(const Context& ctx, const store::Store& store, const InspectFlags& f,
                               const std::string& ref) {
  if (f.type != "image") {
    auto c = inspectContainerJson(ctx, ref);
    if (c || f.type == "container" || c.error().code != Errc::kNotFound) return c;
  }
  return engine::inspectImage(store, ref);
}

Result<int> runInspect(const Context& ctx, const InspectFlags& f) {
  if (!f.type.empty() && f.type != "container" && f.type != "image") {
    return fail(Errc::kInvalidArgument, "--type must be container or image, not " + f.type);
  }
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  OrderedJson all = OrderedJson::array();
  int status = 0;
  for (const auto& ref : f.refs) {
    auto j = inspectAny(ctx, store, f, ref);
    if (!j) {
      printError(j.error());
      status = 1;
      continue;
    }
    if (f.format == "json") {
      all.push_back(std::move(*j));
      continue;
    }
    HULL_ASSIGN_OR_RETURN(std::string line,
                          engine::renderTemplate(f.format, Json::parse(j->dump())));
    fmt::print("{}\n", line);
  }
  if (f.format == "json") fmt::print("{}\n", all.dump(4));
  return status;
}

struct HistoryFlags {
  std::string ref;
  bool no_trunc = false;
  bool quiet = false;
  std::string format = "table";
};

Json historyRow(const engine::HistoryRow& r, const HistoryFlags& f, int64_t now) {
  std::string id = r.id;
  if (!f.no_trunc && id.starts_with("sha256:")) id = id.substr(7, 12);
  std::string by = r.created_by;
  std::replace(by.begin(), by.end(), '\t', ' ');
  if (!f.no_trunc) by = engine::ellipsis(by, 45);
  return {{"Comment", r.comment},
          {"CreatedAt", r.created},
          {"CreatedBy", by},
          {"CreatedSince", engine::createdSince(r.created, now)},
          {"ID", id},
          {"Size", engine::humanSize(static_cast<double>(r.size))}};
}

Result<int> runHistory(const Context& ctx, const HistoryFlags& f) {
  HULL_ASSIGN_OR_RETURN(store::Store store, openStore(ctx));
  HULL_ASSIGN_OR_RETURN(auto rows, engine::imageHistory(store, f.ref));
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::vector<Json> table_rows;
  for (const auto& r : rows) table_rows.push_back(historyRow(r, f, now));
  HULL_TRY(printRows(table_rows, f.quiet, f.format,
                     {"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"}, [](const Json& row) {
                       return std::vector<std::string>{row["ID"], row["CreatedSince"],
                                                       row["CreatedBy"], row["Size"],
                                                       row["Comment"]};
                     }));
  return 0;
}

}  // namespace

void registerInspect(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<InspectFlags>();
  auto* cmd = app.add_subcommand("inspect", "Show details of containers or images as a JSON array");
  cmd->add_option("NAME", f->refs, "Container or image names, IDs or manifest digests")->required();
  cmd->add_option("--type", f->type, "Inspect only this kind of object: container or image");
  cmd->add_option("-f,--format", f->format,
                  "json (default: a JSON array like docker inspect) or a Go template such as "
                  "'{{.Id}}' or '{{json .Config}}', printed once per image");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runInspect(ctx, *f); }; });
}

void registerHistory(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<HistoryFlags>();
  auto* cmd = app.add_subcommand("history", "Show how an image was made, newest step first");
  cmd->add_option("IMAGE", f->ref, "Image name, ID or manifest digest")->required();
  cmd->add_flag("--no-trunc", f->no_trunc, "Do not shorten IDs and CREATED BY");
  cmd->add_flag("-q,--quiet", f->quiet, "Print the IMAGE column only");
  cmd->add_option("--format", f->format,
                  "Output: table (default), json (one object per line) or a Go template such as "
                  "'{{.CreatedBy}}'");
  cmd->callback([&ctx, f] { ctx.action = [&ctx, f] { return runHistory(ctx, *f); }; });
}

}  // namespace hull::cli
