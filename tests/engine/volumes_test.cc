// VolumeStore: named and anonymous volumes on disk, in-use refusal, prune.
#include <gtest/gtest.h>

#include <thread>

#include "engine/volumes.h"
#include "test_util.h"

namespace hull::engine {
namespace {

class Volumes : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::freshTempDir("volumes-test");
    auto s = VolumeStore::open(root_);
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
  }
  void TearDown() override { ASSERT_TRUE(removeAll(root_)); }

  // A container whose config.json mounts `source` (what `users` reads).
  void addContainer(const std::string& id, const std::string& source) {
    Json config = {{"ociVersion", "1.0.2"},
                   {"mounts", Json::array({{{"destination", "/data"},
                                            {"type", "bind"},
                                            {"source", source},
                                            {"options", {"rbind"}}}})}};
    ASSERT_TRUE(mkdirAll(root_ / "containers" / id));
    ASSERT_TRUE(writeFileAtomic(root_ / "containers" / id / "config.json", config.dump()));
  }

  fs::path root_;
  std::optional<VolumeStore> store_;
};

TEST(VolumeNames, DockersRule) {
  EXPECT_TRUE(isValidVolumeName("data"));
  EXPECT_TRUE(isValidVolumeName("a1"));
  EXPECT_TRUE(isValidVolumeName("my_vol.v-2"));
  EXPECT_FALSE(isValidVolumeName("a"));
  EXPECT_FALSE(isValidVolumeName("_data"));
  EXPECT_FALSE(isValidVolumeName(".hidden"));
  EXPECT_FALSE(isValidVolumeName("a/b"));
  EXPECT_FALSE(isValidVolumeName("../x"));
  EXPECT_FALSE(isValidVolumeName(""));
  EXPECT_FALSE(isValidVolumeName("sp ace"));
  std::string name = randomVolumeName();
  EXPECT_EQ(name.size(), 64u);
  EXPECT_NE(name, randomVolumeName());
}

TEST_F(Volumes, CreateInspectListRemove) {
  auto v = store_->create("models", {{"team", "ml"}});
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->name, "models");
  EXPECT_EQ(v->driver, "local");
  EXPECT_EQ(v->mountpoint, (root_ / "volumes/models/_data").string());
  EXPECT_TRUE(fs::is_directory(v->mountpoint));
  EXPECT_FALSE(v->created.empty());

  auto again = store_->create("models");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->created, v->created);
  EXPECT_EQ(again->labels.at("team"), "ml");  // the existing volume, untouched

  auto inspected = store_->inspect("models");
  ASSERT_TRUE(inspected);
  OrderedJson j = toJson(*inspected);
  EXPECT_EQ(j["Name"], "models");
  EXPECT_EQ(j["Driver"], "local");
  EXPECT_EQ(j["Scope"], "local");
  EXPECT_EQ(j["Labels"]["team"], "ml");

  ASSERT_TRUE(store_->create("alpha"));
  auto all = store_->list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "alpha");

  ASSERT_TRUE(store_->remove("models"));
  EXPECT_FALSE(fs::exists(root_ / "volumes/models"));
  auto gone = store_->inspect("models");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Errc::kNotFound);
  EXPECT_EQ(gone.error().message, "no such volume: models");
  EXPECT_FALSE(store_->remove("models"));
  EXPECT_TRUE(store_->remove("models", /*force=*/true));
}

TEST_F(Volumes, BadNamesAreRefused) {
  auto v = store_->create("../escape");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::kInvalidArgument);
  EXPECT_FALSE(store_->inspect("a/b"));
  EXPECT_FALSE(fs::exists(root_ / "escape"));
}

TEST_F(Volumes, AnonymousVolume) {
  auto v = store_->create("");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->name.size(), 64u);
  EXPECT_TRUE(v->labels.contains(std::string(kAnonymousVolumeLabel)));
}

TEST_F(Volumes, InUseIsRefusedEvenWithForce) {
  auto v = store_->create("busy");
  ASSERT_TRUE(v);
  std::string id(64, 'c');
  addContainer(id, v->mountpoint);
  auto users = store_->users("busy");
  ASSERT_TRUE(users);
  EXPECT_EQ(*users, std::vector<std::string>{id});
  auto r = store_->remove("busy", true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kBusy);
  EXPECT_NE(r.error().message.find("volume is in use"), std::string::npos);
  EXPECT_NE(r.error().message.find("cccccccccccc"), std::string::npos);
  EXPECT_TRUE(fs::exists(v->mountpoint));
  ASSERT_TRUE(removeAll(root_ / "containers" / id));
  EXPECT_TRUE(store_->remove("busy"));
}

TEST_F(Volumes, PruneTakesUnusedAnonymousByDefault) {
  auto anon = store_->create("");
  auto used = store_->create("");
  auto named = store_->create("keepme");
  ASSERT_TRUE(anon && used && named);
  addContainer(std::string(64, 'd'), used->mountpoint);
  auto removed = store_->prune();
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, std::vector<std::string>{anon->name});
  auto all = store_->prune(true);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, std::vector<std::string>{"keepme"});
  EXPECT_TRUE(store_->inspect(used->name));
}

TEST_F(Volumes, ConcurrentCreatesShareOneVolume) {
  std::vector<std::thread> threads;
  std::vector<std::string> created(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto v = store_->create("shared");
      if (v) created[static_cast<std::size_t>(i)] = v->created;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& c : created) EXPECT_EQ(c, created[0]);
  auto all = store_->list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(root_ / "tmp", ec));
}

}  // namespace
}  // namespace hull::engine
