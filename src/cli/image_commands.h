// The image and store commands, registered together by registerImageCommands and
// registerSystem (command.h); one function per command, one file per group.
#pragma once

#include <string>

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

// Prints a second error line for one of several arguments and carries on (docker rmi, inspect).
void printError(const Error& error);

}  // namespace hull::cli
