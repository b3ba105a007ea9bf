#include "runtime/signals.h"

#include <csignal>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <tuple>
#include <utility>

namespace hull::runtime {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 31> kSignals{{
    {"SIGABRT", SIGABRT},     {"SIGALRM", SIGALRM}, {"SIGBUS", SIGBUS},   {"SIGCHLD", SIGCHLD},
    {"SIGCONT", SIGCONT},     {"SIGFPE", SIGFPE},   {"SIGHUP", SIGHUP},   {"SIGILL", SIGILL},
    {"SIGINT", SIGINT},       {"SIGIO", SIGIO},     {"SIGKILL", SIGKILL}, {"SIGPIPE", SIGPIPE},
    {"SIGPROF", SIGPROF},     {"SIGPWR", SIGPWR},   {"SIGQUIT", SIGQUIT}, {"SIGSEGV", SIGSEGV},
    {"SIGSTKFLT", SIGSTKFLT}, {"SIGSTOP", SIGSTOP}, {"SIGSYS", SIGSYS},   {"SIGTERM", SIGTERM},
    {"SIGTRAP", SIGTRAP},     {"SIGTSTP", SIGTSTP}, {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},
    {"SIGURG", SIGURG},       {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGVTALRM", SIGVTALRM},
    {"SIGWINCH", SIGWINCH},   {"SIGXCPU", SIGXCPU}, {"SIGXFSZ", SIGXFSZ},
}};

std::optional<int> parseNumber(std::string_view text) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

Result<int> parseSignal(std::string_view text) {
  auto bad = fail(Errc::kInvalidArgument, "unknown signal \"" + std::string(text) + "\"");
  if (text.empty()) return bad;
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    auto n = parseNumber(text);
    if (!n || *n <= 0 || *n > SIGRTMAX) return bad;
    return *n;
  }
  std::string name(text);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (!name.starts_with("SIG")) name = "SIG" + name;
  for (const auto& [n, value] : kSignals) {
    if (n == name) return value;
  }
  if (name == "SIGIOT") return SIGABRT;
  if (name == "SIGPOLL") return SIGIO;
  // SIGRTMIN, SIGRTMIN+n, SIGRTMAX, SIGRTMAX-n.
  for (auto [prefix, base, sign] :
       {std::tuple{"SIGRTMIN", SIGRTMIN, 1}, std::tuple{"SIGRTMAX", SIGRTMAX, -1}}) {
    std::string_view rest(name);
    if (!rest.starts_with(prefix)) continue;
    rest.remove_prefix(std::string_view(prefix).size());
    if (rest.empty()) return base;
    if (rest[0] != (sign > 0 ? '+' : '-')) return bad;
    auto n = parseNumber(rest.substr(1));
    if (!n || *n < 0) return bad;
    int value = base + sign * *n;
    if (value < SIGRTMIN || value > SIGRTMAX) return bad;
    return value;
  }
  return bad;
}

std::string signalName(int signal) {
  for (const auto& [name, value] : kSignals) {
    if (value == signal) return std::string(name);
  }
  if (signal >= SIGRTMIN && signal <= SIGRTMAX) {
    return signal == SIGRTMIN ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(signal - SIGRTMIN);
  }
  return std::to_string(signal);
}

}  // namespace hull::runtime
