// Exact budgets (issue 16): every low-rank method at every group size lands on P % of the target projections
// removed, within one rank step per group, each group's rank the floor or ceil of the same share; the published
// ratio rule misses (31.6 % with g = 1 and 29.4 % with g = 2 at "30 %" on stories260K); methods without a share
// of parameters to remove refuse the budget by name; the YAML key reaches the engine's settings.
#include "test_support.h"

#include "architecture.h"
#include "compression_plan.h"
#include "compress.h"
#include "config_jobs.h"
#include "decoder_model.h"
#include "error.h"
#include "method_registry.h"
#include "model_config.h"
#include "rank_budget.h"
#include "run_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

namespace {

using basis::test::expectError;

const char* kStories = "models/stories260K/hf";

basis::ModelConfig stories()
{
    return basis::parseModelConfig(basis::test::sharedPath(kStories) / "config.json");
}

// The allocator alone on hand-made groups: the kept weights sit under the target by less than the largest step,
// and each rank is floor or ceil of (share x dense - base) / step, worked here again.
TEST(RankBudget, UniformLandsWithinOneStepOnMicroGroups)
{
    for (double percent : {5.0, 20.0, 33.3, 50.0, 60.0}) {
        std::vector<basis::BudgetGroup> groups;
        for (auto [in, out, n] : {std::tuple{7, 5, 1}, {7, 5, 2}, {16, 3, 3}, {9, 9, 1}, {12, 4, 2}}) {
            basis::BudgetGroup g;
            g.denseWeights = in * out * n;
            g.step = in + n * out;
            g.maxRank = std::min(in, n * out);
            groups.push_back(g);
        }
        basis::allocateUniformBudget(groups, percent);
        const int64_t target = basis::budgetTargetWeights(groups, percent), kept = basis::budgetKeptWeights(groups);
        int64_t maxStep = 0;
        for (const auto& g : groups) {
            const double ideal = (1 - percent / 100) * double(g.denseWeights) / double(g.step);
            EXPECT_NEAR(g.idealRank, ideal, 1e-12);
            EXPECT_TRUE(g.k == int64_t(std::floor(ideal)) || g.k == int64_t(std::ceil(ideal))) << percent << " " << g.k;
            maxStep = std::max(maxStep, g.step);
        }
        EXPECT_LE(kept, target) << percent;
        EXPECT_LT(target - kept, maxStep) << percent;
    }
    std::vector<basis::BudgetGroup> one{{64, 0, 16, 4, 0, 0}};
    expectError([&] { basis::allocateUniformBudget(one, 100); }, {"budget must be in (0, 100)"});
    expectError([&] { basis::allocateUniformBudget(one, 90); }, {"leaves a projection without rank"});
}

// The weighted rule (the loss allocator's candidates): removal weights 1 give the uniform ranks; a group that
// removes half its share keeps more, the others less, and the total stays under the target by less than a step.
TEST(RankBudget, WeightedBudgetMovesOneGroupsShareAndHoldsTheTotal)
{
    for (double percent : {20.0, 33.3, 50.0}) {
        std::vector<basis::BudgetGroup> groups;
        for (auto [in, out, n] : {std::tuple{64, 64, 2}, {64, 172, 2}, {172, 64, 1}, {64, 64, 1}, {64, 172, 1}}) {
            basis::BudgetGroup g;
            g.denseWeights = in * out * n;
            g.step = in + n * out;
            g.maxRank = std::min(in, n * out);
            groups.push_back(g);
        }
        std::vector<basis::BudgetGroup> uniform = groups, ones = groups, half = groups;
        basis::allocateUniformBudget(uniform, percent);
        basis::allocateWeightedBudget(ones, std::vector<double>(groups.size(), 1.0), percent);
        for (size_t i = 0; i < groups.size(); ++i)
            EXPECT_EQ(ones[i].k, uniform[i].k) << percent << " group " << i;
        basis::allocateWeightedBudget(half, {1.0, 0.5, 1.0, 1.0, 1.0}, percent);
        EXPECT_GT(half[1].k, uniform[1].k) << percent;
        EXPECT_LT(half[0].k, uniform[0].k) << percent;
        int64_t maxStep = 0;
        for (const auto& g : half)
            maxStep = std::max(maxStep, g.step);
        const int64_t target = basis::budgetTargetWeights(half, percent), kept = basis::budgetKeptWeights(half);
        EXPECT_LE(kept, target) << percent;
        EXPECT_LT(target - kept, maxStep) << percent;
    }
}

// The greedy allocator against the uniform one and the brute-force optimum on micro shapes with decreasing random
// spectra and per-part weights: at the same budget it keeps at least the uniform ranks' weighted energy, never
// more than the best allocation that fits, and never more weights than the budget.
TEST(RankBudget, GreedyKeepsAtLeastUniformEnergyOnMicroShapes)
{
    uint64_t state = 12345;
    auto uniform01 = [&] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return double(state >> 11) / double(1ULL << 53);
    };
    int cases = 0, optimal = 0;
    for (int trial = 0; trial < 40; ++trial) {
        std::vector<basis::BudgetGroup> groups;
        std::vector<std::vector<double>> energies;
        std::vector<double> weights;
        for (auto [in, out, n] : {std::tuple{8, 6, 1}, {8, 6, 1}, {10, 4, 2}, {12, 6, 1}}) {
            basis::BudgetGroup g;
            g.denseWeights = in * out * n;
            g.step = in + n * out;
            g.maxRank = std::min(in, n * out);
            groups.push_back(g);
            std::vector<double> e;
            double v = 1 + 9 * uniform01();
            for (int64_t i = 0; i < g.maxRank; ++i, v *= uniform01())
                e.push_back(v);
            energies.push_back(e);
            weights.push_back(0.5 + uniform01());
        }
        for (double percent : {20.0, 35.0, 50.0, 60.0}) {
            auto uniform = groups, greedy = groups;
            basis::allocateUniformBudget(uniform, percent);
            basis::allocateGreedyBudget(greedy, energies, weights, percent);
            const int64_t target = basis::budgetTargetWeights(groups, percent);
            // Brute force: every rank vector 1..maxRank that fits.
            double best = 0;
            std::vector<int64_t> k(groups.size(), 1);
            for (;;) {
                auto trialGroups = groups;
                for (size_t g = 0; g < groups.size(); ++g)
                    trialGroups[g].k = k[g];
                if (basis::budgetKeptWeights(trialGroups) <= target)
                    best = std::max(best, basis::budgetEnergy(trialGroups, energies, weights));
                size_t g = 0;
                while (g < k.size() && ++k[g] > groups[g].maxRank)
                    k[g++] = 1;
                if (g == k.size())
                    break;
            }
            const double eu = basis::budgetEnergy(uniform, energies, weights);
            const double eg = basis::budgetEnergy(greedy, energies, weights);
            EXPECT_LE(basis::budgetKeptWeights(greedy), target) << "trial " << trial << " budget " << percent;
            EXPECT_GE(eg, eu - 1e-12) << "trial " << trial << " budget " << percent;
            EXPECT_LE(eg, best + 1e-12) << "trial " << trial << " budget " << percent;
            ++cases;
            optimal += eg >= best - 1e-12;
        }
    }
    std::printf("greedy reached the brute-force optimum in %d of %d micro cases\n", optimal, cases);
}

TEST(RankBudget, EveryLowRankMethodAndGroupSizeLandsOnTheBudget)
{
    BASIS_REQUIRE_SHARED(kStories);
    const basis::ModelConfig c = stories();
    const basis::ArchTable table = basis::archTable(c);
    for (const char* name : {"basis-sharing", "svd-llm", "svd"}) {
        const basis::CompressionMethod& m = basis::method(name);
        for (int64_t g = 1; g <= (m.groupsLayers() ? c.layers : 1); ++g) {
            for (double percent : {20.0, 30.0, 40.0, 50.0}) {
                SCOPED_TRACE(std::string(name) + " g=" + std::to_string(g) + " budget " + std::to_string(percent));
                basis::CompressionSettings s;
                s.method = name;
                s.groupSize = g;
                s.budget = percent;
                const basis::CompressionPlan plan = basis::planCompression(c, table, s);
                const int64_t target = int64_t(std::floor((1 - percent / 100) * double(plan.targetBefore)));
                int64_t maxStep = 0;
                for (const basis::PartPlan& p : plan.parts) {
                    if (!p.compressed)
                        continue;
                    for (const basis::GroupPlan& grp : p.groups) {
                        const int64_t n = int64_t(grp.layers.size()), step = p.spec->in + n * p.spec->out;
                        const double ideal = (1 - percent / 100) * double(grp.weightsBefore) / double(step);
                        EXPECT_TRUE(grp.k == int64_t(std::floor(ideal)) || grp.k == int64_t(std::ceil(ideal)))
                            << p.spec->part << " k " << grp.k << " ideal " << ideal;
                        EXPECT_EQ(grp.weightsAfter, grp.k * step);
                        maxStep = std::max(maxStep, step);
                    }
                }
                EXPECT_LE(plan.targetAfter, target);
                EXPECT_LT(target - plan.targetAfter, maxStep);
                EXPECT_NEAR(plan.removedPercentOfTarget(), percent, 100.0 * double(maxStep) / double(plan.targetBefore));
            }
        }
    }
}

// The feature-space methods at exact budgets: every projection of every layer is a group of one (rank r costs
// r (m + d), plus sfsd's new bias of m), each rank the floor or ceiling of the share's ideal rank, the total within
// one step under the budget; weight-svd (no statistics needed) compressed holds the plan's parameters.
TEST(RankBudget, FeatureSpaceMethodsLandOnTheBudget)
{
    BASIS_REQUIRE_SHARED(kStories);
    const basis::ModelConfig c = stories();
    const basis::ArchTable table = basis::archTable(c);
    for (const char* name : {"utilized", "hybrid", "weight-svd", "sfsd"}) {
        for (double percent : {20.0, 30.0, 40.0, 50.0}) {
            SCOPED_TRACE(std::string(name) + " budget " + std::to_string(percent));
            basis::CompressionSettings s;
            s.method = name;
            s.budget = percent;
            const basis::CompressionPlan plan = basis::planCompression(c, table, s);
            const int64_t target = int64_t(std::floor((1 - percent / 100) * double(plan.targetBefore)));
            int64_t maxStep = 0, groups = 0;
            for (const basis::PartPlan& p : plan.parts) {
                ASSERT_TRUE(p.compressed) << p.spec->part;   // every part is a target by default
                const int64_t m = p.spec->out, d = p.spec->in, bias = std::string(name) == "sfsd" ? m : 0;
                for (const basis::GroupPlan& grp : p.groups) {
                    const double ideal = ((1 - percent / 100) * double(m * d) - double(bias)) / double(m + d);
                    EXPECT_TRUE(grp.k == int64_t(std::floor(ideal)) || grp.k == int64_t(std::ceil(ideal)))
                        << p.spec->part << " k " << grp.k << " ideal " << ideal;
                    EXPECT_EQ(grp.weightsAfter, grp.k * (m + d) + bias);
                    maxStep = std::max(maxStep, m + d);
                    ++groups;
                }
            }
            EXPECT_EQ(groups, c.layers * int64_t(table.projections.size()));   // none left dense by the break-even rule
            EXPECT_LE(plan.targetAfter, target);
            EXPECT_LT(target - plan.targetAfter, maxStep);
        }
    }
    // The ranks reach the factorization: weight-svd (plain SVD of W, no statistics) holds what the plan said.
    basis::CompressionSettings s;
    s.method = "weight-svd";
    s.budget = 30;
    auto model = basis::DecoderModel::load(basis::test::sharedPath(kStories));
    const basis::CompressionPlan plan = basis::planCompression(model->config(), model->table(), s);
    basis::compressModel(*model, nullptr, plan);
    EXPECT_EQ(model->parameterCount(), plan.modelAfter);
    EXPECT_NEAR(plan.removedPercentOfTarget(), 30.0, 0.1);
}

// The published rule's hidden gap, and the budget closing it: at "30 %" g = 1 and g = 2 differ by two points;
// with --budget 30 both remove 30 % to within 0.1 point.
TEST(RankBudget, RatioRuleMissesWhereTheBudgetLands)
{
    BASIS_REQUIRE_SHARED(kStories);
    const basis::ModelConfig c = stories();
    const basis::ArchTable table = basis::archTable(c);
    basis::CompressionSettings s;
    s.ratio = 30;
    s.groupSize = 1;
    const double ratioG1 = basis::planCompression(c, table, s).removedPercentOfTarget();
    s.groupSize = 2;
    const double ratioG2 = basis::planCompression(c, table, s).removedPercentOfTarget();
    EXPECT_NEAR(ratioG1, 31.6, 0.05);
    EXPECT_NEAR(ratioG2, 29.4, 0.05);
    s.budget = 30;
    for (int64_t g : {int64_t(1), int64_t(2)}) {
        s.groupSize = g;
        const basis::CompressionPlan plan = basis::planCompression(c, table, s);
        EXPECT_NEAR(plan.removedPercentOfTarget(), 30.0, 0.1) << "g " << g;
        EXPECT_GE(plan.removedPercentOfTarget(), 30.0) << "g " << g;
    }
    std::printf("stories260K at 30 %%: ratio rule removes %.2f %% (g=1), %.2f %% (g=2); budget: exactly 30 %%\n",
                ratioG1, ratioG2);
}

TEST(RankBudget, MethodsWithoutAShareToRemoveRefuseTheBudget)
{
    BASIS_REQUIRE_SHARED(kStories);
    const basis::ModelConfig c = stories();
    const basis::ArchTable table = basis::archTable(c);
    for (const char* name : {"caldera", "rtn", "gptq"}) {
        basis::CompressionSettings s;
        s.method = name;
        s.budget = 30;
        expectError([&] { basis::planCompression(c, table, s); }, {"--budget", std::string("method '") + name + "' quantizes"});
    }
    // A feature-space method's budget chooses every rank: an energy, a policy or another allocator beside it is refused.
    for (const char* name : {"utilized", "sfsd"}) {
        basis::CompressionSettings s;
        s.method = name;
        s.budget = 30;
        s.featureSpace.energy = 0.9;
        expectError([&] { basis::planCompression(c, table, s); }, {"--budget chooses every rank", name});
        s.featureSpace.energy.reset();
        s.featureSpace.policy = "qkv_heavier";
        expectError([&] { basis::planCompression(c, table, s); }, {"policy qkv_heavier", "off the budget"});
        s.featureSpace.policy = "uniform";
        s.allocator = "greedy";
        expectError([&] { basis::planCompression(c, table, s); }, {"--allocator greedy", "not available"});
    }
    basis::CompressionSettings s;
    s.budget = 120;
    expectError([&] { basis::planCompression(c, table, s); }, {"budget must be in (0, 100)"});
}

// basis_studio.budget reaches the compression settings (and so the plan), is written back, and a value outside
// (0, 100) is refused naming the key.
TEST(RankBudget, YamlKeyReachesTheEngine)
{
    const std::string yaml = "model_args:\n  compression_ratio: 30\n  group_size: 2\ncalibration_args:\n  dataset_name: tinystories\n"
                             "basis_studio:\n  model_path: builtin:stories260k\n"
                             "  budget: 40\n  allocator: greedy\n";
    const auto loaded = basis::parseRunConfig(yaml, "budget.yaml");
    const basis::CompressOptions o = basis::compressOptionsFrom(loaded.config);
    EXPECT_DOUBLE_EQ(o.settings.budget, 40);
    EXPECT_EQ(o.settings.allocator, "greedy");
    EXPECT_NE(basis::writeRunConfig(loaded.config).find("allocator: greedy"), std::string::npos);
    EXPECT_NE(basis::writeRunConfig(loaded.config).find("budget: 40"), std::string::npos);
    BASIS_REQUIRE_SHARED(kStories);
    const basis::ModelConfig c = stories();
    basis::CompressionSettings uniform = o.settings;
    uniform.allocator = "uniform";
    EXPECT_NEAR(basis::planCompression(c, basis::archTable(c), uniform).removedPercentOfTarget(), 40.0, 0.1);
    expectError([&] { basis::parseRunConfig("calibration_args:\n  dataset_name: tinystories\nbasis_studio:\n  model_path: builtin:stories260k\n  budget: 120\n", "bad.yaml"); },
                {"bad.yaml", "budget", "(0, 100)"});
    expectError([&] { basis::parseRunConfig("calibration_args:\n  dataset_name: tinystories\nbasis_studio:\n  model_path: builtin:stories260k\n  allocator: best\n  budget: 30\n", "bad.yaml"); },
                {"bad.yaml", "allocator", "unknown rank allocator 'best'"});
}

} // namespace
