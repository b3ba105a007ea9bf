// The store lock: flock(2) on $ROOT/lock. flock belongs to an open file description, so two
// handles opened by one process on the same file conflict like two processes would; a table of
// the locks this process holds turns a nested request into a dup(2) of the held descriptor
// instead of a self-deadlock.
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <vector>

#include "store/internal.h"
#include "store/store.h"

namespace hull::store {
namespace {

struct Held {
  LockMode mode = LockMode::kShared;
  std::vector<int> fds;  // every live Lock on this file in this process
};

struct Table {
  std::mutex mu;
  std::map<std::string, Held> held;
};

Table& table();

// A forked child does not hold its parent's locks as far as its own requests go: it must wait
// for them like any other process.
void atforkPrepare() { table().mu.lock(); }
void atforkParent() { table().mu.unlock(); }
void atforkChild() {
  table().held.clear();
  table().mu.unlock();
}

Table& table() {
  static Table* t = [] {
    auto* created = new Table;  // never destroyed: Locks may outlive static destruction
    ::pthread_atfork(atforkPrepare, atforkParent, atforkChild);
    return created;
  }();
  return *t;
}

void forget(const std::string& key, int fd) {
  Table& t = table();
  std::lock_guard guard(t.mu);
  auto it = t.held.find(key);
  if (it == t.held.end()) return;
  auto& fds = it->second.fds;
  fds.erase(std::remove(fds.begin(), fds.end(), fd), fds.end());
  if (fds.empty()) t.held.erase(it);
}

Result<void> flockRetry(int fd, int op, const fs::path& path) {
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) {
      return fail(Errc::kBusy, "store lock " + path.string() + " is held by another process");
    }
    return failErrno("flock " + path.string());
  }
  return {};
}

}  // namespace

Lock::Lock(Lock&& other) noexcept
    : fd_(std::move(other.fd_)), key_(std::exchange(other.key_, std::string())) {}

Lock& Lock::operator=(Lock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::move(other.fd_);
    key_ = std::exchange(other.key_, std::string());
  }
  return *this;
}

Lock::~Lock() { release(); }

void Lock::release() {
  // Leave the table before closing: once closed, another thread may be granted the lock and
  // must not find this descriptor there.
  if (!key_.empty() && fd_.valid()) forget(key_, fd_.get());
  key_.clear();
  fd_.reset();
}

Result<Lock> Store::lock(LockMode mode) const { return acquire(mode, /*block=*/true); }
Result<Lock> Store::tryLock(LockMode mode) const { return acquire(mode, /*block=*/false); }

Result<Lock> Store::acquire(LockMode mode, bool block) const {
  fs::path path = root_ / "lock";
  std::string key = path.string();
  Table& t = table();
  {
    std::lock_guard guard(t.mu);
    if (auto it = t.held.find(key); it != t.held.end()) {
      Held& h = it->second;
      if (mode == LockMode::kExclusive && h.mode == LockMode::kShared) {
        return fail(Errc::kInternal,
                    "store lock: the exclusive lock was asked for while this process holds the "
                    "shared one");
      }
      int fd = ::fcntl(h.fds.front(), F_DUPFD_CLOEXEC, 0);
      if (fd < 0) return failErrno("dup store lock");
      h.fds.push_back(fd);
      return Lock(UniqueFd(fd), key);
    }
  }
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(path, O_RDWR | O_CREAT, 0600));
  int op = (mode == LockMode::kShared ? LOCK_SH : LOCK_EX) | (block ? 0 : LOCK_NB);
  HULL_TRY(flockRetry(fd.get(), op, path));
  std::lock_guard guard(t.mu);
  Held& h = t.held[key];
  // Another thread of this process may have been granted the same shared lock meanwhile; an
  // exclusive grant means nobody else holds it.
  if (h.fds.empty() || mode == LockMode::kExclusive) h.mode = mode;
  h.fds.push_back(fd.get());
  return Lock(std::move(fd), key);
}

namespace internal {

Result<UniqueFd> lockIndexFile(const Store& store) {
  fs::path path = store.root() / "index.lock";
  HULL_ASSIGN_OR_RETURN(UniqueFd fd, openFile(path, O_RDWR | O_CREAT, 0600));
  HULL_TRY(flockRetry(fd.get(), LOCK_EX, path));
  return fd;
}

}  // namespace internal
}  // namespace hull::store
