// Replays every stored fuzz input (seeds and every input that once found a bug) through its target: each must be
// read or refused with a basis::Error, never crash or throw anything else. Runs without a fuzzer. The text seeds
// live in fuzz/corpus/<target>/; the binary ones are written here by the engine's writers (fuzz_seeds.h).
#include "fuzz_seeds.h"
#include "fuzz_targets.h"

#include "atomic_file.h"
#include "safetensors.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace {

namespace fs = std::filesystem;

const fs::path& generatedSeeds()
{
    static const fs::path dir = [] {
        const fs::path d = basis::test::scratchDir("generated-seeds");
        basis::fuzz::writeGeneratedSeeds(d);
        return d;
    }();
    return dir;
}

class FuzzCorpus : public testing::TestWithParam<basis::fuzz::NamedTarget> {};

TEST_P(FuzzCorpus, EveryInputIsReadOrRefused)
{
    int inputs = 0;
    for (const fs::path& root : {fs::path(BASIS_FUZZ_CORPUS), generatedSeeds()}) {
        const fs::path dir = root / GetParam().name;
        if (!fs::is_directory(dir))
            continue;
        for (const auto& e : fs::directory_iterator(dir)) {
            const std::string bytes = basis::readFile(e.path());
            SCOPED_TRACE(e.path().string());
            EXPECT_NO_THROW(GetParam().run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
            ++inputs;
        }
    }
    EXPECT_GT(inputs, 0) << GetParam().name << " has no seed";
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus, testing::ValuesIn(basis::fuzz::targets()),
                         [](const testing::TestParamInfo<basis::fuzz::NamedTarget>& info) { return std::string(info.param.name); });

// The generated seeds are well-formed inputs (so the fuzzer starts from files the readers accept), not noise.
TEST(GeneratedSeeds, AreWellFormed)
{
    const fs::path root = generatedSeeds();
    EXPECT_EQ(basis::SafetensorsFile::open(root / "safetensors" / "every_dtype.safetensors")->names().size(), 8u);
    EXPECT_EQ(basis::SafetensorsFile::open(root / "safetensors" / "two_tensors.safetensors")->names().size(), 2u);
    const std::string vocab = basis::readFile(root / "vocab_merges" / "tiny.bin");
    EXPECT_NE(vocab.find('\0'), std::string::npos);
    const std::string cache = basis::readFile(root / "calibration_cache" / "llama_micro.bin");
    const size_t cut = cache.find('\0');
    ASSERT_NE(cut, std::string::npos);
    EXPECT_NE(cache.substr(0, cut).find("basis-studio-calibration"), std::string::npos);
    EXPECT_NE(cache.find("layers.0.attn_in", cut), std::string::npos);
}

} // namespace
