#include "fuzz_targets.h"

#include "atomic_file.h"
#include "calibration_cache.h"
#include "compress.h"
#include "compressed_io.h"
#include "decoder_model.h"
#include "error.h"
#include "model_config.h"
#include "architecture.h"
#include "output_folder.h"
#include "run_config.h"
#include "safetensors.h"
#include "synth.h"
#include "tokenizer.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace basis::fuzz {

namespace fs = std::filesystem;

namespace {

// One scratch folder per process (parallel fuzzers never share one), with the fixed files the targets need.
const fs::path& scratch()
{
    static const fs::path dir = [] {
        fs::path d = fs::temp_directory_path() / ("basis-fuzz-" + std::to_string(::getpid()));
        fs::remove_all(d);
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

void put(const fs::path& file, const uint8_t* data, size_t size)
{
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

// Errors are the expected answer to bad input; anything else escapes to the fuzzer.
template <typename Fn>
void refusalsAreFine(Fn fn)
{
    try {
        fn();
    } catch (const Error& e) {
        static const bool verbose = std::getenv("BASIS_FUZZ_VERBOSE") != nullptr;   // for triaging a corpus
        if (verbose)
            std::fprintf(stderr, "refused: %s\n", e.what());
    }
}

// A folder with a micro LLaMA checkpoint and, beside it, its compressed form (plain SVD needs no calibration).
const fs::path& microModel()
{
    static const fs::path dir = [] {
        const fs::path d = scratch() / "micro";
        writeSyntheticCheckpoint(synthPreset("llama-micro"), d, 1);
        return d;
    }();
    return dir;
}

const fs::path& compressedMicro()
{
    static const fs::path dir = [] {
        const fs::path d = scratch() / "micro-compressed";
        auto model = DecoderModel::load(microModel());
        CompressionSettings s;
        s.method = "svd";
        s.ratio = 30;
        const CompressionPlan plan = planCompression(model->config(), model->table(), s);
        const CompressionResult result = compressModel(*model, nullptr, plan);
        saveCompressedModel(*model, result, d);
        return d;
    }();
    return dir;
}

void safetensorsTarget(const uint8_t* data, size_t size)
{
    const fs::path file = scratch() / "x.safetensors";
    put(file, data, size);
    refusalsAreFine([&] {
        auto f = SafetensorsFile::open(file);
        for (const auto& name : f->names())
            (void)f->tensor(name).numel();
    });
}

void shardIndexTarget(const uint8_t* data, size_t size)
{
    const fs::path dir = scratch() / "sharded";
    static const bool shards = [&] {
        fs::create_directories(dir);
        const float a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
        writeSafetensors(dir / "model-00001-of-00002.safetensors", {{"a", DType::F32, {2, 2}, a, sizeof a}});
        writeSafetensors(dir / "model-00002-of-00002.safetensors", {{"b", DType::F32, {2}, b, sizeof b}});
        return true;
    }();
    (void)shards;
    put(dir / "model.safetensors.index.json", data, size);
    refusalsAreFine([&] {
        const Checkpoint c = Checkpoint::open(dir);
        for (const auto& name : c.names())
            (void)c.tensor(name).bytes;
    });
}

void configJsonTarget(const uint8_t* data, size_t size)
{
    const fs::path file = scratch() / "config.json";
    put(file, data, size);
    refusalsAreFine([&] { (void)archTable(parseModelConfig(file)); });
}

void yamlTarget(const uint8_t* data, size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    refusalsAreFine([&] { (void)writeRunConfig(parseRunConfig(text, "fuzz.yaml").config); });
}

void useTokenizer(const fs::path& dir)
{
    refusalsAreFine([&] {
        auto tok = loadTokenizer(dir);
        const auto ids = tok->encode("Once upon a time, a café had 42 \xF0\x9F\x98\x80 cats.\n\nThe end");
        (void)tok->decode(ids);
    });
}

void tokenizerJsonTarget(const uint8_t* data, size_t size)
{
    const fs::path dir = scratch() / "tokjson";
    fs::create_directories(dir);
    put(dir / "tokenizer.json", data, size);
    useTokenizer(dir);
}

// vocab.json, a NUL byte, merges.txt.
void vocabMergesTarget(const uint8_t* data, size_t size)
{
    const fs::path dir = scratch() / "vocabmerges";
    fs::create_directories(dir);
    size_t cut = 0;
    while (cut < size && data[cut] != 0)
        ++cut;
    put(dir / "vocab.json", data, cut);
    put(dir / "merges.txt", data + std::min(cut + 1, size), size - std::min(cut + 1, size));
    useTokenizer(dir);
}

void sentencepieceTarget(const uint8_t* data, size_t size)
{
    const fs::path dir = scratch() / "spm";
    fs::create_directories(dir);
    put(dir / "tokenizer.model", data, size);
    useTokenizer(dir);
}

// The bytes of calibration.json, a NUL byte, statistics.safetensors: written as a cache with a valid manifest, so
// the reader behind the manifest check is what gets fuzzed.
void calibrationCacheTarget(const uint8_t* data, size_t size)
{
    const fs::path dir = scratch() / "calib";
    size_t cut = 0;
    while (cut < size && data[cut] != 0)
        ++cut;
    refusalsAreFine([&] {
        writeOutputFolder(dir, OutputKind::CalibrationCache, {}, [&](const fs::path& tmp) {
            put(tmp / "calibration.json", data, cut);
            put(tmp / "statistics.safetensors", data + std::min(cut + 1, size), size - std::min(cut + 1, size));
        });
        (void)loadCalibration(dir, CalibrationIdentity{});
    });
}

// A compressed folder's config.json (its compression section names the bases and ranks) over fixed weights.
void compressedModelTarget(const uint8_t* data, size_t size)
{
    const fs::path dir = scratch() / "compressed";
    static const bool copied = [&] {
        fs::create_directories(dir);
        for (const auto& e : fs::directory_iterator(compressedMicro()))
            fs::copy_file(e.path(), dir / e.path().filename(), fs::copy_options::overwrite_existing);
        return true;
    }();
    (void)copied;
    put(dir / "config.json", data, size);
    refusalsAreFine([&] { (void)DecoderModel::load(dir)->layerCount(); });
}

} // namespace

const std::vector<NamedTarget>& targets()
{
    static const std::vector<NamedTarget> all = {
        {"safetensors", safetensorsTarget},         {"shard_index", shardIndexTarget},
        {"config_json", configJsonTarget},          {"yaml_config", yamlTarget},
        {"tokenizer_json", tokenizerJsonTarget},    {"vocab_merges", vocabMergesTarget},
        {"sentencepiece", sentencepieceTarget},     {"calibration_cache", calibrationCacheTarget},
        {"compressed_model", compressedModelTarget},
    };
    return all;
}

Target targetNamed(const std::string& name)
{
    for (const NamedTarget& t : targets())
        if (name == t.name)
            return t.run;
    return nullptr;
}

} // namespace basis::fuzz
