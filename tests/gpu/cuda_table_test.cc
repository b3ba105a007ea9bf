#include "gpu/cuda_table.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace hull::gpu {
namespace {

using testing::ver;

TEST(GpuCudaTable, CoversNineToThirteen) {
  auto table = cudaDriverTable();
  ASSERT_FALSE(table.empty());
  EXPECT_EQ(table.front().cuda, ver("9.0"));
  const char* wanted[] = {"9.0",  "9.1",  "9.2",  "10.0", "10.1", "10.2", "11.0", "11.1", "11.2",
                          "11.3", "11.4", "11.5", "11.6", "11.7", "11.8", "12.0", "12.1", "12.2",
                          "12.3", "12.4", "12.5", "12.6", "12.8", "12.9", "13.0"};
  for (const char* cuda : wanted) {
    bool found = false;
    for (const CudaDriverRow& row : table) found = found || row.cuda == ver(cuda);
    EXPECT_TRUE(found) << "no row for CUDA " << cuda;
  }
}

TEST(GpuCudaTable, IsMonotonicAndSourced) {
  auto table = cudaDriverTable();
  for (size_t i = 0; i < table.size(); ++i) {
    const CudaDriverRow& row = table[i];
    EXPECT_EQ(row.cuda.parts.size(), 2u) << row.cuda.str();
    EXPECT_NE(row.source.find("CUDA Toolkit and Corresponding Driver Versions"),
              std::string_view::npos);
    EXPECT_NE(row.source.find("CUDA " + row.cuda.str()), std::string_view::npos) << row.source;
    EXPECT_NE(row.source.find(row.min_driver.str()), std::string_view::npos) << row.source;
    if (i == 0) continue;
    EXPECT_LT(table[i - 1].cuda, row.cuda) << "CUDA ascends at " << row.cuda.str();
    EXPECT_LE(table[i - 1].min_driver, row.min_driver) << "driver ascends at " << row.cuda.str();
  }
}

TEST(GpuCudaTable, MinimumDriverForUsesMajorMinor) {
  struct Case {
    const char* cuda;
    const char* driver;
  };
  const Case cases[] = {
      {"12.4", "550.54.14"}, {"12.4.1", "550.54.14"}, {"12.4.99.1", "550.54.14"},
      {"12", "525.60.13"},   {"12.0", "525.60.13"},   {"12.2", "535.54.03"},
      {"12.6", "560.28.03"}, {"12.7", "570.26"},      {"12.8", "570.26"},
      {"13.0", "580.65.06"}, {"11.8", "520.61.05"},   {"11.0", "450.51.05"},
      {"10.1", "418.39"},    {"9.0", "384.81"},       {"8.0", "384.81"},
  };
  for (const Case& c : cases) {
    auto driver = minimumDriverFor(ver(c.cuda));
    ASSERT_TRUE(driver) << c.cuda;
    EXPECT_EQ(driver->str(), c.driver) << c.cuda;
  }
  EXPECT_FALSE(minimumDriverFor(ver("14.0")));
  EXPECT_FALSE(minimumDriverFor(ver("13.99")));
}

TEST(GpuCudaTable, CudaForDriverIsTheNewestItRuns) {
  struct Case {
    const char* driver;
    const char* cuda;
  };
  const Case cases[] = {
      {"550.54.14", "12.4"}, {"550.54.13", "12.3"}, {"550.127.05", "12.4"}, {"535.104.05", "12.2"},
      {"535.54.03", "12.2"}, {"530.30.02", "12.1"}, {"525.60.13", "12.0"},  {"525.53", "11.8"},
      {"520.61.05", "11.8"}, {"470.82.01", "11.4"}, {"460.32.03", "11.2"},  {"560.35.03", "12.6"},
      {"570.26", "12.8"},    {"575.57.08", "12.9"}, {"580.95.05", "13.0"},  {"384.81", "9.0"},
      {"418.39", "10.1"},
  };
  for (const Case& c : cases) {
    auto cuda = cudaForDriver(ver(c.driver));
    ASSERT_TRUE(cuda) << c.driver;
    EXPECT_EQ(cuda->str(), c.cuda) << c.driver;
  }
  EXPECT_FALSE(cudaForDriver(ver("384.80")));
  EXPECT_FALSE(cudaForDriver(ver("0")));
}

TEST(GpuCudaTable, RoundTripsEveryRow) {
  for (const CudaDriverRow& row : cudaDriverTable()) {
    EXPECT_EQ(minimumDriverFor(row.cuda), row.min_driver) << row.cuda.str();
    EXPECT_EQ(cudaForDriver(row.min_driver), row.cuda) << row.min_driver.str();
  }
}

}  // namespace
}  // namespace hull::gpu
