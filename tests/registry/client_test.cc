#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "registry/client.h"
#include "registry/sources.h"
#include "store/store.h"

namespace hull::registry {
namespace {

TEST(InsecureRegistries, FromTheEnvironment) {
  ::setenv("HULL_INSECURE_REGISTRIES", " reg.lan:5000, 10.0.0.5:5000 ,index.docker.io", 1);
  EXPECT_TRUE(isInsecureRegistry("reg.lan:5000"));
  EXPECT_TRUE(isInsecureRegistry("10.0.0.5:5000"));
  EXPECT_TRUE(isInsecureRegistry("docker.io"));
  EXPECT_FALSE(isInsecureRegistry("reg.lan"));
  EXPECT_FALSE(isInsecureRegistry("reg.lan:5001"));
  ::unsetenv("HULL_INSECURE_REGISTRIES");
  EXPECT_FALSE(isInsecureRegistry("reg.lan:5000"));
}

TEST(Client, UnreachableRegistryIsOneClearError) {
  // Port 1 on loopback: nothing listens there, and nothing leaves the machine.
  Client client("127.0.0.1:1", ClientOptions{});
  auto r = client.getManifest("x", "latest");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kIo);
  EXPECT_NE(r.error().message.find("127.0.0.1:1"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
}

TEST(BlobSources, NewestFirstAndBounded) {
  fs::path root = fs::temp_directory_path() / ("hull-sources-" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto store = store::Store::open(root);
  ASSERT_TRUE(store) << store.error().message;
  Digest blob = Digest::ofBytes("layer");
  EXPECT_TRUE(blobSources(*store, blob).empty());
  EXPECT_EQ(mountSource(*store, blob, "localhost:5000", "a"), "");
  ASSERT_TRUE(addBlobSource(*store, blob, "localhost:5000/a"));
  ASSERT_TRUE(addBlobSource(*store, blob, "other:1/b"));
  ASSERT_TRUE(addBlobSource(*store, blob, "localhost:5000/a"));  // moves to the front
  EXPECT_EQ(blobSources(*store, blob), (std::vector<std::string>{"localhost:5000/a", "other:1/b"}));
  EXPECT_EQ(mountSource(*store, blob, "localhost:5000", "c"), "a");
  EXPECT_EQ(mountSource(*store, blob, "localhost:5000", "a"), "");  // not from itself
  EXPECT_EQ(mountSource(*store, blob, "other:1", "a"), "b");
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(addBlobSource(*store, blob, "r:1/n" + std::to_string(i)));
  }
  auto all = blobSources(*store, blob);
  EXPECT_EQ(all.size(), kMaxSources);
  EXPECT_EQ(all.front(), "r:1/n19");
  fs::remove_all(root);
}

}  // namespace
}  // namespace hull::registry
