// `hull bootstrap`: a base image made from Debian's packages with mmdebstrap, so that hull works
// on a machine that reaches a Debian mirror but no container registry.
//
// The steps: check every option (nothing runs before that), run mmdebstrap with its tarball on a
// pipe, stream that tar into the store as one gzip layer (as `hull import` does), and only when
// mmdebstrap exited cleanly commit the layer, config and manifest and tag the name. Under
// SOURCE_DATE_EPOCH mmdebstrap writes the same tar for the same package versions, and the config
// takes the same time, so two bootstraps give the same manifest digest.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/import.h"
#include "oci/image.h"
#include "store/store.h"

namespace hull::engine {

inline constexpr std::string_view kDefaultMirror = "http://deb.debian.org/debian";

struct BootstrapOptions {
  std::string name;                          // NAME[:TAG], required
  std::string suite = "bookworm";            // a Debian suite or codename
  std::string variant = "apt";               // apt, minbase or essential
  std::vector<std::string> include;          // extra packages
  std::string mirror;                        // empty: defaultMirror() of this machine
  std::vector<std::string> components;       // empty: main
  std::string architecture;                  // a dpkg architecture; empty: the host's
  std::optional<int64_t> source_date_epoch;  // else SOURCE_DATE_EPOCH, else now
  bool verbose = false;                      // mmdebstrap's own output to stderr
  std::string program = "mmdebstrap";        // looked up on PATH
};

// One line for each phase of the work ("running apt-get update...", "importing ...").
using BootstrapProgress = std::function<void(std::string_view line)>;

// One source entry of the apt configuration, as far as choosing a mirror needs it.
struct AptSource {
  std::string uri;
  std::vector<std::string> suites;
};

// Parses the text of a sources.list file (one-line format) or of a .sources file (deb822), as
// apt reads them: only "deb" entries that are enabled.
std::vector<AptSource> parseAptSources(std::string_view text, bool deb822);

// The Debian mirror among `sources`: an entry that lists `suite`, else one whose path names the
// Debian archive; never a security or third-party one. kDefaultMirror when none fits.
std::string chooseMirror(const std::vector<AptSource>& sources, std::string_view suite);

// chooseMirror over this machine's /etc/apt/sources.list and sources.list.d/*.{list,sources}.
std::string defaultMirror(std::string_view suite, const fs::path& apt_dir = "/etc/apt");

// The OCI architecture (and variant) of a dpkg architecture: amd64 → amd64, armhf → arm/v7,
// i386 → 386, ppc64el → ppc64le, ...
Result<oci::Platform> platformOfDpkgArch(std::string_view arch);

// Checks the options and fills in what was left out (mirror, epoch) from the environment.
Result<BootstrapOptions> resolveBootstrapOptions(BootstrapOptions options);

// mmdebstrap's arguments (without the program) for resolved options; the tar goes to stdout.
std::vector<std::string> mmdebstrapArgs(const BootstrapOptions& options);

// The history line: "hull bootstrap --suite bookworm --variant apt --include python3".
std::string bootstrapCreatedBy(const BootstrapOptions& options);

// The image config for resolved options and the layer's diff ID (exposed for tests).
Result<oci::ImageConfig> bootstrapConfig(const BootstrapOptions& options, const Digest& diff_id);

// Runs the whole bootstrap. On any failure the store's images are unchanged.
Result<ImportResult> bootstrapImage(const store::Store& store, const BootstrapOptions& options,
                                    const BootstrapProgress& progress);

}  // namespace hull::engine
