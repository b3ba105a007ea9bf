// Human-facing formatting shared by the image commands: Docker's size and age strings, RFC 3339
// timestamps, and a minimal Go-template renderer for `--format '{{.Field}}'`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace hull::engine {

// Decimal units with 3 significant digits, as `docker images` prints them: "0B", "999B",
// "1.23kB", "45.6MB", "1.2GB".
std::string humanSize(double bytes);

// Docker's duration words: "Less than a second", "5 seconds", "About a minute", "3 minutes",
// "About an hour", "5 hours", "3 days", "2 weeks", "4 months", "2 years".
std::string humanDuration(int64_t seconds);

// "N minutes ago" for a timestamp `created` relative to `now` (unix seconds); "N/A" when the
// timestamp is empty or cannot be parsed.
std::string createdSince(std::string_view created, int64_t now);

// Parses an RFC 3339 timestamp ("2024-05-01T10:00:00.123Z", "2024-05-01T12:00:00+02:00") into
// unix seconds.
std::optional<int64_t> parseTimestamp(std::string_view text);

// The time an image is created with: SOURCE_DATE_EPOCH when set to a number, else now.
Result<int64_t> buildTime();

// Renders a Go text/template subset against a JSON value: literal text and actions
// {{.A.B}}, {{json .A}}, {{.}} and {{index .A "key"}}. Strings print bare, other values as Go
// prints them ([a b] for lists, map[k:v] for objects); missing fields print "<no value>".
Result<std::string> renderTemplate(std::string_view tmpl, const Json& data);

}  // namespace hull::engine

namespace hull::engine {

// Aligns rows (the first is the header) into columns the way Docker's tabwriter does: each column
// but the last is padded to its widest cell plus 3 spaces, at least 10 wide.
std::string renderTable(const std::vector<std::vector<std::string>>& rows);

// Docker's ellipsis: keeps at most `width` characters (UTF-8 aware), ending in "…" when cut.
std::string ellipsis(std::string_view text, std::size_t width);

}  // namespace hull::engine
