// Per-layer transfer lines for pull and push. On a terminal each layer has a row that is redrawn
// in place with a progress bar; elsewhere only finished rows are printed, one plain line each
// ("<id>: Pull complete"), so logs and tests read stable text. Our own small renderer: the
// progress libraries in Debian (indicators, for one) draw one bar at a time or own the terminal
// from a thread of their own, while transfers here report from several threads and the rows are
// Docker's, not a library's.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace hull::cli {

class ProgressBoard {
 public:
  ProgressBoard(std::FILE* out, bool tty) : out_(out), tty_(tty) {}

  // Adds a row (in the order rows are shown); a row that is there already is left alone.
  void add(const std::string& id, const std::string& status);
  // A transfer's progress: redraws the row's bar on a terminal (at most ~10 times a second).
  void progress(const std::string& id, const std::string& status, int64_t done, int64_t total);
  // A row's last word: printed as "<id>: <status>" (a plain line, or the row redrawn).
  void finish(const std::string& id, const std::string& status);
  // Prints a line below the rows (never inside them).
  void line(const std::string& text);

  // "1.2MB", "532kB", "12B": Docker's decimal units.
  static std::string humanSize(int64_t bytes);
  // "[=====>        ]  1.2MB/3.4MB"
  static std::string bar(int64_t done, int64_t total, int width = 40);

 private:
  struct Row {
    std::string id;
    std::string text;
  };
  Row* find(const std::string& id);
  void redraw();

  std::FILE* out_;
  bool tty_;
  std::mutex mu_;
  std::vector<Row> rows_;
  std::size_t drawn_ = 0;  // rows on screen below which the cursor sits
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace hull::cli
