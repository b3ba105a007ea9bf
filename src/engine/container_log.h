// Docker's json-file log driver format: one JSON object per line,
//   {"log":"line\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"}
// so tools that read Docker's logs read hull's. A line longer than kMaxLogLine is cut into
// several entries (the last one ends in "\n"), as Docker cuts at 16 KiB.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fs.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace hull::engine {

inline constexpr std::size_t kMaxLogLine = 16 * 1024;

struct LogEntry {
  std::string log;     // the bytes, with the newline when the line had one
  std::string stream;  // stdout, stderr
  std::string time;    // RFC 3339 with nanoseconds
  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

// One line of the log file, without the trailing newline.
std::string encodeLogEntry(const LogEntry& e);
Result<LogEntry> decodeLogEntry(std::string_view line);

// Splits a stream's bytes into entries at newlines; a partial line waits for more bytes (or
// flush()). Pure: the clock is a parameter.
class LogLineSplitter {
 public:
  explicit LogLineSplitter(std::string stream) : stream_(std::move(stream)) {}
  // Appends bytes; returns the complete entries they finish.
  std::vector<LogEntry> feed(std::string_view bytes, const std::string& now);
  // The pending partial line, if any (at end of stream).
  std::optional<LogEntry> flush(const std::string& now);

 private:
  std::string stream_;
  std::string pending_;
};

// Appends entries to a container's log file (O_APPEND, one write per entry, so a concurrent
// reader sees whole lines).
class LogWriter {
 public:
  static Result<LogWriter> open(const fs::path& path);
  // Feeds bytes read from the container's `stream`.
  Result<void> write(std::string_view stream, std::string_view bytes);
  // Writes the pending partial lines.
  Result<void> flush();

 private:
  explicit LogWriter(UniqueFd fd) : fd_(std::move(fd)) {}
  Result<void> append(const std::vector<LogEntry>& entries);
  UniqueFd fd_;
  std::map<std::string, LogLineSplitter, std::less<>> splitters_;
};

struct LogReadOptions {
  std::optional<std::size_t> tail;  // the last N entries only
  bool timestamps = false;          // prefix each line with its time
  bool follow = false;
  // Asked while following at end of file: false stops (the container has exited).
  std::function<bool()> still_running;
};

// Prints entries to out_fd (stdout entries) and err_fd (stderr entries).
Result<void> readLogs(const fs::path& path, const LogReadOptions& options, int out_fd, int err_fd);

// The last `n` entries' start offsets of a log file's text (for --tail).
std::size_t tailOffset(std::string_view text, std::size_t n);

}  // namespace hull::engine
