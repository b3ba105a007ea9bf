#include "base/digest.h"

#include <openssl/evp.h>

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
  EVP_MD_CTX* ctx = nullptr;
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) {
    std::abort();  // broken invariant: libcrypto cannot give us sha256
  }
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t size) {
  if (size > 0) EVP_DigestUpdate(state_->ctx, data, size);
}

Digest Sha256::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, md, &len);
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
