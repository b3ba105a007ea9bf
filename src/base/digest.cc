#include "base/digest.h"

// OpenSSL 3 marks its one-algorithm SHA-256 calls deprecated in favour of EVP. EVP's first use
// loads the provider and every algorithm's name (~1 ms, at every hull start that hashes
// anything); these calls run the same code without that.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

#include <cstdlib>

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
  SHA256_CTX ctx;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  if (SHA256_Init(&state_->ctx) != 1) std::abort();  // broken invariant: no sha256 in libcrypto
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t size) {
  if (size > 0) SHA256_Update(&state_->ctx, data, size);
}

Digest Sha256::finish() {
  unsigned char md[SHA256_DIGEST_LENGTH];
  constexpr unsigned len = SHA256_DIGEST_LENGTH;
  SHA256_Final(md, &state_->ctx);
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
