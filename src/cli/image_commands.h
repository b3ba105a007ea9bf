// The image and store commands, registered together by registerImageCommands and
// registerSystem (command.h); one function per command, one file per group.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/json.h"

#include "cli/command.h"
#include "store/store.h"

namespace hull::cli {

void registerImport(CLI::App& app, Context& ctx);   // image_io.cc
void registerSave(CLI::App& app, Context& ctx);     // image_io.cc
void registerLoad(CLI::App& app, Context& ctx);     // image_io.cc
void registerImages(CLI::App& app, Context& ctx);   // images.cc
void registerTag(CLI::App& app, Context& ctx);      // images.cc
void registerRmi(CLI::App& app, Context& ctx);      // images.cc
void registerInspect(CLI::App& app, Context& ctx);  // inspect.cc
void registerHistory(CLI::App& app, Context& ctx);  // inspect.cc

inline Result<store::Store> openStore(const Context& ctx) { return store::Store::open(ctx.root); }

// Prints listing rows the way docker's list commands do: only the IDs with -q, one JSON object
// per line for "json", a Go template per row for any other format but "table", else an aligned
// table under `header` with the cells that `cells` picks from each row.
Result<void> printRows(const std::vector<Json>& rows, bool quiet, const std::string& format,
                       std::vector<std::string> header,
                       const std::function<std::vector<std::string>(const Json&)>& cells);

// Prints a second error line for one of several arguments and carries on (docker rmi, inspect).
void printError(const Error& error);

}  // namespace hull::cli
