// config.json parsing, parameter accounting, synthetic checkpoints, and clear errors for broken model folders.
#include "test_support.h"

#include "architecture.h"
#include "atomic_file.h"
#include "decoder_model.h"
#include "error.h"
#include "model_config.h"
#include "param_count.h"
#include "safetensors.h"
#include "synth.h"

#include <ATen/ATen.h>
#include <algorithm>
#include <functional>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using basis::test::expectError;

namespace fs = std::filesystem;
using basis::Error;

fs::path writeConfig(const std::string& name, const std::string& content)
{
    fs::path dir = basis::test::scratchDir(name);
    basis::writeFileAtomically(dir / "config.json", content);
    return dir / "config.json";
}

TEST(ModelConfig, ParsesEveryGoldenArchitecture)
{
    BASIS_REQUIRE_SHARED("golden/llama");
    for (std::string arch : {"gpt2", "opt", "llama", "mistral", "qwen2", "llama3", "phi3", "gemma"}) {
        auto c = basis::parseModelConfig(basis::test::sharedPath("golden/" + arch + "/config.json"));
        EXPECT_EQ(c.arch, arch == "llama3" ? "llama" : arch);
        EXPECT_EQ(c.layers, 3);
        EXPECT_EQ(c.hidden, 64);
    }
    auto m = basis::parseModelConfig(basis::test::sharedPath("golden/mistral/config.json"));
    EXPECT_EQ(m.kvHeads, 2);
    EXPECT_EQ(m.slidingWindow, 64);
}

// What the decoder does not implement is refused, naming the file and the key or value.
TEST(ModelConfig, UnsupportedRopeScalingAndWindowsAreRefused)
{
    BASIS_REQUIRE_SHARED("golden/llama3");
    auto golden = [](const std::string& arch) {
        return nlohmann::json::parse(basis::readFile(basis::test::sharedPath("golden/" + arch + "/config.json")));
    };
    for (std::string type : {"linear", "dynamic", "yarn", "longrope"}) {
        auto j = golden("llama3");
        j["rope_scaling"]["rope_type"] = type;
        auto path = writeConfig("cfg-rope-" + type, j.dump());
        expectError([&] { basis::parseModelConfig(path); }, {path.string(), "rope_type '" + type + "'", "not supported"});
    }
    auto j = golden("llama3");
    j["rope_scaling"].erase("original_max_position_embeddings");
    auto path = writeConfig("cfg-rope-missing", j.dump());
    expectError([&] { basis::parseModelConfig(path); }, {path.string(), "rope_scaling.original_max_position_embeddings"});
    auto q = golden("qwen2");
    q["use_sliding_window"] = true;
    path = writeConfig("cfg-qwen2-window", q.dump());
    expectError([&] { basis::parseModelConfig(path); }, {path.string(), "use_sliding_window"});
    auto m = golden("mistral");
    m["rope_scaling"] = golden("llama3").at("rope_scaling");
    path = writeConfig("cfg-mistral-rope", m.dump());
    expectError([&] { basis::parseModelConfig(path); }, {path.string(), "rope_scaling", "mistral"});
    // The flags each architecture sets, read by the decoder.
    const auto gemma = basis::parseModelConfig(golden("gemma"), "gemma");
    EXPECT_TRUE(gemma.rmsNormUnitOffset && gemma.scaleEmbeddings && gemma.tieEmbeddings);
    EXPECT_EQ(gemma.activation, basis::Activation::GeluTanh);
    const auto llama3 = basis::parseModelConfig(golden("llama3"), "llama3");
    EXPECT_EQ(llama3.ropeScaling.type, basis::RopeScaling::Type::Llama3);
    EXPECT_EQ(llama3.ropeScaling.originalMaxPositions, 64);
    const auto phi3 = basis::parseModelConfig(golden("phi3"), "phi3");
    const auto table = basis::archTable(phi3);
    ASSERT_EQ(table.partNames(), (std::vector<std::string>{"qkv", "o", "gate_up", "down"}));
    EXPECT_EQ(table.projections[0].out, 64 + 2 * 32);   // q then k, v with the key/value heads' size
    EXPECT_EQ(table.projections[2].out, 2 * 160);
}

TEST(ModelConfig, InvalidJsonNamesTheFile)
{
    auto path = writeConfig("cfg-invalid", "{\"model_type\": \"llama\", ");
    expectError([&] { basis::parseModelConfig(path); }, {path.string(), "invalid JSON"});
}

TEST(ModelConfig, UnknownModelTypeIsRefused)
{
    auto path = writeConfig("cfg-unknown", R"({"model_type": "bert", "hidden_size": 8})");
    expectError([&] { basis::parseModelConfig(path); }, {path.string(), "unknown model_type 'bert'", "supported"});
}

TEST(ModelConfig, MissingAndMistypedKeysAreNamed)
{
    auto missing = writeConfig("cfg-missing", R"({"model_type": "llama", "vocab_size": 10, "num_hidden_layers": 2})");
    expectError([&] { basis::parseModelConfig(missing); }, {missing.string(), "hidden_size"});
    auto typed = writeConfig("cfg-typed", R"({"model_type": "gpt2", "vocab_size": 10, "n_embd": "64", "n_layer": 2,
        "n_head": 4, "n_positions": 16})");
    expectError([&] { basis::parseModelConfig(typed); }, {typed.string(), "n_embd", "integer"});
    auto heads = writeConfig("cfg-heads", R"({"model_type": "gpt2", "vocab_size": 10, "n_embd": 65, "n_layer": 2,
        "n_head": 4, "n_positions": 16})");
    expectError([&] { basis::parseModelConfig(heads); }, {"not divisible"});
}

// Published totals of the real models these shapes copy.
TEST(ParameterCounts, SyntheticShapesMatchPublishedTotals)
{
    auto count = [](const std::string& shape) {
        auto cfg = basis::parseModelConfig(basis::synthConfigJson(basis::synthPreset(shape), 0), shape);
        return basis::denseParameterCounts(cfg, basis::archTable(cfg)).total;
    };
    EXPECT_EQ(count("gpt2-124m"), 124439808);   // GPT2LMHeadModel num_parameters()
    EXPECT_EQ(count("opt-125m"), 125239296);    // OPTForCausalLM num_parameters()
    EXPECT_EQ(count("qwen2-0.5b"), 494032768);  // Qwen2-0.5B model card / num_parameters()
    EXPECT_EQ(count("llama3-8b"), 8030261248);  // Meta-Llama-3.1-8B num_parameters()
    EXPECT_EQ(count("phi3-mini"), 3821079552);  // Phi-3-mini-4k-instruct num_parameters()
    EXPECT_EQ(count("gemma-2b"), 2506172416);   // gemma-2b num_parameters()
    EXPECT_EQ(count("llama2-7b"), 6738415616);        // Llama-2-7b-hf num_parameters()
    EXPECT_EQ(count("llama2-13b"), 13015864320);      // Llama-2-13b-hf num_parameters()
    EXPECT_EQ(count("tinyllama-1.1b"), 1100048384);   // TinyLlama-1.1B num_parameters()
    EXPECT_EQ(count("mistral-7b"), 7241732096);       // Mistral-7B-v0.1 num_parameters()
}

TEST(ParameterCounts, MatchGoldenModels)
{
    BASIS_REQUIRE_SHARED("golden/llama");
    for (std::string arch : {"gpt2", "opt", "llama", "mistral", "qwen2", "llama3", "phi3", "gemma"}) {
        const auto dir = basis::test::sharedPath("golden/" + arch);
        auto cfg = basis::parseModelConfig(dir / "config.json");
        auto meta = nlohmann::json::parse(basis::readFile(dir / "meta.json"));
        EXPECT_EQ(basis::denseParameterCounts(cfg, basis::archTable(cfg)).total,
                  meta.at("num_parameters_unique").get<int64_t>())
            << arch;
    }
}

class SynthShapes : public ::testing::TestWithParam<std::string> {};

// Every micro shape loads, runs, is labelled random, and counts what the formula says.
TEST_P(SynthShapes, WriteLoadAndRun)
{
    const fs::path dir = basis::test::scratchDir("synth-" + GetParam());
    basis::writeSyntheticCheckpoint(basis::synthPreset(GetParam()), dir, 7);
    EXPECT_TRUE(fs::exists(dir / "RANDOM_WEIGHTS.txt"));
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    EXPECT_TRUE(model->config().raw.at("basis_studio_synthetic").at("random_weights").get<bool>());
    EXPECT_EQ(model->parameterCount(), basis::denseParameterCounts(model->config(), model->table()).total);
    at::Tensor ids = at::arange(0, 40, at::kLong).unsqueeze(0);
    at::Tensor logits = model->forward(ids);
    EXPECT_EQ(logits.size(2), model->config().vocabSize);
    EXPECT_TRUE(logits.isfinite().all().item<bool>());
    // Same seed, same weights.
    const fs::path again = basis::test::scratchDir("synth-again-" + GetParam());
    basis::writeSyntheticCheckpoint(basis::synthPreset(GetParam()), again, 7);
    EXPECT_EQ(basis::readFile(dir / "model.safetensors"), basis::readFile(again / "model.safetensors"));
}

INSTANTIATE_TEST_SUITE_P(Micro, SynthShapes,
                         ::testing::Values("gpt2-micro", "opt-micro", "llama-micro", "mistral-micro", "qwen2-micro",
                                           "llama3-micro", "phi3-micro", "gemma-micro"),
                         [](const auto& info) { return basis::test::paramName(info.param); });

// Sliding window: with a window shorter than the sequence, the KV-cache path and the full pass agree, and
// the window changes the result (it is not silently ignored).
TEST(SlidingWindow, CacheAgreesAndWindowMatters)
{
    const fs::path dir = basis::test::scratchDir("synth-window");
    basis::SynthShape s = basis::synthPreset("mistral-micro");
    s.slidingWindow = 8;
    basis::writeSyntheticCheckpoint(s, dir, 3);
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    at::Tensor ids = (at::arange(0, 24, at::kLong) * 7) % 500;
    ids = ids.unsqueeze(0);
    at::Tensor full = model->forward(ids);
    basis::KVCache cache;
    std::vector<at::Tensor> parts{model->forward(ids.narrow(1, 0, 5), &cache)};
    for (int64_t t = 5; t < 24; ++t)
        parts.push_back(model->forward(ids.narrow(1, t, 1), &cache));
    EXPECT_LT((at::cat(parts, 1) - full).abs().max().item<double>(), 1e-4);

    nlohmann::json cfg = nlohmann::json::parse(basis::readFile(dir / "config.json"));
    cfg["sliding_window"] = nullptr;
    basis::writeFileAtomically(dir / "config.json", cfg.dump());
    auto unlimited = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    at::Tensor other = unlimited->forward(ids);
    EXPECT_LT((other.narrow(1, 0, 8) - full.narrow(1, 0, 8)).abs().max().item<double>(), 1e-5);   // inside the window
    EXPECT_GT((other.narrow(1, 8, 16) - full.narrow(1, 8, 16)).abs().max().item<double>(), 1e-4); // beyond it
}

// Rewrites dir/model.safetensors through `edit`, which may drop or replace tensors.
void rewriteWeights(const fs::path& dir, const std::function<void(std::vector<basis::TensorToWrite>&)>& edit)
{
    std::string bytes = basis::readFile(dir / "model.safetensors");
    basis::writeFileAtomically(dir / "orig.safetensors", bytes);
    auto file = basis::SafetensorsFile::open(dir / "orig.safetensors");
    std::vector<basis::TensorToWrite> tensors;
    for (const auto& name : file->names()) {
        const auto& v = file->tensor(name);
        tensors.push_back({name, v.dtype, v.shape, v.data, v.bytes});
    }
    edit(tensors);
    basis::writeSafetensors(dir / "model.safetensors", tensors);
}

TEST(BrokenModelFolder, MissingTensorIsNamed)
{
    const fs::path dir = basis::test::scratchDir("broken-missing");
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), dir, 1);
    rewriteWeights(dir, [](auto& t) {
        t.erase(std::remove_if(t.begin(), t.end(), [](auto& x) { return x.name == "model.layers.2.mlp.up_proj.weight"; }),
                t.end());
    });
    expectError([&] { basis::DecoderModel::load(dir); }, {dir.string(), "missing tensor", "model.layers.2.mlp.up_proj.weight"});
}

TEST(BrokenModelFolder, WrongShapeIsNamed)
{
    const fs::path dir = basis::test::scratchDir("broken-shape");
    basis::writeSyntheticCheckpoint(basis::synthPreset("gpt2-micro"), dir, 1);
    std::vector<float> small(64 * 10, 0.f);
    rewriteWeights(dir, [&](auto& t) {
        for (auto& x : t)
            if (x.name == "transformer.h.1.attn.c_proj.weight")
                x = {x.name, basis::DType::F32, {64, 10}, small.data(), small.size() * sizeof(float)};
    });
    expectError([&] { basis::DecoderModel::load(dir); },
                {"model.safetensors", "transformer.h.1.attn.c_proj.weight", "[64,10]", "expected [64,64]"});
}

TEST(BrokenModelFolder, NoWeightsOrNoConfig)
{
    const fs::path dir = basis::test::scratchDir("broken-empty");
    expectError([&] { basis::DecoderModel::load(dir); }, {"config.json"});
    basis::writeSyntheticCheckpoint(basis::synthPreset("opt-micro"), dir, 1);
    fs::remove(dir / "model.safetensors");
    expectError([&] { basis::DecoderModel::load(dir); }, {dir.string(), "model.safetensors"});
    expectError([&] { basis::DecoderModel::load(dir / "nope"); }, {"nope", "not a folder"});
}

TEST(RunOptions, UnknownDeviceAndDtypeAreRefused)
{
    expectError([] { basis::resolveDevice("tpu"); }, {"unknown device 'tpu'"});
    expectError([] { basis::resolveDType("float16"); }, {"float16"});
    if (!basis::cudaAvailable())
        expectError([] { basis::resolveDevice("cuda"); }, {"no CUDA"});
}

} // namespace
