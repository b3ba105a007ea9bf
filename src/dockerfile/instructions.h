// Typed Dockerfile instructions, made from the line parser's nodes. Values are as written until
// the stage builder (dockerfile.h) expands variables in the instructions Docker expands.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "dockerfile/ast.h"
#include "oci/image.h"

namespace hull::dockerfile {

struct KeyValue {
  std::string key;
  std::string value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// CMD, ENTRYPOINT, RUN and HEALTHCHECK CMD: a shell-form line (one string, run by the stage's
// SHELL) or an exec-form argument vector.
struct CommandLine {
  std::vector<std::string> args;
  bool shell_form = true;
  friend bool operator==(const CommandLine&, const CommandLine&) = default;
};

struct Mount {
  std::string type = "bind";  // bind, cache, tmpfs, secret, ssh
  std::string from;           // stage name or index, or an image
  std::string source;
  std::string target;
  bool readonly = true;
  std::string id;       // cache, secret and ssh id
  std::string sharing;  // cache: shared, private, locked
  bool required = false;
  std::optional<uint32_t> mode, uid, gid;
  std::optional<int64_t> size;     // tmpfs, bytes
  std::optional<std::string> env;  // secret exposed as an environment variable
  std::optional<int> from_stage;   // index of the stage `from` names, when it names one
  friend bool operator==(const Mount&, const Mount&) = default;
};

// A --device of RUN (BuildKit's CDI devices): a qualified CDI name, and whether the step fails
// when no such device is available -- by default, as in BuildKit, it runs without it.
struct RunDevice {
  std::string name;  // "vendor.com/class=name"
  bool required = false;
  friend bool operator==(const RunDevice&, const RunDevice&) = default;
};

struct Run {
  CommandLine command;
  std::vector<std::string> mount_specs;  // raw --mount values, parsed after expansion
  std::vector<Mount> mounts;
  std::string network;   // "", default, none, host
  std::string security;  // "", sandbox, insecure
  std::vector<RunDevice> devices;
  std::vector<Heredoc> heredocs;
};
struct Cmd {
  CommandLine command;
};
struct Entrypoint {
  CommandLine command;
};
struct Label {
  std::vector<KeyValue> labels;
};
struct Maintainer {
  std::string name;
};
struct Expose {
  std::vector<std::string> ports;
};
struct EnvInstr {
  std::vector<KeyValue> vars;
};

// ADD and COPY.
struct Copy {
  bool add = false;
  std::vector<std::string> sources;
  std::vector<Heredoc> inline_sources;  // COPY <<EOF /dest
  std::string dest;
  std::string from;               // COPY only
  std::optional<int> from_stage;  // index of the stage `from` names, when it names one
  std::string chown;
  std::string chmod;
  bool link = false;
  bool parents = false;
  std::vector<std::string> excludes;
  std::string checksum;       // ADD only
  bool keep_git_dir = false;  // ADD only
};

struct Volume {
  std::vector<std::string> paths;
};
struct User {
  std::string user;
};
struct Workdir {
  std::string path;
};

struct ArgDecl {
  std::string name;
  std::optional<std::string> value;  // nullopt: declared without a value and none given
  friend bool operator==(const ArgDecl&, const ArgDecl&) = default;
};
struct Arg {
  std::vector<ArgDecl> args;
};

struct Instruction;
struct Onbuild {
  std::string expression;  // the trigger as written, replayed by builds FROM this image
  std::shared_ptr<Instruction> trigger;
};
struct StopSignal {
  std::string signal;
};
struct Healthcheck {
  oci::HealthConfig config;
};  // test[0] is NONE, CMD or CMD-SHELL
struct Shell {
  std::vector<std::string> shell;
};

// FROM opens a stage (see Stage in dockerfile.h); it is an instruction only inside the parser.
struct From {
  std::string image;
  std::string platform;
  std::string stage_name;  // lower case, "" when unnamed
};

using InstructionBody =
    std::variant<From, Run, Cmd, Entrypoint, Label, Maintainer, Expose, EnvInstr, Copy, Volume,
                 User, Workdir, Arg, Onbuild, StopSignal, Healthcheck, Shell>;

struct Instruction {
  SourceRange range;
  std::string keyword;   // upper case: RUN, COPY, ...
  std::string original;  // the logical line as written
  InstructionBody body;
};

// Types one node; `file` names the input in errors ("Dockerfile:4: ...").
Result<Instruction> parseInstruction(const Node& node, std::string_view file);

// The instruction keywords, upper case, in the reference's order.
const std::vector<std::string>& instructionKeywords();

// Go's time.ParseDuration syntax ("1m30s", "500ms"), in nanoseconds.
Result<int64_t> parseDuration(std::string_view text);

// One --mount value ("type=cache,target=/root/.cache"). `expand`, when given, is applied to each
// field's value after the CSV split, as Docker does.
using WordExpander = std::function<Result<std::string>(const std::string&)>;
Result<Mount> parseMount(std::string_view spec, const WordExpander& expand = {});

// One --device value of RUN: "vendor.com/class=name[,required[=BOOL]]" or "name=...,required".
Result<RunDevice> parseRunDevice(std::string_view spec);

}  // namespace hull::dockerfile
