// The `--change` instructions of `hull import`: a small Dockerfile-instruction subset applied to
// an image's container config. Kept in one file so a full Dockerfile parser can replace it.
#pragma once

#include <string_view>

#include "base/result.h"
#include "oci/image.h"

namespace hull::engine {

// Applies one instruction ("CMD [\"sh\"]", "ENV A=1 B=2", "EXPOSE 80/tcp", ...) to `config`.
// Supported: CMD ENTRYPOINT ENV EXPOSE LABEL USER VOLUME WORKDIR STOPSIGNAL ONBUILD SHELL
// HEALTHCHECK. Unknown instructions and malformed arguments are kInvalidArgument.
Result<void> applyChange(std::string_view instruction, oci::ContainerConfig& config);

// Parses a Go duration as HEALTHCHECK options take it ("30s", "1m30s", "500ms") into nanoseconds.
Result<int64_t> parseGoDuration(std::string_view text);

}  // namespace hull::engine
