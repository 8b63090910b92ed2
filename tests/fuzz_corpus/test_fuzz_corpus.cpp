// Replays every stored fuzz input (seeds and every input that once found a bug) through its target: each must be
// read or refused with a basis::Error, never crash or throw anything else. Runs without a fuzzer.
#include "fuzz_targets.h"

#include "atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace {

namespace fs = std::filesystem;

class FuzzCorpus : public testing::TestWithParam<basis::fuzz::NamedTarget> {};

TEST_P(FuzzCorpus, EveryInputIsReadOrRefused)
{
    const fs::path dir = fs::path(BASIS_FUZZ_CORPUS) / GetParam().name;
    ASSERT_TRUE(fs::is_directory(dir)) << dir << " holds no corpus";
    int inputs = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string bytes = basis::readFile(e.path());
        SCOPED_TRACE(e.path().string());
        EXPECT_NO_THROW(GetParam().run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
        ++inputs;
    }
    EXPECT_GT(inputs, 0);
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus, testing::ValuesIn(basis::fuzz::targets()),
                         [](const testing::TestParamInfo<basis::fuzz::NamedTarget>& info) { return std::string(info.param.name); });

} // namespace
