// Content digests ("sha256:<64 hex>") and an incremental sha256 over OpenSSL's libcrypto.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace hull {

class Digest {
 public:
  Digest() = default;
  // Accepts only "sha256:" followed by 64 lowercase hex digits.
  static Result<Digest> parse(std::string_view text);
  static Digest fromSha256Hex(std::string hex);  // caller guarantees 64 lowercase hex
  static Digest ofBytes(std::string_view data);

  const std::string& hex() const { return hex_; }
  std::string algorithm() const { return "sha256"; }
  std::string str() const { return hex_.empty() ? std::string() : "sha256:" + hex_; }
  std::string shortId() const { return hex_.substr(0, 12); }
  bool empty() const { return hex_.empty(); }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  std::string hex_;
};

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  Digest finish();  // may be called once

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace hull
