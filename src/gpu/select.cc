#include "gpu/select.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

namespace hull::gpu {
namespace {

tl::unexpected<Error> badValue(std::string_view value, std::string_view why) {
  // A value that holds double quotes itself is shown in single ones, as it was typed.
  const char* quote = value.find('"') == std::string_view::npos ? "\"" : "'";
  return fail(Errc::kInvalidArgument, "invalid --gpus value " + std::string(quote) +
                                          std::string(value) + quote + ": " + std::string(why));
}

// One record of Go's encoding/csv, as Docker reads the flag: a field that starts with a quote
// may hold commas and doubled quotes; a quote anywhere else is an error. Returns the reason on
// failure.
Result<std::vector<std::string>> readCsvRecord(std::string_view in) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    std::string field;
    if (i < in.size() && in[i] == '"') {
      ++i;
      while (true) {
        if (i >= in.size()) return fail(Errc::kInvalidArgument, "missing closing quote");
        if (in[i] == '"') {
          if (i + 1 < in.size() && in[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += in[i++];
      }
      if (i < in.size() && in[i] != ',') {
        return fail(Errc::kInvalidArgument, "text after a closing quote");
      }
    } else {
      while (i < in.size() && in[i] != ',') {
        if (in[i] == '"') return fail(Errc::kInvalidArgument, "a quote inside an unquoted field");
        field += in[i++];
      }
    }
    fields.push_back(std::move(field));
    if (i >= in.size()) break;
    ++i;  // the comma
  }
  return fields;
}

std::vector<std::string> splitComma(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    out.emplace_back(s.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::optional<int> parseNumber(std::string_view s) {
  int n = 0;
  if (s.empty() || s.size() > 6) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n < 0) return std::nullopt;
  return n;
}

// The capability names Docker's nvidia device driver knows; "gpu" and "nvidia" select the
// driver and give no driver capability.
Result<void> addDockerCapability(std::string_view name, std::set<Capability>& caps) {
  static const std::map<std::string_view, Capability> kNames = {
      {"compute", Capability::kCompute},   {"compat32", Capability::kCompat32},
      {"graphics", Capability::kGraphics}, {"utility", Capability::kUtility},
      {"video", Capability::kVideo},       {"display", Capability::kDisplay},
  };
  if (name == "gpu" || name == "nvidia") return {};
  if (name == "all") {  // as NVIDIA_DRIVER_CAPABILITIES=all
    for (const auto& [_, cap] : kNames) caps.insert(cap);
    return {};
  }
  auto it = kNames.find(name);
  if (it == kNames.end()) {
    return fail(Errc::kInvalidArgument,
                "unknown capability \"" + std::string(name) +
                    "\" (known: compute, compat32, display, graphics, utility, video)");
  }
  caps.insert(it->second);
  return {};
}

Result<void> applyField(std::string_view key, std::string_view val, GpuRequest& req) {
  if (key == "count") {
    if (val == "all") {
      req.all = true;
      return {};
    }
    auto n = parseNumber(val);
    if (!n) {
      return fail(Errc::kInvalidArgument,
                  "count \"" + std::string(val) + "\" must be \"all\" or a number");
    }
    req.count = *n;
  } else if (key == "device") {
    for (auto& id : splitComma(val)) {
      if (id.empty()) return fail(Errc::kInvalidArgument, "empty device id");
      req.ids.push_back(std::move(id));
    }
  } else if (key == "capabilities") {
    for (const auto& name : splitComma(val)) HULL_TRY(addDockerCapability(name, req.caps));
  } else if (key == "driver") {
    if (val != "nvidia") {
      return fail(Errc::kInvalidArgument,
                  "driver \"" + std::string(val) + "\" is not supported (only \"nvidia\")");
    }
  } else if (key == "options") {
    return fail(Errc::kInvalidArgument, "driver options are not supported");
  } else {
    return fail(Errc::kInvalidArgument, "unknown key \"" + std::string(key) + "\"");
  }
  return {};
}

}  // namespace

Result<GpuRequest> parseGpusFlag(std::string_view value) {
  if (value.empty()) return badValue(value, "empty");
  if (value.find_first_of("\r\n") != std::string_view::npos) {
    return badValue(value, "line breaks are not allowed");
  }
  auto fields = readCsvRecord(value);
  if (!fields) return badValue(value, fields.error().message);

  GpuRequest req;
  std::set<std::string> seen;
  for (const auto& field : *fields) {
    auto eq = field.find('=');
    // A field without '=' is the count, as in "all" or "2,capabilities=utility".
    std::string key = eq == std::string::npos ? "count" : field.substr(0, eq);
    std::string val = eq == std::string::npos ? field : field.substr(eq + 1);
    if (field.empty()) return badValue(value, "empty field");
    if (!seen.insert(key).second) return badValue(value, "\"" + key + "\" is given twice");
    auto applied = applyField(key, val, req);
    if (!applied) return badValue(value, applied.error().message);
  }
  if ((req.all || req.count) && !req.ids.empty()) {
    return badValue(value, "a count and device ids cannot be given together");
  }
  // Docker asks for one GPU when neither a count nor devices are named.
  if (!req.all && !req.count && req.ids.empty()) req.count = 1;
  return req;
}

namespace {

std::string hostGpus(const Driver& driver) {
  const auto n = driver.gpus.size();
  if (n == 0) return "this host has no GPUs";
  if (n == 1) return "this host has GPU " + std::to_string(driver.gpus[0].index);
  return "this host has GPUs " + std::to_string(driver.gpus.front().index) + "-" +
         std::to_string(driver.gpus.back().index);
}

// A GPU by its index ("0") or full UUID ("GPU-9f6f..."): its position in driver.gpus.
std::optional<int> findGpu(const Driver& driver, std::string_view id) {
  auto number = parseNumber(id);
  for (size_t i = 0; i < driver.gpus.size(); ++i) {
    const auto& gpu = driver.gpus[i];
    if (number ? gpu.index == *number : gpu.uuid == id) return static_cast<int>(i);
  }
  return std::nullopt;
}

void addOnce(std::vector<int>& into, int gpu) {
  if (std::find(into.begin(), into.end(), gpu) == into.end()) into.push_back(gpu);
}

Result<std::vector<int>> requestedGpus(const Driver& driver, const GpuRequest& request) {
  std::vector<int> gpus;
  const int available = static_cast<int>(driver.gpus.size());
  if (request.all || request.count) {
    int want = request.all ? available : *request.count;
    if (want > available || (request.all && available == 0)) {
      std::string flag = request.all ? "all" : std::to_string(want);
      std::string has = available == 0   ? "no GPUs"
                        : available == 1 ? "1 GPU"
                                         : std::to_string(available) + " GPUs";
      return fail(Errc::kNotFound, "--gpus " + flag + ": this host has " + has);
    }
    for (int i = 0; i < want; ++i) gpus.push_back(i);
    return gpus;
  }
  for (const auto& id : request.ids) {
    auto gpu = findGpu(driver, id);
    if (!gpu) {
      return fail(Errc::kNotFound,
                  "--gpus device=" + id + ": no GPU " + id + " (" + hostGpus(driver) + ")");
    }
    addOnce(gpus, *gpu);
  }
  return gpus;
}

std::optional<std::string> lastEnv(const std::vector<std::string>& env, std::string_view key) {
  std::optional<std::string> value;
  for (const auto& entry : env) {
    if (entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 &&
        entry[key.size()] == '=') {
      value = entry.substr(key.size() + 1);
    }
  }
  return value;
}

// NVIDIA_VISIBLE_DEVICES narrows the request; it never widens it.
Result<void> narrowByEnv(const Driver& driver, const std::string& visible,
                         const std::vector<int>& requested, Selection& selection) {
  if (visible == "void" || visible.empty()) {
    selection.inject_driver = false;
    selection.visible_devices = "void";
    return {};
  }
  if (visible == "none") {
    selection.visible_devices = "none";
    return {};
  }
  if (visible == "all") {
    selection.gpus = requested;
    return {};
  }
  for (const auto& id : splitComma(visible)) {
    auto gpu = findGpu(driver, id);
    const std::string where = "NVIDIA_VISIBLE_DEVICES=" + visible + ": ";
    if (!gpu) {
      return fail(Errc::kNotFound, where + "no GPU " + id + " (" + hostGpus(driver) + ")");
    }
    if (std::find(requested.begin(), requested.end(), *gpu) == requested.end()) {
      return fail(Errc::kInvalidArgument,
                  where + "GPU " + id + " is not among the GPUs given with --gpus");
    }
    addOnce(selection.gpus, *gpu);
  }
  return {};
}

std::string joinIndices(const Driver& driver, const std::vector<int>& gpus) {
  std::string out;
  for (int gpu : gpus) {
    if (!out.empty()) out += ',';
    out += std::to_string(driver.gpus[gpu].index);
  }
  return out;
}

}  // namespace

Result<Selection> selectGpus(const Driver& driver, const GpuRequest& request,
                             const std::vector<std::string>& env) {
  Selection selection;
  // "--gpus 0" asks for nothing: Docker then leaves the container as it is.
  if (!request.all && request.count == 0 && request.ids.empty()) {
    selection.inject_driver = false;
    selection.visible_devices = "void";
    return selection;
  }
  HULL_ASSIGN_OR_RETURN(auto requested, requestedGpus(driver, request));
  auto visible = lastEnv(env, "NVIDIA_VISIBLE_DEVICES");
  if (visible) {
    HULL_TRY(narrowByEnv(driver, *visible, requested, selection));
    if (!selection.inject_driver) return selection;
  } else {
    selection.gpus = requested;
  }
  if (selection.visible_devices.empty()) {
    const bool everything = request.all && (!visible || *visible == "all");
    selection.visible_devices = everything ? "all" : joinIndices(driver, selection.gpus);
  }

  if (!request.caps.empty()) {
    selection.caps = request.caps;
  } else if (auto caps = lastEnv(env, "NVIDIA_DRIVER_CAPABILITIES"); caps && !caps->empty()) {
    auto parsed = parseCapabilities(*caps);
    if (!parsed) return fail(parsed.error().wrap("NVIDIA_DRIVER_CAPABILITIES=" + *caps));
    selection.caps = std::move(*parsed);
  } else {
    selection.caps = {Capability::kUtility, Capability::kCompute};  // the toolkit's default
  }
  return selection;
}

}  // namespace hull::gpu
