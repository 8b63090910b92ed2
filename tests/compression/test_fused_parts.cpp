// Phi-3's fused projections addressed as their parts (issue 19): q, k, v are rows of qkv_proj and gate, up rows of
// gate_up_proj. Checked against the fused weights row by row, against the fused model's logits, against the rank
// formula, and through save -> load -> dense export back into Phi-3's own layout.
#include "test_support.h"

#include "atomic_file.h"
#include "calibration_job.h"
#include "compress.h"
#include "compressed_io.h"
#include "decoder_model.h"
#include "error.h"
#include "model_config.h"
#include "param_count.h"
#include "rank_allocation.h"
#include "safetensors.h"
#include "spectra.h"
#include "synth.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using basis::test::expectError;

// phi3-micro: hidden 64, 8 heads of 8 on 2 key/value heads (q 64 rows, k and v 16 each), intermediate 160.
struct Phi3Micro {
    fs::path dir = basis::test::scratchDir("fused-phi3");
    std::vector<std::vector<int64_t>> calib;
    at::Tensor ids = (at::arange(0, 40, at::kLong) * 31 + 5).remainder(512).unsqueeze(0);

    Phi3Micro()
    {
        basis::writeSyntheticCheckpoint(basis::synthPreset("phi3-micro"), dir, 7);
        for (int64_t r = 0; r < 4; ++r) {
            calib.emplace_back();
            for (int64_t t = 0; t < 96; ++t)
                calib.back().push_back((r * 131 + t * 37) % 512);
        }
    }
};

basis::CompressionSettings sharing(std::vector<std::string> shared, std::vector<std::string> priv)
{
    basis::CompressionSettings s;
    s.method = "basis-sharing";
    s.ratio = 30;
    s.groupSize = 2;
    s.shared = std::move(shared);
    s.privateParts = std::move(priv);
    return s;
}

const basis::LinearSlot& slotOf(const basis::DecoderModel& m, int64_t layer, const std::string& part)
{
    for (const basis::LinearSlot& s : m.layer(layer).slots)
        if (s.spec().part == part)
            return s;
    throw std::runtime_error("no part " + part);
}

TEST(FusedParts, SplitSlotsAreTheFusedRowsAndComputeTheSameModel)
{
    Phi3Micro p;
    auto fused = basis::DecoderModel::load(p.dir);
    auto split = basis::DecoderModel::load(p.dir);
    split->setSplitFused({"qkv", "gate_up"});
    EXPECT_EQ(split->table().partNames(), (std::vector<std::string>{"q", "k", "v", "o", "gate", "up", "down"}));
    EXPECT_EQ(split->parameterCount(), fused->parameterCount());
    for (int64_t l = 0; l < fused->layerCount(); ++l) {
        const at::Tensor qkv = slotOf(*fused, l, "qkv").weight(), gateUp = slotOf(*fused, l, "gate_up").weight();
        EXPECT_TRUE(at::equal(slotOf(*split, l, "q").weight(), qkv.narrow(0, 0, 64)));
        EXPECT_TRUE(at::equal(slotOf(*split, l, "k").weight(), qkv.narrow(0, 64, 16)));
        EXPECT_TRUE(at::equal(slotOf(*split, l, "v").weight(), qkv.narrow(0, 80, 16)));
        EXPECT_TRUE(at::equal(slotOf(*split, l, "gate").weight(), gateUp.narrow(0, 0, 160)));
        EXPECT_TRUE(at::equal(slotOf(*split, l, "up").weight(), gateUp.narrow(0, 160, 160)));
        // Views of one loaded fused weight, not copies.
        EXPECT_EQ(slotOf(*split, l, "k").weight().data_ptr<float>(), slotOf(*split, l, "q").weight().data_ptr<float>() + 64 * 64);
        EXPECT_EQ(slotOf(*split, l, "up").weight().data_ptr<float>(), slotOf(*split, l, "gate").weight().data_ptr<float>() + 160 * 64);
    }
    // Three products instead of one: the same function up to float32 rounding (1e-5 of the largest logit).
    const at::Tensor a = fused->forward(p.ids), b = split->forward(p.ids);
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-5 * a.abs().max().item<double>());
    // And back: re-fused, the slots are the loaded fused weights again, bit for bit.
    split->setSplitFused({});
    EXPECT_EQ(split->table().partNames(), fused->table().partNames());
    EXPECT_TRUE(at::equal(split->forward(p.ids), a));
}

TEST(FusedParts, PlanCompressSaveLoadAndExportIntoPhi3Layout)
{
    Phi3Micro p;
    auto model = basis::DecoderModel::load(p.dir);
    auto stats = basis::collectStatistics(*model, p.calib, 2);
    // Mistral's GQA choice on Phi-3: k and v private.
    const basis::CompressionPlan plan =
        basis::planCompression(model->config(), model->table(), sharing({"q", "gate", "up"}, {"k", "v", "o", "down"}));
    EXPECT_EQ(plan.splitFused, (std::vector<std::string>{"qkv", "gate_up"}));
    ASSERT_EQ(plan.parts.size(), 7u);
    int64_t before = 0, after = 0;
    for (const basis::PartPlan& part : plan.parts) {
        const int64_t g = part.shared ? 2 : 1;
        for (const auto& layers : basis::layerGroups(model->config().layers, g)) {
            const int64_t n = static_cast<int64_t>(layers.size());
            const int64_t k = std::min({basis::rankFor(30, part.spec->in, part.spec->out, g), part.spec->in, n * part.spec->out});
            before += n * part.spec->in * part.spec->out;
            after += part.spec->in * k + n * k * part.spec->out;
        }
    }
    EXPECT_EQ(plan.part("k")->spec->out, 16);
    EXPECT_FALSE(plan.part("k")->shared);
    EXPECT_TRUE(plan.part("up")->shared);
    EXPECT_EQ(plan.targetBefore, before);
    EXPECT_EQ(plan.targetAfter, after);

    auto result = basis::compressModel(*model, &stats, plan);
    EXPECT_EQ(model->config().splitFused, plan.splitFused);
    EXPECT_EQ(model->parameterCount(), plan.modelAfter);
    const fs::path out = basis::test::scratchDir("fused-phi3-saved") / "model";
    basis::saveCompressedModel(*model, result, out);
    auto loaded = basis::DecoderModel::load(out);
    EXPECT_EQ(loaded->config().splitFused, plan.splitFused);
    EXPECT_EQ(loaded->parameterCount(), plan.modelAfter);
    const at::Tensor logits = model->forward(p.ids);
    EXPECT_TRUE(at::equal(logits, loaded->forward(p.ids)));

    const fs::path denseDir = basis::test::scratchDir("fused-phi3-dense") / "model";
    basis::exportDense(*loaded, denseDir);
    auto dense = basis::DecoderModel::load(denseDir);
    EXPECT_TRUE(dense->config().splitFused.empty());
    const auto ckpt = basis::Checkpoint::open(denseDir);
    EXPECT_EQ(ckpt.tensor("model.layers.0.self_attn.qkv_proj.weight").shape, (std::vector<int64_t>{96, 64}));
    EXPECT_EQ(ckpt.tensor("model.layers.0.mlp.gate_up_proj.weight").shape, (std::vector<int64_t>{320, 64}));
    EXPECT_FALSE(ckpt.contains("model.layers.0.self_attn.q_proj.weight"));
    EXPECT_EQ(dense->parameterCount(), basis::denseParameterCounts(dense->config(), dense->table()).total);
    EXPECT_LT((dense->forward(p.ids) - logits).abs().max().item<double>(), 1e-4 * logits.abs().max().item<double>());
}

TEST(FusedParts, DenseSplitPartsAreSavedUnderTheirOwnNames)
{
    Phi3Micro p;
    auto model = basis::DecoderModel::load(p.dir);
    auto stats = basis::collectStatistics(*model, p.calib, 2);
    // Both lists given: v, up, o and down are in neither and stay dense, v and up as rows of a split projection.
    const basis::CompressionPlan plan = basis::planCompression(model->config(), model->table(), sharing({"q", "gate"}, {"k"}));
    EXPECT_FALSE(plan.part("v")->compressed);
    auto result = basis::compressModel(*model, &stats, plan);
    const fs::path out = basis::test::scratchDir("fused-phi3-partial") / "model";
    basis::saveCompressedModel(*model, result, out);
    const auto ckpt = basis::Checkpoint::open(out);
    EXPECT_EQ(ckpt.tensor("model.layers.2.self_attn.v_proj.weight").shape, (std::vector<int64_t>{16, 64}));
    EXPECT_EQ(ckpt.tensor("model.layers.2.mlp.up_proj.weight").shape, (std::vector<int64_t>{160, 64}));
    EXPECT_TRUE(ckpt.contains("model.layers.2.self_attn.k_proj.coeff"));
    EXPECT_FALSE(ckpt.contains("model.layers.2.self_attn.qkv_proj.weight"));
    auto loaded = basis::DecoderModel::load(out);
    EXPECT_EQ(loaded->parameterCount(), plan.modelAfter);
    EXPECT_TRUE(at::equal(model->forward(p.ids), loaded->forward(p.ids)));
    // The export joins them back: v's rows of qkv_proj are the dense model's, bit for bit.
    const fs::path denseDir = basis::test::scratchDir("fused-phi3-partial-dense") / "model";
    basis::exportDense(*loaded, denseDir);
    auto original = basis::DecoderModel::load(p.dir), dense = basis::DecoderModel::load(denseDir);
    EXPECT_TRUE(at::equal(slotOf(*dense, 2, "qkv").weight().narrow(0, 80, 16), slotOf(*original, 2, "qkv").weight().narrow(0, 80, 16)));
    EXPECT_TRUE(at::equal(slotOf(*dense, 2, "down").weight(), slotOf(*original, 2, "down").weight()));
}

TEST(FusedParts, OnlyTheNamedFusedProjectionIsSplitAndAllocatorsReadItsRows)
{
    Phi3Micro p;
    auto model = basis::DecoderModel::load(p.dir);
    auto stats = basis::collectStatistics(*model, p.calib, 2);
    // q, k, v shared: qkv is split, gate_up stays one private target (one list alone: the rest is private).
    const basis::CompressionPlan plan = basis::planCompression(model->config(), model->table(), sharing({"q", "k", "v"}, {}));
    EXPECT_EQ(plan.splitFused, (std::vector<std::string>{"qkv"}));
    EXPECT_EQ(plan.settings.privateParts, (std::vector<std::string>{"o", "gate_up", "down"}));
    // The greedy allocator reads the parts' spectra off the loaded (fused) model's rows, and the exact budget holds.
    basis::CompressionSettings greedy = sharing({"q", "k", "v"}, {});
    greedy.budget = 30;
    greedy.allocator = "greedy";
    const basis::CompressionSettings ranked = basis::resolveAllocatedRanks(*model, &stats, greedy);
    const basis::CompressionPlan greedyPlan = basis::planCompression(model->config(), model->table(), ranked);
    EXPECT_EQ(greedyPlan.splitFused, (std::vector<std::string>{"qkv"}));
    EXPECT_NEAR(greedyPlan.removedPercentOfTarget(), 30.0, 1.0);
    basis::compressModel(*model, &stats, greedyPlan);
    EXPECT_EQ(model->parameterCount(), greedyPlan.modelAfter);
}

// The spectra the studio's live energies read (computed once on the loaded, fused model) cover the parts too, and
// predict the energy each group of a compression that names the parts keeps.
TEST(FusedParts, SpectraCoverThePartsAndPredictTheCompressionsEnergy)
{
    Phi3Micro p;
    auto model = basis::DecoderModel::load(p.dir);
    auto stats = basis::collectStatistics(*model, p.calib, 2);
    const basis::Spectra spectra = basis::computeSpectra(*model, stats, {1, 2});
    const basis::CompressionPlan plan =
        basis::planCompression(model->config(), model->table(), sharing({"q", "gate", "up"}, {"k", "v", "o", "down"}));
    const std::vector<double> predicted = spectra.energyKept(plan);
    const basis::CompressionResult result = basis::compressModel(*model, &stats, plan);
    ASSERT_EQ(predicted.size(), result.groups.size());
    for (size_t i = 0; i < predicted.size(); ++i)
        EXPECT_NEAR(predicted[i], result.groups[i].energy, 1e-9) << result.groups[i].part;
}

TEST(FusedParts, ClearErrors)
{
    Phi3Micro p;
    auto model = basis::DecoderModel::load(p.dir);
    expectError([&] { basis::planCompression(model->config(), model->table(), sharing({"qkv", "q"}, {})); },
                {"'qkv' and 'q' are both named", "inside the fused projection"});
    basis::CompressionSettings sfsd;
    sfsd.method = "sfsd";
    sfsd.shared = {"q"};
    expectError([&] { basis::planCompression(model->config(), model->table(), sfsd); }, {"feature-space", "whole"});
    // A compressed folder whose split_fused names no fused projection is refused by name.
    nlohmann::json config = nlohmann::json::parse(basis::readFile(p.dir / "config.json"));
    config["compression"] = {{"split_fused", {"down"}}};
    expectError([&] { basis::parseModelConfig(config, "broken/config.json"); },
                {"broken/config.json", "split_fused", "'down' is not a fused projection", "qkv, gate_up"});
    // Other architectures have nothing to split: their own parts, as before.
    const fs::path llama = basis::test::scratchDir("fused-llama");
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), llama, 1);
    auto lm = basis::DecoderModel::load(llama);
    EXPECT_TRUE(basis::planCompression(lm->config(), lm->table(), sharing({"q"}, {})).splitFused.empty());
}

} // namespace
