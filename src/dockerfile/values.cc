#include "dockerfile/values.h"

#include <charconv>
#include <cmath>

#include "dockerfile/instructions.h"
#include "dockerfile/text.h"

namespace hull::dockerfile {
namespace {

Error valueError(std::string message) { return Error{Errc::kInvalidArgument, std::move(message)}; }

bool allDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool parseUint(std::string_view s, int base, uint64_t max, uint64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && p == s.data() + s.size() && *out <= max;
}

Result<bool> parseBoolValue(std::string_view key, std::string_view v) {
  // strconv.ParseBool
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") {
    return false;
  }
  return fail(valueError("invalid value for " + std::string(key) + ": " + std::string(v)));
}

// One CSV record (encoding/csv rules: "" inside quotes, no bare quotes in unquoted fields).
Result<std::vector<std::string>> splitCsv(std::string_view s) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  for (;;) {
    std::string field;
    if (i < s.size() && s[i] == '"') {
      ++i;
      for (;;) {
        if (i >= s.size()) return fail(valueError("extraneous or missing \" in quoted-field"));
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += s[i++];
      }
      if (i < s.size() && s[i] != ',') {
        return fail(valueError("extraneous or missing \" in quoted-field"));
      }
    } else {
      while (i < s.size() && s[i] != ',') {
        if (s[i] == '"') return fail(valueError("bare \" in non-quoted-field"));
        field += s[i++];
      }
    }
    fields.push_back(std::move(field));
    if (i >= s.size()) break;
    ++i;  // ','
  }
  return fields;
}

const std::vector<std::string>& mountKeys() {
  static const std::vector<std::string> k = {
      "type",        "from", "source", "target",    "readonly", "id",  "sharing",
      "required",    "size", "mode",   "uid",       "gid",      "src", "dst",
      "destination", "ro",   "rw",     "readwrite", "env"};
  return k;
}

Result<void> setMountField(Mount& m, const std::string& key, const std::string& value,
                           const std::string& field, bool* ro_auto) {
  uint64_t n = 0;
  if (key == "type") {
    std::string t = asciiLower(value);
    if (t != "bind" && t != "cache" && t != "tmpfs" && t != "secret" && t != "ssh") {
      std::string msg = "unsupported mount type \"" + value + "\"";
      auto s = suggest(value, {"bind", "cache", "tmpfs", "secret", "ssh"});
      if (!s.empty()) msg += " (did you mean " + s + "?)";
      return fail(valueError(msg));
    }
    m.type = t;
  } else if (key == "from") {
    m.from = value;
  } else if (key == "source" || key == "src") {
    m.source = value;
  } else if (key == "target" || key == "dst" || key == "destination") {
    m.target = value;
  } else if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
    HULL_ASSIGN_OR_RETURN(bool b, parseBoolValue(key, value));
    m.readonly = (key == "readonly" || key == "ro") ? b : !b;
    *ro_auto = false;
  } else if (key == "required") {
    if (m.type != "secret" && m.type != "ssh") {
      return fail(valueError("unexpected key 'required' for mount type '" + m.type + "'"));
    }
    HULL_ASSIGN_OR_RETURN(m.required, parseBoolValue(key, value));
  } else if (key == "size") {
    if (m.type != "tmpfs") {
      return fail(valueError("unexpected key 'size' for mount type '" + m.type + "'"));
    }
    auto size = parseByteSize(value);
    if (!size) return fail(valueError("invalid value for size: " + value));
    m.size = *size;
  } else if (key == "id") {
    m.id = value;
  } else if (key == "sharing") {
    if (m.type != "cache")
      return fail(valueError("invalid cache sharing set for " + m.type + " mount"));
    std::string v = asciiLower(value);
    if (v != "shared" && v != "private" && v != "locked") {
      return fail(valueError("unsupported sharing value \"" + value + "\""));
    }
    m.sharing = v;
  } else if (key == "mode" || key == "uid" || key == "gid") {
    if (!parseUint(value, key == "mode" ? 8 : 10, UINT32_MAX, &n)) {
      return fail(valueError("invalid value " + value + " for " + key));
    }
    (key == "mode" ? m.mode : key == "uid" ? m.uid : m.gid) = static_cast<uint32_t>(n);
  } else if (key == "env") {
    m.env = value;
  } else {
    std::string msg = "unexpected key '" + key + "' in '" + field + "'";
    if (auto s = suggest(key, mountKeys()); !s.empty()) msg += " (did you mean " + s + "?)";
    return fail(valueError(msg));
  }
  return {};
}

Result<void> finishMount(Mount& m, bool ro_auto) {
  if (ro_auto) m.readonly = !(m.type == "cache" || m.type == "tmpfs");
  bool file_info = m.type == "cache" || m.type == "secret" || m.type == "ssh";
  if (!file_info && (m.mode || m.uid || m.gid)) {
    const char* what = m.mode ? "mode" : m.uid ? "uid" : "gid";
    return fail(valueError(std::string(what) + " not allowed for \"" + m.type + "\" type mounts"));
  }
  if (m.type == "secret" || m.type == "ssh") {
    if (!m.from.empty()) return fail(valueError(m.type + " mount should not have a from"));
    if (m.type == "secret") {
      if (m.id.empty() && m.target.empty()) {
        return fail(valueError("secret mount requires an id or a target"));
      }
      if (m.id.empty()) m.id = m.target.substr(m.target.rfind('/') + 1);
      if (m.target.empty() && !m.env) m.target = "/run/secrets/" + m.id;
    } else if (m.id.empty()) {
      m.id = "default";
    }
    return {};
  }
  if (m.env) return fail(valueError("unexpected key 'env' for mount type '" + m.type + "'"));
  if (m.target.empty()) return fail(valueError("mount type=" + m.type + " requires a target"));
  return {};
}

}  // namespace

Result<Mount> parseMount(std::string_view spec, const WordExpander& expand) {
  auto fields = splitCsv(spec);
  if (!fields) return fail(fields.error().wrap("failed to parse csv mounts"));
  Mount m;
  bool ro_auto = true;
  for (const auto& field : *fields) {
    auto eq = field.find('=');
    std::string key = asciiLower(field.substr(0, eq));
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
        m.readonly = key == "readonly" || key == "ro";
        ro_auto = false;
      } else if (key == "required" && (m.type == "secret" || m.type == "ssh")) {
        m.required = true;
      } else if (key == "required") {
        return fail(valueError("unexpected key 'required' for mount type '" + m.type + "'"));
      } else {
        return fail(valueError("invalid field '" + field + "' must be a key=value pair"));
      }
      continue;
    }
    std::string value = field.substr(eq + 1);
    if (expand) {
      HULL_ASSIGN_OR_RETURN(value, expand(value));
    }
    HULL_TRY(setMountField(m, key, value, field, &ro_auto));
  }
  HULL_TRY(finishMount(m, ro_auto));
  return m;
}

namespace {

// A CDI qualified name has the shape vendor/class=name with none of the three empty; the
// character rules are the CDI registry's to check when the step runs.
Result<void> checkDeviceName(const std::string& name) {
  auto eq = name.find('=');
  auto slash = name.find('/');
  std::string problem;
  if (name.empty()) {
    problem = "empty";
  } else if (eq == std::string::npos) {
    problem = "unqualified device, missing kind";
  } else if (slash == std::string::npos || slash > eq || slash == 0) {
    problem = "unqualified device, missing vendor";
  } else if (slash + 1 == eq || name.find('/', slash + 1) < eq) {
    problem = "invalid device class";
  } else if (eq + 1 == name.size()) {
    problem = "missing device name";
  } else {
    return {};
  }
  return fail(valueError("invalid device name \"" + name + "\": " + problem +
                         " (want vendor.com/class=name)"));
}

}  // namespace

Result<RunDevice> parseRunDevice(std::string_view spec) {
  auto fields = splitCsv(spec);
  if (!fields) return fail(fields.error().wrap("failed to parse csv devices"));
  RunDevice d;
  bool named = false;
  auto setName = [&](const std::string& name) -> Result<void> {
    if (named) return fail(valueError("device name already set to " + d.name));
    d.name = name;
    named = true;
    return {};
  };
  for (const auto& field : *fields) {
    auto eq = field.find('=');
    std::string key = asciiLower(field.substr(0, eq));
    if (key == "required") {
      if (eq == std::string::npos) {
        d.required = true;
      } else {
        HULL_ASSIGN_OR_RETURN(d.required, parseBoolValue(key, field.substr(eq + 1)));
      }
    } else if (key == "name" && eq != std::string::npos) {
      HULL_TRY(setName(field.substr(eq + 1)));
    } else if (!named) {
      HULL_TRY(setName(field));  // the first bare field is the name, '=' and all
    } else if (eq == std::string::npos) {
      return fail(valueError("invalid field '" + field + "' must be a key=value pair"));
    } else {
      std::string msg = "unexpected key '" + key + "' in '" + field + "'";
      if (auto s = suggest(key, {"name", "required"}); !s.empty()) {
        msg += " (did you mean " + s + "?)";
      }
      return fail(valueError(msg));
    }
  }
  HULL_TRY(checkDeviceName(d.name));
  return d;
}

Result<int64_t> parseDuration(std::string_view text) {
  std::string quoted = "\"" + std::string(text) + "\"";
  auto invalid = [&] { return fail(valueError("invalid duration " + quoted)); };
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return invalid();
  long double total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return invalid();
    std::size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    std::string_view num = s.substr(0, i);
    if (num == "." || std::count(num.begin(), num.end(), '.') > 1) return invalid();
    s.remove_prefix(i);
    std::size_t u = 0;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) ++u;
    if (u == 0) return fail(valueError("missing unit in duration " + quoted));
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    long double scale = 0;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      scale = 1e3L;
    else if (unit == "ms")
      scale = 1e6L;
    else if (unit == "s")
      scale = 1e9L;
    else if (unit == "m")
      scale = 60e9L;
    else if (unit == "h")
      scale = 3600e9L;
    else
      return fail(valueError("unknown unit \"" + std::string(unit) + "\" in duration " + quoted));
    total += std::strtold(std::string(num).c_str(), nullptr) * scale;
    if (total > 9223372036854775807.0L) return invalid();
  }
  auto ns = static_cast<int64_t>(total);
  return neg ? -ns : ns;
}

Result<int64_t> parseByteSize(std::string_view text) {
  std::string_view s = text;
  std::size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  std::string_view num = s.substr(0, i);
  if (num.empty() || num[0] == '.' || num.back() == '.') {
    return fail(valueError("invalid size: '" + std::string(text) + "'"));
  }
  std::string_view suffix = s.substr(i);
  if (!suffix.empty() && suffix[0] == ' ') suffix.remove_prefix(1);
  long double mult = 1;
  if (!suffix.empty()) {
    const std::string units = "kmgtp";
    auto pos = units.find(asciiLower(suffix.substr(0, 1))[0]);
    if (pos != std::string::npos) {
      mult = std::pow(1024.0L, static_cast<long double>(pos + 1));
      suffix.remove_prefix(1);
    }
  }
  std::string rest = asciiLower(suffix);
  if (!(rest.empty() || rest == "b" || rest == "i" || rest == "ib")) {
    return fail(valueError("invalid size: '" + std::string(text) + "'"));
  }
  long double v = std::strtold(std::string(num).c_str(), nullptr) * mult;
  if (v > 9.2e18L) return fail(valueError("invalid size: '" + std::string(text) + "'"));
  return static_cast<int64_t>(v);
}

Result<std::string> normalizePort(std::string_view port) {
  std::string bad = "invalid port \"" + std::string(port) + "\"";
  std::string_view p = port;
  std::string proto = "tcp";
  if (auto slash = p.find('/'); slash != std::string_view::npos) {
    proto = std::string(p.substr(slash + 1));
    p = p.substr(0, slash);
    if (proto != "tcp" && proto != "udp" && proto != "sctp") {
      return fail(valueError(bad + ": unknown protocol \"" + proto + "\" (use tcp, udp or sctp)"));
    }
  }
  if (p.find(':') != std::string_view::npos) {
    return fail(valueError(bad + ": EXPOSE takes container ports only, publish host ports at run"));
  }
  std::string_view lo = p, hi = p;
  if (auto dash = p.find('-'); dash != std::string_view::npos) {
    lo = p.substr(0, dash);
    hi = p.substr(dash + 1);
  }
  uint64_t a = 0, b = 0;
  if (!allDigits(lo) || !allDigits(hi) || !parseUint(lo, 10, 65535, &a) ||
      !parseUint(hi, 10, 65535, &b) || a == 0) {
    return fail(valueError(bad + ": ports are numbers from 1 to 65535"));
  }
  if (b < a) return fail(valueError(bad + ": range ends before it starts"));
  return std::string(p) + "/" + proto;
}

Result<void> validateChmod(std::string_view chmod) {
  if (chmod.empty()) return {};
  uint64_t n = 0;
  if (allDigits(chmod)) {
    if (parseUint(chmod, 8, 07777, &n)) return {};
    return fail(valueError("invalid chmod parameter: \"" + std::string(chmod) + "\""));
  }
  // Symbolic modes: [ugoa]*[-+=][rwxXst]* clauses separated by commas.
  std::size_t i = 0;
  while (i <= chmod.size()) {
    while (i < chmod.size() && std::string_view("ugoa").find(chmod[i]) != std::string_view::npos)
      ++i;
    if (i >= chmod.size() || std::string_view("-+=").find(chmod[i]) == std::string_view::npos) {
      return fail(valueError("invalid chmod parameter: \"" + std::string(chmod) + "\""));
    }
    ++i;
    while (i < chmod.size() &&
           std::string_view("rwxXst").find(chmod[i]) != std::string_view::npos) {
      ++i;
    }
    if (i == chmod.size()) return {};
    if (chmod[i] != ',') {
      return fail(valueError("invalid chmod parameter: \"" + std::string(chmod) + "\""));
    }
    ++i;
  }
  return {};
}

Result<void> validateSignal(std::string_view signal) {
  static const std::vector<std::string> names = {
      "ABRT", "ALRM",   "BUS",  "CHLD",   "CLD",   "CONT", "FPE",  "HUP",   "ILL",
      "INT",  "IO",     "IOT",  "KILL",   "PIPE",  "POLL", "PROF", "PWR",   "QUIT",
      "SEGV", "STKFLT", "STOP", "SYS",    "TERM",  "TRAP", "TSTP", "TTIN",  "TTOU",
      "URG",  "USR1",   "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "UNUSED"};
  uint64_t n = 0;
  if (allDigits(signal)) {
    if (parseUint(signal, 10, 64, &n) && n > 0) return {};
  } else {
    std::string s = asciiUpper(signal);
    if (s.rfind("SIG", 0) == 0) s.erase(0, 3);
    if (std::find(names.begin(), names.end(), s) != names.end()) return {};
    for (std::string_view rt : {"RTMIN", "RTMAX"}) {
      if (s == rt) return {};
      if (s.rfind(rt, 0) == 0 && s.size() > rt.size() + 1 &&
          (s[rt.size()] == (rt == "RTMIN" ? '+' : '-')) &&
          parseUint(std::string_view(s).substr(rt.size() + 1), 10, 15, &n)) {
        return {};
      }
    }
  }
  return fail(valueError("invalid signal: " + std::string(signal)));
}

Result<void> validateChecksum(std::string_view checksum) {
  if (checksum.empty()) return {};
  auto colon = checksum.find(':');
  std::string_view algo = colon == std::string_view::npos ? "" : checksum.substr(0, colon);
  std::string_view hex = colon == std::string_view::npos ? checksum : checksum.substr(colon + 1);
  std::size_t want = algo == "sha256" ? 64 : algo == "sha384" ? 96 : algo == "sha512" ? 128 : 0;
  bool hex_ok = !hex.empty();
  for (char c : hex) hex_ok = hex_ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (want != 0 && hex.size() == want && hex_ok) return {};
  // A bare 40- or 64-digit hex string pins a git commit.
  if (algo.empty() && colon == std::string_view::npos && hex_ok &&
      (hex.size() == 40 || hex.size() == 64)) {
    return {};
  }
  return fail(valueError("invalid checksum digest format: \"" + std::string(checksum) +
                         "\" (want sha256:<64 hex digits>)"));
}

}  // namespace hull::dockerfile
