// The memory a job's accounting says it needs (memory_estimate.h): the formulas against counts by hand on a
// micro LLaMA shape, the refusal's message, and /proc/meminfo read.
#include "test_support.h"

#include "arch_registry.h"
#include "memory_estimate.h"
#include "memory_usage.h"

#include <gtest/gtest.h>

namespace {

basis::ModelConfig microLlama()
{
    basis::ModelConfig c;
    c.arch = "llama";
    c.vocabSize = 100;
    c.hidden = 16;
    c.layers = 4;
    c.heads = 4;
    c.kvHeads = 4;
    c.headDim = 4;
    c.intermediate = 40;
    return c;
}

// By hand: a 16 x 80 group (two layers of gate, n_out 40): r = 16, 3*16*80 + 16*16 + 16*80 + 7*256 + 3*256 elements.
TEST(MemoryEstimate, GroupFactorizationCountsItsBuffers)
{
    EXPECT_EQ(basis::groupFactorizationBytes(16, 80, true), 8 * (3 * 16 * 80 + 16 * 16 + 16 * 80 + 7 * 256 + 3 * 256));
    EXPECT_EQ(basis::groupFactorizationBytes(16, 80, false), 8 * (3 * 16 * 80 + 16 * 16 + 16 * 80 + 7 * 256));
    // A tall group (down: n_in 40, one layer of 16 outputs): r = 16, and H is 40 x 40.
    EXPECT_EQ(basis::groupFactorizationBytes(40, 16, true), 8 * (3 * 40 * 16 + 40 * 16 + 16 * 16 + 7 * 256 + 3 * 1600));
}

// The plan's largest group and, held in memory, every group's factors at the compute dtype; streamed, the factors
// are not counted.
TEST(MemoryEstimate, CompressionNeedIsTheLargestGroupPlusTheCopy)
{
    const basis::ModelConfig c = microLlama();
    const basis::ArchTable table = basis::archTable(c);
    basis::CompressionSettings s;
    s.ratio = 30;
    s.groupSize = 2;
    const basis::CompressionPlan plan = basis::planCompression(c, table, s);
    int64_t largest = 0, factors = 0;
    for (const basis::PartPlan& p : plan.parts)
        if (p.compressed)
            for (const basis::GroupPlan& g : p.groups) {
                largest = std::max(largest, basis::groupFactorizationBytes(p.spec->in, int64_t(g.layers.size()) * p.spec->out, true));
                factors += 4 * g.weightsAfter;
            }
    EXPECT_GT(factors, 0);
    const basis::MemoryNeed held = basis::compressionNeed(plan, 4, false);
    EXPECT_EQ(held.bytes, largest + factors);
    ASSERT_EQ(held.parts.size(), 2u);
    const basis::MemoryNeed streamed = basis::compressionNeed(plan, 4, true);
    EXPECT_EQ(streamed.bytes, largest);
    EXPECT_EQ(basis::compressionNeed(plan, 2, false).bytes, largest + factors / 2);
}

// Three input sites of width 16 (attention, o, MLP) and one of 40 (down): H and s in float64 each.
TEST(MemoryEstimate, CalibrationNeedIsStatisticsPlusActivations)
{
    const basis::ModelConfig c = microLlama();
    const basis::ArchTable table = basis::archTable(c);
    const int64_t perLayer = 8 * (3 * (16 * 16 + 16) + (40 * 40 + 40));
    const basis::MemoryNeed streamed = basis::calibrationNeed(c, table, 10, 32, 2, 4, true);
    EXPECT_EQ(streamed.bytes, perLayer + 10 * 32 * 16 * 4);
    const basis::MemoryNeed whole = basis::calibrationNeed(c, table, 10, 32, 2, 4, false);
    EXPECT_EQ(whole.bytes, 4 * perLayer + 2 * 32 * 16 * 4);
    // Activations in a scratch file on disk (file-backed) are not counted; a whole-model pass has none there.
    EXPECT_EQ(basis::calibrationNeed(c, table, 10, 32, 2, 4, true, true).bytes, perLayer);
    EXPECT_EQ(basis::calibrationNeed(c, table, 10, 32, 2, 4, false, true).bytes, whole.bytes);
    EXPECT_EQ(basis::calibrationActivationBytes(c, 10, 32, 4), 10 * 32 * 16 * 4);
}

TEST(MemoryEstimate, RefusalNamesTheNumbers)
{
    basis::MemoryNeed need;
    need.add("the compressed copy's factors", 1'500'000'000);
    need.add("the largest group's factorization", 900'000'000);
    EXPECT_TRUE(basis::memoryRefusal("Compress", need, 3'000'000'000).empty());
    EXPECT_TRUE(basis::memoryRefusal("Compress", need, 0).empty()) << "unknown availability refuses nothing";
    const std::string m = basis::memoryRefusal("Compress", need, 2'000'000'000);
    for (const char* part : {"Compress needs about 2.40 GB", "the compressed copy's factors 1.50 GB",
                             "the largest group's factorization 900.0 MB", "only 2.00 GB of memory is available"})
        EXPECT_NE(m.find(part), std::string::npos) << part << " not in: " << m;
    EXPECT_EQ(basis::formatMemory(45'600'000), "45.6 MB");
    EXPECT_EQ(basis::formatMemory(1'234'000'000), "1.23 GB");
    // This machine's MemAvailable is read (Linux); it is below the total memory the kernel reports.
    EXPECT_GT(basis::availableMemoryBytes(), 0);
}

} // namespace
