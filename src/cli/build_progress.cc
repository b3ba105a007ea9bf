// The build progress of build_progress.h.
#include "cli/build_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

namespace hull::cli {

std::string stepTitle(const build::StepEvent& e) {
  std::string stage = e.stage_name;
  if (stage.empty() && e.stage > 0) stage = fmt::format("stage-{}", e.stage);
  std::string where = fmt::format("{}/{}", e.step, e.steps);
  if (!stage.empty()) where = stage + " " + where;
  return fmt::format("[{}] {}", where, e.text);
}

std::string stepSeconds(double seconds) { return fmt::format("{:.1f}s", std::max(0.0, seconds)); }

namespace {

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::size_t terminalWidth(std::FILE* out) {
  winsize ws{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) return ws.ws_col;
  return 80;
}

// One terminal row: control characters dropped (a stray \r or escape would break the redraw),
// cut to the width so that no row wraps.
std::string fitRow(std::string_view text, std::size_t width) {
  std::string out;
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) continue;
    out += c;
  }
  if (out.size() >= width) out.resize(width - 1);
  return out;
}

}  // namespace

BuildProgress::BuildProgress(std::FILE* out, Mode mode) : out_(out), mode_(mode) {
  if (mode_ != Mode::kTty) return;
  ticker_ = std::jthread([this](std::stop_token stop) {
    std::unique_lock lock(mu_);
    while (!stop.stop_requested()) {
      tick_.wait_for(lock, stop, std::chrono::milliseconds(250), [] { return false; });
      if (!stop.stop_requested() && !live_.empty()) redraw(false);
    }
  });
}

BuildProgress::Step& BuildProgress::step(const build::StepEvent& e) {
  auto [it, added] = steps_.try_emplace(e.step);
  if (added) {
    it->second.number = next_number_++;
    it->second.title = stepTitle(e);
    it->second.started = std::chrono::steady_clock::now();
  }
  return it->second;
}

void BuildProgress::emit(const std::string& text) {
  if (mode_ == Mode::kQuiet) return;
  if (mode_ == Mode::kTty) clearRows();
  std::fprintf(out_, "%s\n", text.c_str());
  if (mode_ == Mode::kTty) redraw(true);
  std::fflush(out_);
}

void BuildProgress::stepStarted(const build::StepEvent& e) {
  std::lock_guard lock(mu_);
  Step& s = step(e);
  s.started = std::chrono::steady_clock::now();
  if (mode_ == Mode::kTty) {
    if (!s.live) live_.push_back(e.step);
    s.live = true;
    redraw(true);
    return;
  }
  emit(fmt::format("#{} {}", s.number, s.title));
}

void BuildProgress::stepCached(const build::StepEvent& e) {
  std::lock_guard lock(mu_);
  Step& s = step(e);
  if (mode_ == Mode::kTty) {
    std::erase(live_, e.step);
    s.live = false;
    emit(fmt::format("#{} {} CACHED", s.number, s.title));
    return;
  }
  emit(fmt::format("#{} {}", s.number, s.title));
  emit(fmt::format("#{} CACHED", s.number));
}

void BuildProgress::outputLine(Step& s, std::string_view text) {
  if (mode_ == Mode::kTty) {
    s.last = std::string(text);
    return;
  }
  emit(fmt::format("#{} {:.3f} {}", s.number, since(s.started), text));
}

void BuildProgress::stepOutput(const build::StepEvent& e, std::string_view text) {
  std::lock_guard lock(mu_);
  if (mode_ == Mode::kQuiet) return;
  Step& s = step(e);
  s.partial.append(text);
  std::size_t start = 0;
  for (std::size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(s.partial.data() + start, nl - start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    outputLine(s, line);
  }
  s.partial.erase(0, start);
  if (mode_ == Mode::kTty) redraw(false);
}

void BuildProgress::stepDone(const build::StepEvent& e, double seconds) {
  std::lock_guard lock(mu_);
  Step& s = step(e);
  if (!s.partial.empty()) {
    outputLine(s, s.partial);
    s.partial.clear();
  }
  if (mode_ == Mode::kTty) {
    std::erase(live_, e.step);
    s.live = false;
    emit(fmt::format("#{} {} DONE {}", s.number, s.title, stepSeconds(seconds)));
    return;
  }
  emit(fmt::format("#{} DONE {}", s.number, stepSeconds(seconds)));
}

void BuildProgress::warning(const std::string& text) {
  std::lock_guard lock(mu_);
  if (std::find(warnings_.begin(), warnings_.end(), text) == warnings_.end()) {
    warnings_.push_back(text);
  }
}

int BuildProgress::reserveNumber() {
  std::lock_guard lock(mu_);
  return next_number_++;
}

void BuildProgress::line(const std::string& text) {
  std::lock_guard lock(mu_);
  emit(text);
}

void BuildProgress::finish() {
  std::lock_guard lock(mu_);
  if (mode_ != Mode::kTty) return;
  clearRows();
  live_.clear();
  std::fflush(out_);
}

std::vector<std::string> BuildProgress::warnings() const {
  std::lock_guard lock(mu_);
  return warnings_;
}

void BuildProgress::clearRows() {
  if (drawn_ == 0) return;
  // Up to the first row, then clear from there to the end of the screen.
  std::fprintf(out_, "\x1b[%zuA\r\x1b[J", drawn_);
  drawn_ = 0;
}

void BuildProgress::redraw(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  clearRows();
  std::size_t width = terminalWidth(out_);
  for (int id : live_) {
    const Step& s = steps_.at(id);
    std::string row = fmt::format("#{} {} {}", s.number, s.title, stepSeconds(since(s.started)));
    std::fprintf(out_, "%s\n", fitRow(row, width).c_str());
    ++drawn_;
    if (!s.last.empty()) {
      std::fprintf(out_, "%s\n", fitRow("  > " + s.last, width).c_str());
      ++drawn_;
    }
  }
  std::fflush(out_);
  last_draw_ = now;
}

}  // namespace hull::cli
