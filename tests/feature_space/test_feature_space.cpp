// The feature-space methods' algebra on micro shapes of all four architectures, against independent computations:
// full rank reproduces the dense logits, the energy rank is the brute-force count, sfsd keeps the output mean, the
// break-even rule leaves projections untouched, the policies' ranks stay below break-even, and the errors.
#include "test_support.h"

#include "calibration.h"
#include "compress.h"
#include "decoder_model.h"
#include "error.h"
#include "feature_space_factorize.h"
#include "feature_space_plan.h"
#include "param_count.h"
#include "synth.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <random>

namespace {

using basis::test::expectError;
namespace fs = std::filesystem;

const std::vector<std::string> kMethods{"utilized", "hybrid", "weight-svd", "sfsd"};

// Chunks of seeded random token ids: enough tokens (8 x 64) that every input Gram of a micro shape is full rank.
std::vector<std::vector<int64_t>> randomChunks(int64_t vocab, int64_t chunks = 8, int64_t len = 64)
{
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<int64_t> tok(0, vocab - 1);
    std::vector<std::vector<int64_t>> out(chunks);
    for (auto& c : out)
        for (int64_t i = 0; i < len; ++i)
            c.push_back(tok(rng));
    return out;
}

at::Tensor idsOf(const std::vector<std::vector<int64_t>>& chunks)
{
    at::Tensor ids = at::empty({static_cast<int64_t>(chunks.size()), static_cast<int64_t>(chunks[0].size())}, at::kLong);
    for (size_t i = 0; i < chunks.size(); ++i)
        ids[static_cast<int64_t>(i)].copy_(at::tensor(chunks[i], at::kLong));
    return ids;
}

double relMaxDiff(const at::Tensor& a, const at::Tensor& b)
{
    return (a - b).abs().max().item<double>() / std::max(1.0, b.abs().max().item<double>());
}

class MicroShapes : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override
    {
        dir = basis::test::scratchDir("fs-" + GetParam());
        basis::writeSyntheticCheckpoint(basis::synthPreset(GetParam()), dir, 11);
        model = basis::DecoderModel::load(dir);
        chunks = randomChunks(model->config().vocabSize);
        stats = basis::collectStatistics(*model, chunks, 4);
    }
    void TearDown() override { fs::remove_all(dir); }
    fs::path dir;
    std::unique_ptr<basis::DecoderModel> model;
    std::vector<std::vector<int64_t>> chunks;
    basis::CalibrationStats stats;
};

// Every projection of every layer factorized at full rank min(m, d) (bypassing the break-even rule, which would
// keep them dense): the model's logits equal the dense ones to 1e-5.
TEST_P(MicroShapes, FullRankReproducesDenseLogits)
{
    const at::Tensor ids = idsOf({chunks[0], chunks[1]});
    const at::Tensor dense = model->forward(ids);
    for (const std::string& method : kMethods) {
        SCOPED_TRACE(method);
        auto copy = basis::DecoderModel::load(dir);
        for (int64_t l = 0; l < copy->layerCount(); ++l)
            for (size_t i = 0; i < copy->table().projections.size(); ++i) {
                const basis::ProjectionSpec& p = copy->table().projections[i];
                const auto d = basis::decomposeSlot(method, *copy, l, i, &stats);
                basis::installFactors(*copy, l, i, d.factors(std::min(p.in, p.out)));
            }
        EXPECT_TRUE(copy->slot(0, 0).isFactorized());
        EXPECT_LT(relMaxDiff(copy->forward(ids), dense), 1e-5);
    }
}

// The means the calibration keeps, s / N in float64, against the mean of the inputs captured in a second pass.
TEST_P(MicroShapes, CalibrationKeepsInputSumsAndCounts)
{
    ASSERT_TRUE(stats.hasMeans());
    const int64_t tokens = static_cast<int64_t>(chunks.size() * chunks[0].size());
    std::map<std::pair<int64_t, int>, at::Tensor> sums;
    model->setInputObserver([&](int64_t l, basis::InputSite s, const at::Tensor& x) {
        at::Tensor x2 = x.reshape({-1, x.size(-1)}).to(at::kDouble).sum(0);
        auto& acc = sums[{l, static_cast<int>(s)}];
        acc = acc.defined() ? acc + x2 : x2;
    });
    // The same batches of 4 chunks as the calibration: a pass over all 8 at once computes the float32 activations
    // in other GEMM blocks (OpenBLAS's Zen kernels), which moves the means by ~1e-8 relative.
    for (size_t first = 0; first < chunks.size(); first += 4)
        model->hiddenStates(idsOf({chunks.begin() + static_cast<long>(first),
                                   chunks.begin() + static_cast<long>(std::min(first + 4, chunks.size()))}));
    model->setInputObserver(nullptr);
    for (const auto& [key, s] : sums) {
        EXPECT_EQ(stats.count[key.first][key.second], tokens);   // every position of every full chunk, no padding
        EXPECT_LT(relMaxDiff(stats.mean(key.first, static_cast<basis::InputSite>(key.second)), s / double(tokens)), 1e-12);
    }
}

// sfsd's b' = b + (I - V_r V_r^T) mu_y: on the calibration inputs the mean of y_hat equals the mean of y (1e-6
// relative), at every rank tried, with and without an original bias.
TEST_P(MicroShapes, SfsdKeepsTheOutputMean)
{
    const int64_t layer = 1;
    std::map<int, at::Tensor> inputs;   // site -> all calibration inputs of layer 1 (tokens x d), float64
    model->setInputObserver([&](int64_t l, basis::InputSite s, const at::Tensor& x) {
        if (l != layer)
            return;
        at::Tensor x2 = x.reshape({-1, x.size(-1)}).to(at::kDouble);
        auto& acc = inputs[static_cast<int>(s)];
        acc = acc.defined() ? at::cat({acc, x2}) : x2;
    });
    model->hiddenStates(idsOf(chunks));
    model->setInputObserver(nullptr);
    for (size_t i = 0; i < model->table().projections.size(); ++i) {
        const basis::ProjectionSpec& p = model->table().projections[i];
        const at::Tensor x = inputs.at(static_cast<int>(p.site));
        const auto d = basis::decomposeSlot("sfsd", *model, layer, i, &stats);
        at::Tensor y = at::matmul(x, d.w.t());
        if (d.bias.defined())
            y = y + d.bias;
        const at::Tensor meanY = y.mean(0);
        for (int64_t r : {int64_t{1}, basis::fractionRank(0.5, p.out, p.in), basis::breakEvenRank(p.out, p.in)}) {
            SCOPED_TRACE(p.part + " rank " + std::to_string(r));
            const basis::ProjectionFactors f = d.factors(r);
            ASSERT_TRUE(f.bias.defined());
            const at::Tensor yHat = at::matmul(at::matmul(x, f.b.t()), f.a.t()) + f.bias;
            EXPECT_LT((yHat.mean(0) - meanY).norm().item<double>() / meanY.norm().item<double>(), 1e-6);
            // Without the correction the mean is lost (the test can fail): V_r V_r^T mu_y + b differs from it.
            const at::Tensor uncorrected = at::matmul(at::matmul(x, f.b.t()), f.a.t()) + (d.bias.defined() ? d.bias : at::zeros_like(meanY));
            if (r < p.out) {
                EXPECT_GT((uncorrected.mean(0) - meanY).norm().item<double>() / meanY.norm().item<double>(), 1e-6);
            }
        }
    }
}

// A compression whose every rank is at or above break-even (utilized at e = 1, where r = rank of G_y = min(m, d))
// leaves every projection dense and bit for bit unchanged; the plan counts no saving.
TEST_P(MicroShapes, BreakEvenLeavesProjectionsUntouched)
{
    basis::CompressionSettings s;
    s.method = "utilized";
    s.featureSpace.energy = 1.0;
    auto copy = basis::DecoderModel::load(dir);
    const auto resolved = basis::resolveFeatureSpaceRanks(*copy, &stats, s);
    const auto plan = basis::planCompression(copy->config(), copy->table(), resolved);
    for (const auto& p : plan.parts)
        EXPECT_TRUE(p.groups.empty()) << p.spec->part;
    EXPECT_EQ(plan.modelAfter, plan.modelBefore);
    basis::compressModel(*copy, &stats, plan);
    for (int64_t l = 0; l < copy->layerCount(); ++l)
        for (size_t i = 0; i < copy->table().projections.size(); ++i) {
            const basis::LinearSlot& a = copy->slot(l, i);
            ASSERT_FALSE(a.isFactorized());
            EXPECT_TRUE(at::equal(a.weight(), model->slot(l, i).weight()));
        }
    EXPECT_EQ(copy->parameterCount(), model->parameterCount());
}

// Each method through the plan: the compressed model holds exactly the plan's parameters (sfsd's new biases
// included) and each factorized slot holds the rank the plan gave.
TEST_P(MicroShapes, PlannedCountsEqualTheCompressedModel)
{
    for (const std::string& method : kMethods) {
        SCOPED_TRACE(method);
        basis::CompressionSettings s;
        s.method = method;
        if (method == "sfsd")
            s.featureSpace.fraction = 0.5;
        else
            s.featureSpace.energy = 0.9;
        auto copy = basis::DecoderModel::load(dir);
        const auto plan = basis::planCompression(copy->config(), copy->table(), basis::resolveFeatureSpaceRanks(*copy, &stats, s));
        EXPECT_LT(plan.modelAfter, plan.modelBefore);
        basis::compressModel(*copy, &stats, plan);
        EXPECT_EQ(copy->parameterCount(), plan.modelAfter);
        for (const auto& p : plan.parts)
            for (const auto& g : p.groups) {
                const size_t i = static_cast<size_t>(p.spec - copy->table().projections.data());
                EXPECT_EQ(copy->slot(g.layers[0], i).coeff().size(0), g.k);
            }
    }
}

INSTANTIATE_TEST_SUITE_P(Architectures, MicroShapes,
                         ::testing::Values("llama-micro", "gpt2-micro", "opt-micro", "mistral-micro"),
                         [](const auto& info) { return basis::test::paramName(info.param); });

// The energy rank against a count by hand: eigenvalues of W G W^T (its min(m, d) = 9 nonzero ones) summed one by one.
TEST(FeatureSpaceAlgebra, UtilizedRankIsTheBruteForceCount)
{
    at::manual_seed(3);
    const at::Tensor w = at::randn({12, 9}, at::kDouble);
    const at::Tensor x = at::randn({200, 9}, at::kDouble) * at::linspace(0.1, 3.0, 9, at::kDouble);
    const at::Tensor g = at::matmul(x.t(), x);
    const auto d = basis::decomposeProjection("utilized", w, {}, g);
    at::Tensor lambda = std::get<0>(at::sort(at::linalg_eigvalsh(at::matmul(at::matmul(w, g), w.t())), 0, true)).clamp_min(0);
    lambda = lambda.narrow(0, 0, 9);
    long double total = 0;
    for (int64_t i = 0; i < lambda.numel(); ++i)
        total += lambda[i].item<double>();
    for (double e : {0.3, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0}) {
        int64_t count = 0;
        long double kept = 0;
        while (count < lambda.numel() && kept / total < e)
            kept += lambda[count++].item<double>();
        EXPECT_EQ(d.energyRank(e), count) << e;
    }
    // A spectrum known by hand: W = diag(3, 2, 1, 0.5), G = I -> 9, 4, 1, 0.25 (total 14.25).
    const auto h = basis::decomposeProjection("utilized", at::diag(at::tensor({3.0, 2.0, 1.0, 0.5}, at::kDouble)), {},
                                              at::eye(4, at::kDouble));
    EXPECT_EQ(h.energyRank(0.6), 1);    // 9 / 14.25 = 0.632
    EXPECT_EQ(h.energyRank(0.9), 2);    // 13 / 14.25 = 0.912
    EXPECT_EQ(h.energyRank(0.95), 3);   // 14 / 14.25 = 0.982
    EXPECT_EQ(h.energyRank(0.99), 4);
    EXPECT_EQ(h.energyRank(1.0), 4);
    // weight-svd measures W's squared singular values: the same numbers here.
    EXPECT_EQ(basis::decomposeProjection("weight-svd", at::diag(at::tensor({3.0, 2.0, 1.0, 0.5}, at::kDouble)), {}, {})
                  .energyRank(0.9), 2);
}

TEST(FeatureSpaceAlgebra, BreakEvenRule)
{
    EXPECT_EQ(basis::breakEvenRank(64, 64), 32);
    EXPECT_FALSE(basis::factorizationPays(32, 64, 64));   // 32 x 128 = 64 x 64: no saving, stays dense
    EXPECT_TRUE(basis::factorizationPays(31, 64, 64));
    EXPECT_EQ(basis::breakEvenRank(172, 64), 46);          // 64 x 172 / 236 = 46.6
    EXPECT_TRUE(basis::factorizationPays(46, 172, 64));    // 46 x 236 = 10856 < 11008
    EXPECT_FALSE(basis::factorizationPays(47, 172, 64));
    EXPECT_EQ(basis::fractionRank(0.5, 64, 64), 16);
    EXPECT_EQ(basis::fractionRank(0.01, 64, 64), 1);       // max(1, floor(f kappa))
}

// r' = max(1, round(r x mult)), half away from zero; then break-even. Over every chosen rank of several shapes, a
// factorized rank never reaches the break-even point (<= kappa - 1 where m d / (m + d) is a whole number, <= kappa
// otherwise), and a projection the policy pushes past it is dense and counted as flipped.
TEST(FeatureSpaceAlgebra, PoliciesStayBelowBreakEven)
{
    EXPECT_EQ(basis::policyRank(2, 1.25), 3);    // 2.5 -> 3
    EXPECT_EQ(basis::policyRank(10, 0.85), 9);   // 8.5 -> 9
    EXPECT_EQ(basis::policyRank(1, 0.85), 1);
    basis::ProjectionSpec q{"q", "q", basis::Role::Q}, k{"k", "k", basis::Role::K}, down{"down", "d", basis::Role::Down},
        up{"up", "u", basis::Role::Up}, cattn{"attn.c_attn", "c", basis::Role::QKV};
    EXPECT_EQ(basis::policyMultiplier("qkv_heavier", q), 1.25);
    EXPECT_EQ(basis::policyMultiplier("qkv_heavier", k), 1.10);
    EXPECT_EQ(basis::policyMultiplier("qkv_heavier", down), 0.85);
    EXPECT_EQ(basis::policyMultiplier("mlp_heavier", up), 1.25);
    EXPECT_EQ(basis::policyMultiplier("mlp_heavier", down), 1.10);
    EXPECT_EQ(basis::policyMultiplier("mlp_heavier", cattn), 0.85);
    EXPECT_EQ(basis::policyMultiplier("uniform", cattn), 1.0);
    expectError([&] { basis::policyMultiplier("attn_heavier", q); }, {"unknown rank policy 'attn_heavier'", "qkv_heavier"});

    // Through the planner on llama-micro: every rank at kappa, so each multiplier above 1 flips its parts.
    const fs::path dir = basis::test::scratchDir("fs-policy");
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), dir, 1);
    const basis::ModelConfig c = basis::parseModelConfig(dir / "config.json");
    const basis::ArchTable table = basis::archTable(c);
    for (const std::string policy : {"uniform", "qkv_heavier", "mlp_heavier"})
        for (double part : {0.3, 0.8, 1.0}) {
            SCOPED_TRACE(policy + " at " + std::to_string(part));
            basis::CompressionSettings s;
            s.method = "utilized";
            s.featureSpace.policy = policy;
            for (const auto& p : table.projections)
                s.featureSpace.ranks[p.part].assign(c.layers, std::max<int64_t>(1, int64_t(part * basis::breakEvenRank(p.out, p.in))));
            const auto report = basis::featureSpaceReport(c, table, s);
            int64_t flips = 0;
            for (const auto& r : report.projections) {
                const double mult = basis::policyMultiplier(policy, *r.spec);
                EXPECT_EQ(r.rank, basis::policyRank(r.chosen, mult));
                if (!r.dense) {
                    EXPECT_LT(r.rank * (r.m + r.d), r.m * r.d);
                    EXPECT_LE(r.rank, (r.m * r.d) % (r.m + r.d) == 0 ? r.kappa - 1 : r.kappa);
                }
                EXPECT_EQ(r.flipped, r.dense && basis::factorizationPays(r.chosen, r.m, r.d));
                flips += r.flipped;
            }
            EXPECT_EQ(report.flips, flips);
            if (part == 1.0 && policy != "uniform") {
                EXPECT_GT(flips, 0);   // a multiplier above 1 at kappa flips
            }
            if (policy == "uniform") {
                EXPECT_EQ(flips, 0);
            }
            const auto plan = basis::planFeatureSpace(c, table, s);
            int64_t factorized = 0;
            for (const auto& r : report.projections)
                factorized += !r.dense;
            int64_t groups = 0;
            for (const auto& p : plan.parts)
                groups += static_cast<int64_t>(p.groups.size());
            EXPECT_EQ(groups, factorized);
        }
    fs::remove_all(dir);
}

TEST(FeatureSpaceErrors, EnergyFractionAndRanksFiles)
{
    basis::FeatureSpaceSettings f;
    for (double e : {0.0, -0.5, 1.5}) {
        f.energy = e;
        expectError([&] { basis::validateFeatureSpace("utilized", f); }, {"energy must be in (0, 1]"});
    }
    f.energy = 1.0;
    EXPECT_NO_THROW(basis::validateFeatureSpace("utilized", f));
    f.energy.reset();
    for (double x : {0.0, 1.0, 1.2}) {
        f.fraction = x;
        expectError([&] { basis::validateFeatureSpace("sfsd", f); }, {"fraction must be in (0, 1)"});
    }
    f.fraction = 0.5;
    expectError([&] { basis::validateFeatureSpace("utilized", f); }, {"sfsd setting"});
    f.energy = 0.9;
    expectError([&] { basis::validateFeatureSpace("sfsd", f); }, {"give one of --energy, --fraction and --ranks"});

    // A ranks file written for llama-micro, read against gpt2-micro: another model.
    const fs::path dir = basis::test::scratchDir("fs-ranks");
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), dir / "llama", 1);
    basis::writeSyntheticCheckpoint(basis::synthPreset("gpt2-micro"), dir / "gpt2", 1);
    const basis::ModelConfig llama = basis::parseModelConfig(dir / "llama" / "config.json");
    const basis::ModelConfig gpt2 = basis::parseModelConfig(dir / "gpt2" / "config.json");
    basis::RankTable ranks;
    for (const auto& p : basis::archTable(llama).projections)
        ranks[p.part].assign(llama.layers, 8);
    ranks["q"][2] = basis::kDenseRank;
    const fs::path file = dir / "ranks.json";
    std::ofstream(file) << basis::ranksJson(ranks, llama, basis::archTable(llama)).dump();
    EXPECT_EQ(basis::readRanksFile(file, llama, basis::archTable(llama)), ranks);
    expectError([&] { basis::readRanksFile(file, gpt2, basis::archTable(gpt2)); }, {file.string(), "another model"});
    ranks["down"][1] = 65;   // down is 172 -> 64: min(m, d) = 64
    std::ofstream(file) << basis::ranksJson(ranks, llama, basis::archTable(llama)).dump();
    expectError([&] { basis::readRanksFile(file, llama, basis::archTable(llama)); },
                {"rank 65 of 'down' layer 1", "outside 1..min(m, d) = 64"});
    std::ofstream(file) << "{\"ranks\": {}}";
    expectError([&] { basis::readRanksFile(file, llama, basis::archTable(llama)); }, {"not a ranks file"});
    fs::remove_all(dir);
}

} // namespace
