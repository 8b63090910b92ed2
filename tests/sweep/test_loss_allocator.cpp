// The loss-aware allocator through the workspace on stories260K: every candidate holds the budget, the chosen one
// has the lowest measured loss, that loss is the compressed model's mean NLL on the search windows (measured again
// here by the perplexity job), and the windows setting changes what is measured.
#include "sweep_fixture.h"

#include "job_options.h"
#include "job_results.h"
#include "workspace.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

namespace fs = std::filesystem;

TEST(LossAllocator, ChoosesTheCandidateOfLowestMeasuredLossWithinTheBudget)
{
    BASIS_REQUIRE_SHARED(basis::test::kSweepStories);
    BASIS_REQUIRE_SHARED(basis::test::kSweepCalib);
    const fs::path dir = basis::test::scratchDir("loss-allocator");
    const fs::path search = basis::test::shortEvalText(dir);
    basis::Workspace ws;
    ws.load(basis::test::sharedPath(basis::test::kSweepStories), {"cpu", "float32", 0});
    basis::CalibrateOptions cal;
    cal.text = basis::test::sharedPath(basis::test::kSweepCalib);
    cal.samples = 8;
    cal.context = 128;
    ws.calibrate(cal);

    basis::CompressOptions o;
    o.settings.method = "basis-sharing";
    o.settings.groupSize = 2;
    o.settings.budget = 40;
    o.settings.allocator = "loss";
    o.allocatorText = search;
    o.allocatorWindows = 3;
    const basis::CompressionSummary s = ws.compress(o);
    // uniform, greedy, greedy-relative, uniform with each of the 7 parts removing x0.5 and x1.5 its share, and
    // (when more than one of those beat uniform) their combination.
    ASSERT_GE(s.allocatorCandidates.size(), 17u);
    ASSERT_LE(s.allocatorCandidates.size(), 18u);
    EXPECT_EQ(s.allocatorCandidates[0].label, "uniform");
    EXPECT_EQ(s.allocatorCandidates[1].label, "greedy");
    EXPECT_EQ(s.allocatorCandidates[2].label, "greedy-relative");
    EXPECT_EQ(s.allocatorCandidates[3].label, "uniform, q removes x0.5");
    EXPECT_EQ(s.allocatorCandidates[16].label, "uniform, down removes x1.5");
    if (s.allocatorCandidates.size() == 18u) {
        EXPECT_EQ(s.allocatorCandidates[17].label.rfind("uniform, combined:", 0), 0u);
    }
    size_t chosen = 0, best = 0;
    for (size_t i = 0; i < s.allocatorCandidates.size(); ++i) {
        const basis::AllocatorCandidate& c = s.allocatorCandidates[i];
        SCOPED_TRACE(c.label);
        chosen += c.chosen;
        if (c.loss < s.allocatorCandidates[best].loss)
            best = i;
        // The budget: 40 % of the target weights removed, within one rank step (the largest, of up/gate at g = 2:
        // n_in + 2 n_out = 64 + 2 x 172 = 408 weights).
        EXPECT_LE(c.keptWeights, int64_t(std::floor(0.6 * double(s.targetBefore))));
        EXPECT_GT(double(c.keptWeights), 0.6 * double(s.targetBefore) - 408);
        EXPECT_TRUE(std::isfinite(c.loss) && c.loss > 0);
    }
    EXPECT_EQ(chosen, 1u);
    EXPECT_TRUE(s.allocatorCandidates[best].chosen);
    EXPECT_EQ(s.targetAfter, s.allocatorCandidates[best].keptWeights);

    // With windows enough for the whole text the loss is the compressed model's mean NLL per token on it, as the
    // perplexity job measures it (token-mean, disjoint windows of 128); the model compressed is the chosen one.
    o.allocatorWindows = 1000;
    const basis::CompressionSummary all = ws.compress(o);
    const basis::AllocatorCandidate* picked = nullptr;
    for (const auto& c : all.allocatorCandidates)
        if (c.chosen)
            picked = &c;
    ASSERT_NE(picked, nullptr);
    basis::PerplexityJobOptions p;
    p.text = search;
    p.context = 128;
    p.protocol = "token-mean";
    p.compressed = true;
    const basis::PerplexitySummary measured = ws.perplexity(p);
    EXPECT_NEAR(picked->loss, measured.result.nll, 1e-6 * measured.result.nll);
    EXPECT_NE(all.allocatorCandidates[0].loss, s.allocatorCandidates[0].loss) << "the windows setting changes what is measured";
    fs::remove_all(dir);
}

} // namespace
