// The transfer rows of progress.h.
#include "cli/progress.h"

#include <fmt/format.h>

namespace hull::cli {

std::string ProgressBoard::humanSize(int64_t bytes) {
  if (bytes < 1000) return fmt::format("{}B", bytes);
  const char* units[] = {"kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1000 && u < 3) {
    v /= 1000;
    ++u;
  }
  return fmt::format("{:.3g}{}", v, units[u]);
}

std::string ProgressBoard::bar(int64_t done, int64_t total, int width) {
  if (total <= 0) return humanSize(done);
  int64_t filled = std::min<int64_t>(width, done * width / total);
  std::string b(static_cast<std::size_t>(filled), '=');
  if (filled < width) b += '>';
  b.resize(static_cast<std::size_t>(width), ' ');
  return fmt::format("[{}] {:>7}/{}", b, humanSize(done), humanSize(total));
}

ProgressBoard::Row* ProgressBoard::find(const std::string& id) {
  for (auto& r : rows_) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

void ProgressBoard::redraw() {
  // Move up to the first row, rewrite every row, clearing what was there.
  if (drawn_ > 0) std::fprintf(out_, "\x1b[%zuA", drawn_);
  for (const auto& r : rows_) std::fprintf(out_, "\r\x1b[2K%s: %s\n", r.id.c_str(), r.text.c_str());
  drawn_ = rows_.size();
  std::fflush(out_);
  last_draw_ = std::chrono::steady_clock::now();
}

void ProgressBoard::add(const std::string& id, const std::string& status) {
  std::lock_guard lock(mu_);
  if (find(id) != nullptr) return;
  rows_.push_back({id, status});
  if (tty_) redraw();
}

void ProgressBoard::progress(const std::string& id, const std::string& status, int64_t done,
                             int64_t total) {
  if (!tty_) return;
  std::lock_guard lock(mu_);
  Row* r = find(id);
  if (r == nullptr) {
    rows_.push_back({id, ""});
    r = &rows_.back();
  }
  r->text = fmt::format("{:<12}{}", status, bar(done, total));
  if (std::chrono::steady_clock::now() - last_draw_ >= std::chrono::milliseconds(100)) redraw();
}

void ProgressBoard::finish(const std::string& id, const std::string& status) {
  std::lock_guard lock(mu_);
  if (!tty_) {
    std::fprintf(out_, "%s: %s\n", id.c_str(), status.c_str());
    std::fflush(out_);
    return;
  }
  Row* r = find(id);
  if (r == nullptr) {
    rows_.push_back({id, status});
  } else {
    r->text = status;
  }
  redraw();
}

void ProgressBoard::line(const std::string& text) {
  std::lock_guard lock(mu_);
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
  if (tty_) {  // the rows above are final now
    rows_.clear();
    drawn_ = 0;
  }
}

}  // namespace hull::cli
