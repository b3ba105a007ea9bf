// The progress of `hull build` on stderr, in BuildKit's words. Plain mode writes one line per
// event, as `docker build --progress=plain` does:
//
//   #3 [builder 2/5] RUN make
//   #3 0.112 cc -o app main.c
//   #3 DONE 0.4s
//   #4 [builder 3/5] COPY . .
//   #4 CACHED
//
// The tty mode keeps the running steps at the bottom of the terminal, each with its last output
// line, redrawn in place; finished steps scroll up as one line each. Our own small renderer for
// the reason progress.h gives: events come from several stage threads, and the rows are
// BuildKit's. Every method takes the lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "build/build.h"

namespace hull::cli {

// "[builder 2/5] RUN make": the step's stage (its name, "stage-N" for an unnamed stage after
// the first, nothing for the first unnamed one), its place in the build and its text.
std::string stepTitle(const build::StepEvent& e);
// "0.4s", "12.3s", as BuildKit prints the duration of a step.
std::string stepSeconds(double seconds);

class BuildProgress : public build::Progress {
 public:
  enum class Mode { kPlain, kTty, kQuiet };
  BuildProgress(std::FILE* out, Mode mode);

  void stepStarted(const build::StepEvent& e) override;
  void stepCached(const build::StepEvent& e) override;
  void stepOutput(const build::StepEvent& e, std::string_view text) override;
  void stepDone(const build::StepEvent& e, double seconds) override;
  void warning(const std::string& text) override;

  // A step number of its own for what follows the steps (BuildKit's "#9 exporting to image").
  int reserveNumber();
  // A line below the steps ("#9 naming to ..."), after the live rows are cleared.
  void line(const std::string& text);
  // Clears the live rows (tty mode) before the command prints its last words.
  void finish();
  // The warnings the build reported as it went, in order, each once.
  std::vector<std::string> warnings() const;

 private:
  struct Step {
    int number = 0;  // BuildKit's "#N"
    std::string title;
    std::string partial;  // output not yet ended by a newline
    std::string last;     // tty: the last full output line
    std::chrono::steady_clock::time_point started;
    bool live = false;  // tty: a row at the bottom
  };
  Step& step(const build::StepEvent& e);
  void emit(const std::string& text);  // one finished line above the live rows
  void outputLine(Step& s, std::string_view line);
  void redraw(bool force);
  void clearRows();

  std::FILE* out_;
  Mode mode_;
  mutable std::mutex mu_;
  std::map<int, Step> steps_;  // by StepEvent::step
  int next_number_ = 1;
  std::vector<int> live_;  // tty: the running steps, in start order
  std::size_t drawn_ = 0;  // tty: rows on screen below which the cursor sits
  std::chrono::steady_clock::time_point last_draw_{};
  std::vector<std::string> warnings_;
  // tty: redraws the live rows a few times a second, so a silent step's clock keeps moving.
  // Last member: stopped and joined before the rest goes.
  std::condition_variable_any tick_;
  std::jthread ticker_;
};

}  // namespace hull::cli
