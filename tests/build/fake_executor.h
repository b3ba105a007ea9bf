// A build::Executor for tests: a mount is a temp directory where the lower layers are unpacked,
// RUN understands a few words ("touch PATH", "ln -s TARGET NAME", "echo TEXT", "false",
// "wait-cancel"), and a commit
// is the whole tree as an uncompressed layer when anything changed since the mount.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <thread>

#include "base/fs.h"
#include "build/build.h"
#include "layer/layer.h"
#include "oci/media_types.h"
#include "store/store.h"

namespace hull::build::testing {

class FakeMounted : public Mounted {
 public:
  explicit FakeMounted(fs::path root) : root_(std::move(root)) {}
  ~FakeMounted() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const fs::path& root() const override { return root_; }
  std::map<std::string, std::string> before;

 private:
  fs::path root_;
};

// path → type and content (or link target) of every entry under root.
inline std::map<std::string, std::string> listTree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root).string();
    if (e.is_symlink()) {
      out[rel] = "l" + fs::read_symlink(e.path()).string();
    } else if (e.is_directory()) {
      out[rel] = "d";
    } else {
      out[rel] = "f" + readFile(e.path()).value_or("?");
    }
  }
  return out;
}

class FakeExecutor : public Executor {
 public:
  explicit FakeExecutor(const store::Store& store) : store_(store) {}

  Result<std::unique_ptr<Mounted>> mount(const std::vector<Layer>& layers) override {
    std::string tmpl = (fs::temp_directory_path() / "hull-fake-root-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return failErrno("mkdtemp");
    auto m = std::make_unique<FakeMounted>(tmpl);
    for (const auto& l : layers) {
      HULL_ASSIGN_OR_RETURN(auto blob, store_.openBlob(l.blob.digest));
      auto in = layer::funcReader([&](void* d, std::size_t n) { return blob.read(d, n); });
      layer::ApplyOptions ao;
      ao.preserve_owners = ::geteuid() == 0;
      HULL_TRY(layer::applyLayer(*in, m->root(), ao));
    }
    m->before = listTree(m->root());
    std::lock_guard lock(mu_);
    ++mounts;
    return std::unique_ptr<Mounted>(std::move(m));
  }

  Result<int> run(Mounted& root, const RunRequest& r) override {
    {
      std::lock_guard lock(mu_);
      requests.push_back(r);
    }
    const std::string& cmd = r.args.back();
    if (cmd == "false") {
      r.output("one\ntwo\n");
      return 1;
    }
    if (cmd == "wait-cancel") {
      while (!r.cancel->load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return fail(Errc::kCancelled, "killed");
    }
    if (cmd.rfind("echo ", 0) == 0) r.output(cmd.substr(5) + "\n");
    if (cmd.rfind("ln -s ", 0) == 0) {  // ln -s TARGET NAME
      auto sp = cmd.find(' ', 6);
      fs::create_symlink(cmd.substr(6, sp - 6), root.root() / cmd.substr(sp + 1));
    }
    if (cmd.rfind("touch ", 0) == 0) {
      HULL_TRY(writeFileAtomic(root.root() / cmd.substr(6), cmd.substr(6)));
    }
    return 0;
  }

  Result<std::optional<Layer>> commit(std::unique_ptr<Mounted> root,
                                      const CommitOptions&) override {
    auto& m = static_cast<FakeMounted&>(*root);
    if (listTree(m.root()) == m.before) return std::optional<Layer>();
    std::string tar;
    auto out = layer::funcWriter([&](const void* d, std::size_t n) -> Result<void> {
      tar.append(static_cast<const char*>(d), n);
      return {};
    });
    HULL_TRY(layer::writeTree(m.root(), *out));
    HULL_TRY(out->finish());
    HULL_ASSIGN_OR_RETURN(auto blob, store_.putBlob(oci::kMediaTypeLayer, tar));
    std::lock_guard lock(mu_);
    ++commits;
    return std::optional<Layer>(Layer{blob, Digest::ofBytes(tar)});
  }

  std::vector<std::string> commands() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& r : requests) out.push_back(r.args.back());
    return out;
  }

  std::vector<RunRequest> requests;
  int mounts = 0, commits = 0;

 private:
  const store::Store& store_;
  std::mutex mu_;
};

}  // namespace hull::build::testing
