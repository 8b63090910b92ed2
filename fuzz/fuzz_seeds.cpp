#include "fuzz_seeds.h"

#include "atomic_file.h"
#include "calibration.h"
#include "calibration_cache.h"
#include "decoder_model.h"
#include "safetensors.h"
#include "synth.h"

#include <cstdint>
#include <string>

#include <unistd.h>

namespace basis::fuzz {

namespace fs = std::filesystem;

namespace {

void writeSeed(const fs::path& file, const std::string& bytes)
{
    fs::create_directories(file.parent_path());
    writeFileAtomically(file, bytes);
}

void safetensorsSeeds(const fs::path& dir)
{
    fs::create_directories(dir);
    const float a[4] = {1, 2, 3, 4};
    const uint16_t b[3] = {0x3f80, 0x4000, 0xc040};   // bfloat16 1, 2, -3
    writeSafetensors(dir / "two_tensors.safetensors",
                     {{"a", DType::F32, {2, 2}, a, sizeof a}, {"b", DType::BF16, {3}, b, sizeof b}},
                     {{"format", "pt"}});

    // One tensor of every dtype the reader knows, including an empty one and a scalar.
    const double f64 = -2.5;
    const uint16_t f16[2] = {0x3c00, 0xfc00};   // 1, -inf
    const int64_t i64 = -7;
    const int32_t i32[2] = {5, -5};
    const int16_t i16 = 300;
    const int8_t i8[3] = {-1, 0, 1};
    const bool flag = true;
    writeSafetensors(dir / "every_dtype.safetensors", {{"f64", DType::F64, {1}, &f64, sizeof f64},
                                                       {"f16", DType::F16, {2}, f16, sizeof f16},
                                                       {"i64", DType::I64, {1}, &i64, sizeof i64},
                                                       {"i32", DType::I32, {2}, i32, sizeof i32},
                                                       {"i16", DType::I16, {1}, &i16, sizeof i16},
                                                       {"i8", DType::I8, {3}, i8, sizeof i8},
                                                       {"u8", DType::U8, {0}, i8, 0},
                                                       {"b", DType::BOOL, {}, &flag, sizeof flag}});
}

// The target splits its input at the first NUL: vocab.json before it, merges.txt after.
void vocabMergesSeed(const fs::path& dir)
{
    const std::string vocab = R"({"O": 0, "n": 1, "c": 2, "e": 3, "\u0120": 4, "On": 5, "ce": 6})";
    const std::string merges = "#version: 0.2\nO n\nc e\n";
    writeSeed(dir / "tiny.bin", vocab + std::string(1, '\0') + merges);
}

// calibration.json, a NUL, statistics.safetensors: a real cache of the micro LLaMA over a few tokens.
void calibrationCacheSeed(const fs::path& dir)
{
    const fs::path work = fs::temp_directory_path() / ("basis-fuzz-seeds-" + std::to_string(::getpid()));
    fs::remove_all(work);
    writeSyntheticCheckpoint(synthPreset("llama-micro"), work / "model", 1);
    auto model = DecoderModel::load(work / "model");
    const std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6, 7, 8};
    const CalibrationStats stats = collectStatistics(*model, {ids}, 1);
    CalibrationIdentity id;
    id.model = modelFingerprint(work / "model");
    id.text = tokensFingerprint(ids);
    id.options.context = static_cast<int64_t>(ids.size());
    id.bos = "auto";
    saveCalibration(work / "cache", stats, id);
    writeSeed(dir / "llama_micro.bin", readFile(work / "cache" / "calibration.json") + std::string(1, '\0') +
                                           readFile(work / "cache" / "statistics.safetensors"));
    fs::remove_all(work);
}

} // namespace

int writeGeneratedSeeds(const fs::path& root)
{
    safetensorsSeeds(root / "safetensors");
    vocabMergesSeed(root / "vocab_merges");
    calibrationCacheSeed(root / "calibration_cache");
    return 4;
}

} // namespace basis::fuzz
