// The decompressing tee of diff_id.h.
#include "registry/diff_id.h"

#include <cstring>
#include <vector>

namespace hull::registry {
namespace {

constexpr std::size_t kMaxQueued = 8 << 20;

}  // namespace

DiffIdTee::DiffIdTee(layer::Compression compression) : compression_(compression) {
  if (compression_ != layer::Compression::kNone) thread_ = std::thread([this] { run(); });
}

DiffIdTee::~DiffIdTee() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<void> DiffIdTee::write(const char* data, std::size_t size) {
  if (compression_ == layer::Compression::kNone) {
    plain_hash_.update(data, size);
    plain_size_ += static_cast<int64_t>(size);
    return {};
  }
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return done_ || queued_ < kMaxQueued; });
  if (error_) return fail(*error_);
  if (done_) return {};  // the stream ended early: trailing bytes change no diff ID
  chunks_.emplace_back(data, size);
  queued_ += size;
  cv_.notify_all();
  return {};
}

Result<std::size_t> DiffIdTee::pop(void* data, std::size_t size) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return closed_ || !chunks_.empty(); });
  if (chunks_.empty()) return std::size_t{0};
  std::string& front = chunks_.front();
  std::size_t n = std::min(size, front.size() - front_pos_);
  std::memcpy(data, front.data() + front_pos_, n);
  front_pos_ += n;
  queued_ -= n;
  if (front_pos_ == front.size()) {
    chunks_.pop_front();
    front_pos_ = 0;
  }
  cv_.notify_all();
  return n;
}

void DiffIdTee::run() {
  auto source = layer::funcReader([this](void* d, std::size_t n) { return pop(d, n); });
  auto finishWith = [this](std::optional<Error> e, DiffId r) {
    std::lock_guard lock(mu_);
    error_ = std::move(e);
    result_ = std::move(r);
    done_ = true;
    chunks_.clear();
    queued_ = 0;
    cv_.notify_all();
  };
  auto reader = layer::decompressingReader(*source);
  if (!reader) return finishWith(reader.error(), {});
  Sha256 hash;
  int64_t total = 0;
  std::vector<char> buf(256 << 10);
  while (true) {
    auto n = (*reader)->read(buf.data(), buf.size());
    if (!n) return finishWith(n.error().wrap("decompressing layer"), {});
    if (*n == 0) break;
    hash.update(buf.data(), *n);
    total += static_cast<int64_t>(*n);
  }
  finishWith(std::nullopt, DiffId{.diff_id = hash.finish(), .size = total});
}

Result<DiffId> DiffIdTee::finish() {
  if (compression_ == layer::Compression::kNone) {
    return DiffId{.diff_id = plain_hash_.finish(), .size = plain_size_};
  }
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (error_) return fail(*error_);
  return result_;
}

}  // namespace hull::registry
