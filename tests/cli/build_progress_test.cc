// The plain progress lines of `hull build` (cli/build_progress.h), BuildKit's format.
#include "cli/build_progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <string>

namespace hull::cli {
namespace {

build::StepEvent event(int step, std::string text, int stage = 0, std::string name = "") {
  build::StepEvent e;
  e.stage = stage;
  e.stage_name = std::move(name);
  e.step = step;
  e.steps = 4;
  e.text = std::move(text);
  return e;
}

// Captures what a BuildProgress writes.
class Captured {
 public:
  Captured() { file_ = ::open_memstream(&data_, &size_); }
  ~Captured() {
    if (file_ != nullptr) std::fclose(file_);
    std::free(data_);
  }
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_ = nullptr;
};

TEST(StepTitle, StageNames) {
  EXPECT_EQ(stepTitle(event(2, "RUN make")), "[2/4] RUN make");
  EXPECT_EQ(stepTitle(event(2, "RUN make", 0, "builder")), "[builder 2/4] RUN make");
  EXPECT_EQ(stepTitle(event(3, "COPY . .", 1)), "[stage-1 3/4] COPY . .");
}

TEST(StepSeconds, OneDecimal) {
  EXPECT_EQ(stepSeconds(0.4321), "0.4s");
  EXPECT_EQ(stepSeconds(12.25), "12.2s");
  EXPECT_EQ(stepSeconds(-1), "0.0s");
}

TEST(PlainProgress, BuildKitLines) {
  Captured out;
  BuildProgress p(out.file(), BuildProgress::Mode::kPlain);
  p.stepCached(event(1, "COPY a /a"));
  p.stepStarted(event(2, "RUN make"));
  p.stepOutput(event(2, "RUN make"), "one\ntw");
  p.stepOutput(event(2, "RUN make"), "o\r\n");
  p.stepOutput(event(2, "RUN make"), "tail");
  p.stepDone(event(2, "RUN make"), 0.42);
  std::string text = out.text();
  std::regex want(
      "#1 \\[1/4\\] COPY a /a\n"
      "#1 CACHED\n"
      "#2 \\[2/4\\] RUN make\n"
      "#2 [0-9]+\\.[0-9]{3} one\n"
      "#2 [0-9]+\\.[0-9]{3} two\n"
      "#2 [0-9]+\\.[0-9]{3} tail\n"
      "#2 DONE 0.4s\n");
  EXPECT_TRUE(std::regex_match(text, want)) << text;
}

TEST(PlainProgress, NumbersFollowFirstSight) {
  Captured out;
  BuildProgress p(out.file(), BuildProgress::Mode::kPlain);
  p.stepStarted(event(3, "RUN b", 1, "b"));
  p.stepStarted(event(1, "RUN a", 0, "a"));
  p.stepDone(event(3, "RUN b", 1, "b"), 1);
  EXPECT_EQ(p.reserveNumber(), 3);
  EXPECT_EQ(out.text(), "#1 [b 3/4] RUN b\n#2 [a 1/4] RUN a\n#1 DONE 1.0s\n");
}

TEST(QuietProgress, PrintsNothingButKeepsWarnings) {
  Captured out;
  BuildProgress p(out.file(), BuildProgress::Mode::kQuiet);
  p.stepStarted(event(1, "RUN a"));
  p.stepOutput(event(1, "RUN a"), "hello\n");
  p.stepDone(event(1, "RUN a"), 1);
  p.warning("Dockerfile:1: X");
  p.warning("Dockerfile:1: X");
  p.finish();
  EXPECT_EQ(out.text(), "");
  EXPECT_EQ(p.warnings(), std::vector<std::string>{"Dockerfile:1: X"});
}

TEST(TtyProgress, FinishedStepsBecomeOneLine) {
  Captured out;
  BuildProgress p(out.file(), BuildProgress::Mode::kTty);
  p.stepStarted(event(1, "RUN a"));
  p.stepOutput(event(1, "RUN a"), "hello\n");
  p.stepDone(event(1, "RUN a"), 0.5);
  p.finish();
  std::string text = out.text();
  EXPECT_NE(text.find("#1 [1/4] RUN a DONE 0.5s\n"), std::string::npos) << text;
  // The live row was drawn, then cleared (cursor up, clear to the end of the screen).
  EXPECT_NE(text.find("\x1b[J"), std::string::npos);
}

}  // namespace
}  // namespace hull::cli
