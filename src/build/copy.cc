// COPY and ADD (copy.h).
#include "build/copy.h"

namespace hull::build {

std::unique_ptr<StatCache> StatCache::open(const fs::path& file) {
  auto c = std::make_unique<StatCache>();
  c->file_ = file;
  return c;
}
Result<Digest> StatCache::fileDigest(const fs::path& path, const struct stat& st) {
  return fail(Errc::kUnsupported, "not available yet");
}
Result<void> StatCache::save() { return {}; }

struct CopyOp::State {
  Digest digest;
};
CopyOp::CopyOp(std::unique_ptr<State> state) : state_(std::move(state)) {}
CopyOp::CopyOp(CopyOp&&) noexcept = default;
CopyOp& CopyOp::operator=(CopyOp&&) noexcept = default;
CopyOp::~CopyOp() = default;
Result<CopyOp> CopyOp::prepare(const SourceTree& tree, const CopySpec& spec, const CopyEnv& env) {
  return fail(Errc::kUnsupported, "COPY is not available yet");
}
const Digest& CopyOp::sourcesDigest() const { return state_->digest; }
Result<void> CopyOp::apply(const fs::path& root) const {
  return fail(Errc::kUnsupported, "COPY is not available yet");
}

}  // namespace hull::build
