// Forward pass against golden logits and losses computed by Hugging Face transformers (float32, eager).
#include "test_support.h"

#include "atomic_file.h"
#include "blocks.h"
#include "decoder_model.h"
#include "safetensors.h"
#include "weights.h"

#include <ATen/ATen.h>
#include <cmath>
#include <cstdio>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using basis::DecoderModel;

at::Tensor goldenIds(const std::filesystem::path& dir)
{
    auto j = nlohmann::json::parse(basis::readFile(dir / "input_ids.json"));
    std::vector<std::vector<int64_t>> rows = j.at("input_ids").get<std::vector<std::vector<int64_t>>>();
    at::Tensor ids = at::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}, at::kLong);
    for (size_t r = 0; r < rows.size(); ++r)
        for (size_t t = 0; t < rows[r].size(); ++t)
            ids[r][t] = rows[r][t];
    return ids;
}

at::Tensor goldenLogits(const std::filesystem::path& dir)
{
    auto file = basis::SafetensorsFile::open(dir / "logits.safetensors");
    const auto& v = file->tensor("logits");
    return at::from_blob(const_cast<std::byte*>(v.data), v.shape, at::kFloat).clone();
}

// Mean next-token cross-entropy over all sequences, as transformers' `labels=input_ids` loss.
double shiftedLoss(const at::Tensor& logits, const at::Tensor& ids)
{
    const int64_t T = ids.size(1);
    at::Tensor l = logits.narrow(1, 0, T - 1).reshape({-1, logits.size(2)}).to(at::kDouble);
    at::Tensor y = ids.narrow(1, 1, T - 1).reshape({-1});
    return at::cross_entropy_loss(l, y).item<double>();
}

class GoldenForward : public ::testing::TestWithParam<std::string> {};

// Tolerances: logits 1e-4 absolute (float32 rounding alone gives ~1e-5 on values near 17; golden README),
// loss 1e-5 relative.
TEST_P(GoldenForward, LogitsAndLossMatchTransformers)
{
    const std::string rel = "golden/" + GetParam();
    BASIS_REQUIRE_SHARED(rel);
    const auto dir = basis::test::sharedPath(rel);
    auto model = DecoderModel::load(dir, {"cpu", "float32", 0});
    at::Tensor ids = goldenIds(dir);
    at::Tensor logits = model->forward(ids);
    at::Tensor expected = goldenLogits(dir);
    ASSERT_EQ(logits.sizes(), expected.sizes());
    const double maxDiff = (logits - expected).abs().max().item<double>();
    EXPECT_LT(maxDiff, 1e-4) << GetParam() << " max |logit diff| " << maxDiff;

    const double expectedLoss = nlohmann::json::parse(basis::readFile(dir / "loss.json")).at("loss").get<double>();
    const double loss = shiftedLoss(logits, ids);
    EXPECT_NEAR(loss, expectedLoss, 1e-5 * expectedLoss) << GetParam();
    std::printf("%s: max |logit diff| %.3g, loss %.9f vs %.9f (rel %.3g)\n", GetParam().c_str(), maxDiff, loss,
                expectedLoss, std::abs(loss - expectedLoss) / expectedLoss);
}

// The KV cache must give the same logits as one full pass: prefill 20 tokens, then one token at a time.
TEST_P(GoldenForward, KvCacheMatchesFullPass)
{
    const std::string rel = "golden/" + GetParam();
    BASIS_REQUIRE_SHARED(rel);
    const auto dir = basis::test::sharedPath(rel);
    auto model = DecoderModel::load(dir, {"cpu", "float32", 0});
    at::Tensor ids = goldenIds(dir);
    at::Tensor full = model->forward(ids);
    basis::KVCache cache;
    std::vector<at::Tensor> parts{model->forward(ids.narrow(1, 0, 20), &cache)};
    for (int64_t t = 20; t < ids.size(1); ++t)
        parts.push_back(model->forward(ids.narrow(1, t, 1), &cache));
    at::Tensor incremental = at::cat(parts, 1);
    EXPECT_EQ(cache.length, ids.size(1));
    EXPECT_LT((incremental - full).abs().max().item<double>(), 1e-4) << GetParam();
}

// bfloat16 compute stays close to float32 (loose: bf16 keeps 8 bits of mantissa).
TEST_P(GoldenForward, BFloat16IsCloseToFloat32)
{
    const std::string rel = "golden/" + GetParam();
    BASIS_REQUIRE_SHARED(rel);
    const auto dir = basis::test::sharedPath(rel);
    auto model = DecoderModel::load(dir, {"cpu", "bfloat16", 0});
    EXPECT_EQ(model->dtype(), at::kBFloat16);
    at::Tensor ids = goldenIds(dir);
    const double expectedLoss = nlohmann::json::parse(basis::readFile(dir / "loss.json")).at("loss").get<double>();
    EXPECT_NEAR(shiftedLoss(model->forward(ids), ids), expectedLoss, 0.02 * expectedLoss) << GetParam();
}

TEST_P(GoldenForward, ParameterCountMatchesReference)
{
    const std::string rel = "golden/" + GetParam();
    BASIS_REQUIRE_SHARED(rel);
    const auto dir = basis::test::sharedPath(rel);
    auto model = DecoderModel::load(dir, {"cpu", "float32", 0});
    const auto meta = nlohmann::json::parse(basis::readFile(dir / "meta.json"));
    EXPECT_EQ(model->parameterCount(), meta.at("num_parameters_unique").get<int64_t>());
}

INSTANTIATE_TEST_SUITE_P(Archs, GoldenForward,
                         ::testing::Values("gpt2", "opt", "llama", "mistral", "qwen2", "llama3", "phi3", "gemma"),
                         [](const auto& info) { return info.param; });

// The rotary inverse frequencies equal transformers' float32 buffer (llama3: after its rescaling), bit for bit.
TEST(Rope, InverseFrequenciesMatchTransformers)
{
    BASIS_REQUIRE_SHARED("golden/llama3");
    for (std::string arch : {"qwen2", "llama3", "phi3", "gemma"}) {
        const auto dir = basis::test::sharedPath("golden/" + arch);
        const auto cfg = basis::parseModelConfig(dir / "config.json");
        const auto meta = nlohmann::json::parse(basis::readFile(dir / "meta.json"));
        const std::vector<float> expected = meta.at("rope_inv_freq_float32").get<std::vector<float>>();
        at::Tensor got = basis::blocks::ropeInverseFrequencies(cfg.headDim, cfg.ropeTheta, cfg.ropeScaling, at::kCPU);
        ASSERT_EQ(got.numel(), static_cast<int64_t>(expected.size())) << arch;
        for (size_t i = 0; i < expected.size(); ++i)
            EXPECT_EQ(got[static_cast<int64_t>(i)].item<float>(), expected[i]) << arch << " frequency " << i;
    }
    // Without the scaling the llama3 fixture's frequencies differ (the test can fail).
    const auto cfg = basis::parseModelConfig(basis::test::sharedPath("golden/llama3/config.json"));
    at::Tensor plain = basis::blocks::ropeInverseFrequencies(cfg.headDim, cfg.ropeTheta, {}, at::kCPU);
    EXPECT_GT(plain[7].item<float>() / 1.289173155782919e-06f, 7.9f);
}

} // namespace
