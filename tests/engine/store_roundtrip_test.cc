// The image use cases against a real store in a temporary directory.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/fs.h"
#include "engine/images.h"
#include "engine/import.h"
#include "engine/load.h"
#include "engine/save.h"
#include "layer/layer.h"
#include "test_util.h"

namespace hull::engine {
namespace {

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::freshTempDir("hull-engine-test");
    testing::makeRootfsTar(dir_, "etc-motd", 100000);
    if (HasFatalFailure()) return;
    store_ = openStore("store");
  }
  void TearDown() override { (void)removeAll(dir_); }

  store::Store openStore(const std::string& name) {
    auto s = store::Store::open(dir_ / name);
    EXPECT_TRUE(s) << s.error().message;
    return std::move(*s);
  }

  ImportResult importRootfs(const std::string& name, std::vector<std::string> changes = {}) {
    auto fd = openFile(dir_ / "rootfs.tar", O_RDONLY);
    EXPECT_TRUE(fd);
    auto in = layer::fdReader(fd->get());
    ImportOptions options;
    options.name = name;
    options.changes = std::move(changes);
    auto r = importImage(*store_, *in, options);
    EXPECT_TRUE(r) << r.error().message;
    return *r;
  }

  fs::path save(const std::vector<std::string>& refs, ArchiveFormat format) {
    fs::path out = dir_ / (format == ArchiveFormat::kDocker ? "docker.tar" : "oci.tar");
    auto r = saveImagesToFile(*store_, {format, refs}, out);
    EXPECT_TRUE(r) << r.error().message;
    return out;
  }

  Result<LoadResult> load(const store::Store& into, const fs::path& archive) {
    auto fd = openFile(archive, O_RDONLY);
    EXPECT_TRUE(fd);
    return loadArchive(into, fd->get());
  }

  std::size_t blobCount(const store::Store& s) {
    std::size_t n = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(s.root() / "blobs/sha256")) ++n;
    return n;
  }

  fs::path dir_;
  std::optional<store::Store> store_;
};

TEST_F(ImageStoreTest, ImportWritesAOneLayerImageWithTheChanges) {
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  ImportResult a = importRootfs("demo:1", {R"(CMD ["/bin/hello"])", "ENV A=1"});
  ImportResult b = importRootfs("demo:2", {R"(CMD ["/bin/hello"])", "ENV A=1"});
  ::unsetenv("SOURCE_DATE_EPOCH");
  EXPECT_EQ(a.id, b.id) << "same input and SOURCE_DATE_EPOCH give the same image";
  auto view = resolveImage(*store_, "demo:1");
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_EQ(view->config.created, "2023-11-14T22:13:20Z");
  EXPECT_EQ(view->config.config.cmd, std::vector<std::string>{"/bin/hello"});
  ASSERT_EQ(view->manifest.layers.size(), 1u);
  EXPECT_EQ(view->manifest.layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
  auto history = imageHistory(*store_, "demo:1");
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].created_by, "hull import");
  EXPECT_EQ((*history)[0].id, a.id.str());
}

TEST_F(ImageStoreTest, BadChangeWritesNothing) {
  auto fd = openFile(dir_ / "rootfs.tar", O_RDONLY);
  auto in = layer::fdReader(fd->get());
  ImportOptions options;
  options.name = "demo";
  options.changes = {"RUN rm -rf /"};
  EXPECT_FALSE(importImage(*store_, *in, options));
  EXPECT_EQ(blobCount(*store_), 0u);
}

TEST_F(ImageStoreTest, DockerArchiveRoundTripKeepsImageIdAndDiffIds) {
  ImportResult imported = importRootfs("demo:1");
  auto original = resolveImage(*store_, "demo:1");
  ASSERT_TRUE(original);
  fs::path archive = save({"demo:1"}, ArchiveFormat::kDocker);
  store::Store other = openStore("other");
  auto loaded = load(other, archive);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->names, std::vector<std::string>{"demo:1"});
  auto copy = resolveImage(other, "demo:1");
  ASSERT_TRUE(copy) << copy.error().message;
  EXPECT_EQ(copy->id, imported.id);
  EXPECT_EQ(copy->config.diff_ids, original->config.diff_ids);
  EXPECT_EQ(copy->manifest.layers[0].digest, original->config.diff_ids[0]) << "kept uncompressed";
  auto problems = other.fsck();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty());
}

TEST_F(ImageStoreTest, OciArchiveRoundTripKeepsEveryDigest) {
  importRootfs("demo:1");
  auto original = resolveImage(*store_, "demo:1");
  fs::path archive = save({"demo:1"}, ArchiveFormat::kOci);
  store::Store other = openStore("other");
  ASSERT_TRUE(load(other, archive));
  auto copy = resolveImage(other, "demo:1");
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->record.manifest.digest, original->record.manifest.digest);
  EXPECT_EQ(copy->manifest.layers[0].digest, original->manifest.layers[0].digest);
}

// Writes a docker-archive whose one layer does not match the config's diff ID.
void writeTamperedArchive(const fs::path& from, const fs::path& to) {
  archive* in = archive_read_new();
  archive_read_support_format_tar(in);
  ASSERT_EQ(archive_read_open_filename(in, from.c_str(), 1 << 16), ARCHIVE_OK);
  archive* out = archive_write_new();
  archive_write_set_format_pax_restricted(out);
  ASSERT_EQ(archive_write_open_filename(out, to.c_str()), ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(in, &e) == ARCHIVE_OK) {
    std::string data(static_cast<std::size_t>(archive_entry_size(e)), '\0');
    archive_read_data(in, data.data(), data.size());
    if (std::string(archive_entry_pathname(e)).ends_with("layer.tar")) data[600] ^= 1;
    archive_write_header(out, e);
    archive_write_data(out, data.data(), data.size());
  }
  archive_write_free(out);
  archive_read_free(in);
}

TEST_F(ImageStoreTest, TamperedArchiveTagsNothingAndLeavesNoBlobs) {
  importRootfs("demo:1");
  fs::path archive = save({"demo:1"}, ArchiveFormat::kDocker);
  writeTamperedArchive(archive, dir_ / "tampered.tar");
  store::Store other = openStore("other");
  auto loaded = load(other, dir_ / "tampered.tar");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::kCorrupt);
  // The flipped byte lands in a tar header, so the entry check refuses the layer before its
  // diff ID is compared.
  const std::string& msg = loaded.error().message;
  EXPECT_TRUE(msg.find("corrupt tar header") != std::string::npos ||
              msg.find("the image config says") != std::string::npos)
      << msg;
  EXPECT_TRUE(other.images()->empty());
  EXPECT_EQ(blobCount(other), 0u);
}

TEST_F(ImageStoreTest, RmiUntagsThenCollects) {
  ImportResult imported = importRootfs("demo:1");
  ASSERT_TRUE(tagImage(*store_, "demo:1", "other/demo:2"));
  auto refused = removeImage(*store_, imported.id.shortId(), /*force=*/false);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("must be forced"), std::string::npos);
  auto first = removeImage(*store_, "demo:1", false);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->untagged, std::vector<std::string>{"demo:1"});
  EXPECT_TRUE(first->deleted.empty());
  auto second = removeImage(*store_, "other/demo:2", false);
  ASSERT_TRUE(second);
  ASSERT_FALSE(second->deleted.empty());
  EXPECT_EQ(second->deleted.front(), imported.id);
  EXPECT_EQ(blobCount(*store_), 0u);
}

TEST_F(ImageStoreTest, InspectShowsDockerFields) {
  ImportResult imported = importRootfs("demo:1", {"WORKDIR /app"});
  auto j = inspectImage(*store_, "demo:1");
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)["Id"], imported.id.str());
  EXPECT_EQ((*j)["RepoTags"][0], "demo:1");
  EXPECT_EQ((*j)["Config"]["WorkingDir"], "/app");
  EXPECT_EQ((*j)["RootFS"]["Layers"].size(), 1u);
  EXPECT_EQ((*j)["ManifestDigest"], imported.manifest.digest.str());
}

// --- untagged images (Docker's dangling images) ---

// One file of a tar archive, or "" when it is not there.
std::string tarMember(const fs::path& path, const std::string& name) {
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  std::string out;
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) == ARCHIVE_OK) {
    archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
      if (std::string(archive_entry_pathname(e)) != name) continue;
      out.resize(static_cast<std::size_t>(archive_entry_size(e)));
      archive_read_data(a, out.data(), out.size());
      break;
    }
  }
  archive_read_free(a);
  return out;
}

std::vector<std::string> untaggedDigests(const store::Store& s) {
  std::vector<std::string> out;
  auto all = s.allImages();
  EXPECT_TRUE(all);
  for (const auto& r : *all) {
    if (r.name.empty()) out.push_back(r.manifest.digest.str());
  }
  return out;
}

TEST_F(ImageStoreTest, ImportWithoutANameKeepsTheImageUntagged) {
  ImportResult imported = importRootfs("", {"ENV U=1"});
  EXPECT_TRUE(imported.name.empty());
  EXPECT_TRUE(store_->images()->empty());
  EXPECT_EQ(untaggedDigests(*store_), std::vector<std::string>{imported.manifest.digest.str()});
  auto views = listImages(*store_);
  ASSERT_TRUE(views) << views.error().message;
  ASSERT_EQ(views->size(), 1u);
  EXPECT_EQ((*views)[0].id, imported.id);
  EXPECT_EQ(splitName((*views)[0].record.name),
            (std::pair<std::string, std::string>{"<none>", "<none>"}));
  auto j = inspectImage(*store_, imported.id.shortId());
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)["Id"], imported.id.str());
  EXPECT_TRUE((*j)["RepoTags"].is_array());
  EXPECT_TRUE((*j)["RepoTags"].empty());
  auto history = imageHistory(*store_, imported.id.str());
  ASSERT_TRUE(history) << history.error().message;
  EXPECT_EQ(history->front().id, imported.id.str());
  // The next prune keeps it.
  ASSERT_TRUE(store_->prune());
  EXPECT_TRUE(resolveImage(*store_, imported.id.hex()));
}

TEST_F(ImageStoreTest, ReimportLeavesTheOldImageDangling) {
  ImportResult first = importRootfs("demo:1", {"ENV V=1"});
  ImportResult second = importRootfs("demo:1", {"ENV V=2"});
  ASSERT_NE(first.id, second.id);
  auto all = listImages(*store_);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
  auto dangling = listImages(*store_, "", true);
  ASSERT_TRUE(dangling);
  ASSERT_EQ(dangling->size(), 1u);
  EXPECT_EQ((*dangling)[0].id, first.id);
  EXPECT_TRUE((*dangling)[0].record.name.empty());
  auto named = listImages(*store_, "", false);
  ASSERT_TRUE(named);
  ASSERT_EQ(named->size(), 1u);
  EXPECT_EQ((*named)[0].record.name, "demo:1");
  auto repo = listImages(*store_, "demo");
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->size(), 1u) << "a repository filter leaves untagged images out";
  // Naming it again makes it no longer dangling.
  ASSERT_TRUE(tagImage(*store_, first.id.shortId(), "demo:old"));
  EXPECT_TRUE(untaggedDigests(*store_).empty());
}

TEST_F(ImageStoreTest, RmiByIdRemovesAnUntaggedImage) {
  ImportResult kept = importRootfs("kept:1", {"ENV K=1"});
  ImportResult loose = importRootfs("", {"ENV L=1"});
  auto removed = removeImage(*store_, loose.id.shortId(), false);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_TRUE(removed->untagged.empty());
  ASSERT_FALSE(removed->deleted.empty());
  EXPECT_EQ(removed->deleted.front(), loose.id);
  EXPECT_TRUE(untaggedDigests(*store_).empty());
  EXPECT_FALSE(store_->hasBlob(loose.manifest.digest));
  EXPECT_TRUE(store_->hasBlob(kept.manifest.digest));
  EXPECT_TRUE(store_->hasBlob(kept.id));
  EXPECT_EQ(removeImage(*store_, loose.id.shortId(), false).error().code, Errc::kNotFound);
}

TEST_F(ImageStoreTest, RmiOfANameKeepsOtherUntaggedImages) {
  ImportResult loose = importRootfs("", {"ENV L=1"});
  importRootfs("gone:1", {"ENV G=1"});
  ASSERT_TRUE(removeImage(*store_, "gone:1", false));
  EXPECT_EQ(untaggedDigests(*store_), std::vector<std::string>{loose.manifest.digest.str()});
  EXPECT_TRUE(store_->hasBlob(loose.id));
}

TEST_F(ImageStoreTest, UntaggedImageRoundTripsThroughADockerArchive) {
  ImportResult loose = importRootfs("", {"ENV L=1"});
  fs::path archive = save({loose.id.shortId()}, ArchiveFormat::kDocker);
  auto manifest = parseJson(tarMember(archive, "manifest.json"), "manifest.json");
  ASSERT_TRUE(manifest) << manifest.error().message;
  ASSERT_EQ(manifest->size(), 1u);
  EXPECT_TRUE((*manifest)[0]["RepoTags"].is_null()) << manifest->dump();
  store::Store other = openStore("other");
  auto loaded = load(other, archive);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_TRUE(loaded->names.empty());
  EXPECT_EQ(loaded->untagged, std::vector<Digest>{loose.id});
  EXPECT_TRUE(other.images()->empty());
  EXPECT_EQ(untaggedDigests(other).size(), 1u);
  EXPECT_TRUE(resolveImage(other, loose.id.str()));
  auto problems = other.fsck();
  ASSERT_TRUE(problems);
  EXPECT_TRUE(problems->empty());
  ASSERT_TRUE(load(other, archive)) << "loading it again adds no second entry";
  EXPECT_EQ(untaggedDigests(other).size(), 1u);
}

TEST_F(ImageStoreTest, UntaggedImageRoundTripsThroughAnOciArchiveKeepingItsDigest) {
  ImportResult loose = importRootfs("", {"ENV L=1"});
  fs::path archive = save({loose.id.str()}, ArchiveFormat::kOci);
  auto index = parseJson(tarMember(archive, "index.json"), "index.json");
  ASSERT_TRUE(index);
  ASSERT_EQ((*index)["manifests"].size(), 1u);
  EXPECT_FALSE((*index)["manifests"][0].contains("annotations")) << index->dump();
  store::Store other = openStore("other");
  auto loaded = load(other, archive);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->untagged, std::vector<Digest>{loose.id});
  EXPECT_EQ(untaggedDigests(other), std::vector<std::string>{loose.manifest.digest.str()});
}

TEST_F(ImageStoreTest, FailedNameChangesLeaveNoUntaggedImageBehind) {
  ImportResult old_image = importRootfs("demo:1", {"ENV O=1"});
  ImportResult new_image = importRootfs("", {"ENV N=1"});
  ImportResult other = importRootfs("other:1", {"ENV X=1"});
  ASSERT_TRUE(store_->dropUntagged(new_image.manifest.digest));
  ASSERT_TRUE(store_->untag("other:1"));  // its blobs stay: nothing prunes here
  // The last change fails (the name is not there), so the two before it are undone.
  std::vector<NameChange> changes = {
      {"demo:1", new_image.manifest}, {"", other.manifest}, {"nosuch:1", std::nullopt}};
  auto r = applyNameChanges(*store_, changes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  auto all = store_->allImages();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].name, "demo:1");
  EXPECT_EQ((*all)[0].manifest.digest, old_image.manifest.digest);
}

}  // namespace
}  // namespace hull::engine
