// Sweeps through the engine's one path: the runs a sweep: section expands to, the results file and its CSV, a
// sweep stopped half-way and started again ends with the same files as one that ran through (timings apart), and
// a results file of another sweep or a broken line is refused naming the file and line.
#include "sweep_fixture.h"

#include "error.h"
#include "sweep.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using basis::test::sweepConfig;

const std::string kTwoMethods = "  methods: [basis-sharing, svd-llm]\n  budgets: [30]\n  ratios: [40]\n"
                                "  group_sizes: [1, 2]\n  allocators: [uniform, greedy]\n";

std::vector<nlohmann::json> withoutTimings(std::vector<nlohmann::json> records)
{
    for (auto& r : records)
        r.erase("timings");
    return records;
}

// The CSV without its two timing columns (the last two of every row).
std::string csvWithoutTimings(const fs::path& file)
{
    std::istringstream in(basis::readFile(file));
    std::string out;
    for (std::string line; std::getline(in, line);) {
        for (int i = 0; i < 2; ++i)
            line = line.substr(0, line.rfind(','));
        out += line + "\n";
    }
    return out;
}

TEST(Sweep, ExpandsMethodsBudgetsAllocatorsGroupSizesAndRatios)
{
    BASIS_REQUIRE_SHARED(basis::test::kSweepCalib);
    const fs::path dir = basis::test::scratchDir("sweep-expand");
    const auto runs = basis::expandSweep(sweepConfig(dir, kTwoMethods));
    std::vector<std::string> ids;
    for (const auto& r : runs)
        ids.push_back(r.id);
    // svd-llm does not group layers: one run per budget and allocator, at g = 1.
    const std::vector<std::string> expected{"dense",
                                            "basis-sharing budget 30 g1 uniform", "basis-sharing budget 30 g2 uniform",
                                            "basis-sharing budget 30 g1 greedy", "basis-sharing budget 30 g2 greedy",
                                            "basis-sharing ratio 40 g1", "basis-sharing ratio 40 g2",
                                            "svd-llm budget 30 g1 uniform", "svd-llm budget 30 g1 greedy",
                                            "svd-llm ratio 40 g1"};
    EXPECT_EQ(ids, expected);
    EXPECT_EQ(runs[4].settings.allocator, "greedy");
    EXPECT_EQ(runs[4].settings.groupSize, 2);
    EXPECT_DOUBLE_EQ(runs[4].settings.budget, 30);
    EXPECT_DOUBLE_EQ(runs[5].settings.budget, 0);
    EXPECT_DOUBLE_EQ(runs[5].settings.ratio, 40);
    fs::remove_all(dir);
}

// Feature-space methods run at the sweep's exact budgets (uniform allocation only, a rank per projection), so they lie
// on the Pareto view at the same sizes as the others; without budgets they run once, as configured.
TEST(Sweep, FeatureSpaceMethodsRunAtTheExactBudgets)
{
    BASIS_REQUIRE_SHARED(basis::test::kSweepCalib);
    const fs::path dir = basis::test::scratchDir("sweep-feature-space");
    const auto runs = basis::expandSweep(sweepConfig(dir, "  methods: [utilized, sfsd]\n  budgets: [20, 40]\n"
                                                          "  allocators: [uniform, greedy]\n  dense: false\n"));
    std::vector<std::string> ids;
    for (const auto& r : runs)
        ids.push_back(r.id);
    EXPECT_EQ(ids, (std::vector<std::string>{"utilized budget 20 uniform", "utilized budget 40 uniform",
                                             "sfsd budget 20 uniform", "sfsd budget 40 uniform"}));
    EXPECT_DOUBLE_EQ(runs[1].settings.budget, 40);
    EXPECT_FALSE(runs[1].settings.featureSpace.energy.has_value());
    const auto configured = basis::expandSweep(sweepConfig(dir, "  methods: [utilized]\n  ratios: [30]\n  dense: false\n"));
    ASSERT_EQ(configured.size(), 1u);
    EXPECT_EQ(configured[0].id, "utilized as configured");
    fs::remove_all(dir);
}

TEST(Sweep, AResumedSweepEndsWithTheFilesOfAnUninterruptedOne)
{
    BASIS_REQUIRE_SHARED(basis::test::kSweepStories);
    BASIS_REQUIRE_SHARED(basis::test::kSweepCalib);
    const fs::path whole = basis::test::scratchDir("sweep-whole"), parts = basis::test::scratchDir("sweep-parts");
    const std::string sweep = "  methods: [basis-sharing, svd-llm]\n  budgets: [40]\n  group_sizes: [1, 2]\n"
                              "  allocators: [uniform, greedy]\n";
    const basis::SweepOutcome a = basis::runSweep(sweepConfig(whole, sweep));
    ASSERT_EQ(a.ran, 7u);   // dense, basis-sharing g1/g2 x uniform/greedy, svd-llm uniform/greedy
    EXPECT_EQ(a.resumed, 0u);

    // Stopped before its fourth run: three records are on disk, and the token's Cancelled reaches the caller.
    basis::CancelToken token;
    basis::SweepHooks hooks;
    hooks.job.cancel = &token;
    hooks.onRun = [&](size_t i, size_t, const basis::SweepPoint&, const nlohmann::json* record, bool) {
        if (i == 3 && !record)
            token.cancel();
    };
    // The cancel fires inside the fourth run (its first check): that run is not written.
    EXPECT_THROW(basis::runSweep(sweepConfig(parts, sweep), hooks), basis::Cancelled);
    EXPECT_EQ(basis::readSweepResults(parts / "results.jsonl").size(), 3u);
    const basis::SweepOutcome b = basis::runSweep(sweepConfig(parts, sweep));
    EXPECT_EQ(b.resumed, 3u);
    EXPECT_EQ(b.ran, 4u);

    // The same records (paths of the two scratch folders apart) and the same CSV.
    auto normalise = [](std::vector<nlohmann::json> records, const fs::path& dir) {
        std::string text;
        for (const auto& r : withoutTimings(std::move(records)))
            text += r.dump() + "\n";
        for (size_t at; (at = text.find(dir.string())) != std::string::npos;)
            text.replace(at, dir.string().size(), "DIR");
        return text;
    };
    EXPECT_EQ(normalise(basis::readSweepResults(whole / "results.jsonl"), whole),
              normalise(basis::readSweepResults(parts / "results.jsonl"), parts));
    std::string csvA = csvWithoutTimings(whole / "results.csv"), csvB = csvWithoutTimings(parts / "results.csv");
    EXPECT_EQ(csvA, csvB);
    EXPECT_NE(csvA.find("eval_head"), std::string::npos) << "metric columns are named by the evaluation";

    // The records say what was run and what it kept: exact budgets land on 40 % of the target projections.
    for (const auto& r : basis::readSweepResults(whole / "results.jsonl")) {
        SCOPED_TRACE(r["run_id"].get<std::string>());
        const double ppl = r["results"].begin().value()["ppl,none"].get<double>();
        EXPECT_GT(ppl, 1);
        if (r["run_id"] == "dense")
            continue;
        EXPECT_NEAR(r["parameters"]["removed_percent_of_target"].get<double>(), 40, 0.5);
        EXPECT_TRUE(r["ranks"].contains("self_attn.q_proj") || r["ranks"].contains("q"));
    }
    fs::remove_all(whole);
    fs::remove_all(parts);
}

TEST(Sweep, AResultsFileOfAnotherSweepOrABrokenLineIsRefused)
{
    BASIS_REQUIRE_SHARED(basis::test::kSweepStories);
    BASIS_REQUIRE_SHARED(basis::test::kSweepCalib);
    const fs::path dir = basis::test::scratchDir("sweep-other");
    const std::string sweep = "  methods: [svd]\n  budgets: [30]\n  dense: false\n";
    basis::runSweep(sweepConfig(dir, sweep));
    // Another calibration (4 chunks instead of 8): its records would not be comparable.
    basis::test::expectError([&] { basis::runSweep(sweepConfig(dir, sweep, 4)); },
                             {(dir / "results.jsonl").string() + ":1:", "another model, calibration"});
    {
        std::ofstream out(dir / "results.jsonl", std::ios::app);
        out << "{\"run_id\": \"cut in the mid\n";
    }
    basis::test::expectError([&] { basis::runSweep(sweepConfig(dir, sweep)); },
                             {(dir / "results.jsonl").string() + ":2:", "not a JSON record"});
    fs::remove_all(dir);
}

} // namespace
