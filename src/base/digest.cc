#include "base/digest.h"

// Nettle's SHA-256 (with the CPU's SHA extensions where it has them, as OpenSSL's): a library of
// ~0.3 MB whose loading costs every hull start ~0.05 ms, where libcrypto's cost 0.4-0.8 ms and
// 1.5 MB of each supervisor's memory.
#include <nettle/sha2.h>

#include <cstdint>

namespace hull {

Result<Digest> Digest::parse(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  if (!text.starts_with(kPrefix)) {
    return fail(Errc::kInvalidArgument, "unsupported digest \"" + std::string(text.substr(0, 80)) +
                                            "\": want sha256:<64 hex digits>");
  }
  std::string_view hex = text.substr(kPrefix.size());
  bool ok = hex.size() == 64;
  for (char c : hex) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) {
    return fail(Errc::kInvalidArgument, "invalid digest \"" + std::string(text.substr(0, 80)) +
                                            "\": want 64 lowercase hex digits");
  }
  return fromSha256Hex(std::string(hex));
}

Digest Digest::fromSha256Hex(std::string hex) {
  Digest d;
  d.hex_ = std::move(hex);
  return d;
}

Digest Digest::ofBytes(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

struct Sha256::State {
  sha256_ctx ctx;
};

Sha256::Sha256() : state_(std::make_unique<State>()) { sha256_init(&state_->ctx); }
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t size) {
  if (size > 0) sha256_update(&state_->ctx, size, static_cast<const uint8_t*>(data));
}

Digest Sha256::finish() {
  constexpr unsigned len = SHA256_DIGEST_SIZE;
  uint8_t md[len];
  sha256_digest(&state_->ctx, len, md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 0xf]);
  }
  return Digest::fromSha256Hex(std::move(hex));
}

}  // namespace hull
