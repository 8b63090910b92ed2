// The real pretrained stories260K model: greedy text and perplexity against reference values.
#include "test_support.h"

#include "atomic_file.h"
#include "decoder_model.h"
#include "generate.h"
#include "perplexity.h"
#include "side_by_side.h"
#include "tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

namespace {

const char* kModel = "models/stories260K/hf";

TEST(Stories260K, GreedyFromBosReproducesReferenceText)
{
    BASIS_REQUIRE_SHARED(kModel);
    BASIS_REQUIRE_SHARED("models/stories260K/expected_greedy_256.txt");
    const auto dir = basis::test::sharedPath(kModel);
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    auto tok = basis::loadTokenizer(dir);
    basis::GenerateOptions options;
    options.maxNewTokens = 256;
    options.stopAtEos = false;
    const auto r = basis::generateGreedy(*model, {*tok->bosId()}, options);
    EXPECT_EQ(r.tokens.size(), 257u);
    std::string expected = basis::readFile(basis::test::sharedPath("models/stories260K/expected_greedy_256.txt"));
    EXPECT_EQ(tok->decode(r.tokens), expected);
}

// Reference: golden/stories260K/ppl.json (transformers, float32). Tolerance 0.1% relative, as the issue asks;
// the counts must match exactly (they check tokenization and windowing first).
TEST(Stories260K, PerplexityMatchesReferenceUnderBothProtocols)
{
    BASIS_REQUIRE_SHARED(kModel);
    BASIS_REQUIRE_SHARED("golden/stories260K/ppl.json");
    const auto dir = basis::test::sharedPath(kModel);
    const auto ref = nlohmann::json::parse(basis::readFile(basis::test::sharedPath("golden/stories260K/ppl.json")));
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    auto tok = basis::loadTokenizer(dir);
    bool bosAdded = false;
    const auto ids = basis::tokenizeForEvaluation(
        *tok, basis::readFile(basis::test::sharedPath("data/tinystories-valid/eval.txt")), basis::BosPolicy::Auto, &bosAdded);
    EXPECT_TRUE(bosAdded);
    EXPECT_EQ(ids.size(), 195640u);

    basis::PplOptions options;
    options.context = 512;
    options.stride = 512;
    options.protocol = basis::PplProtocol::WindowMean;
    const auto r = basis::evaluatePerplexity(*model, ids, options);
    EXPECT_EQ(r.windows, ref.at("windows").get<int64_t>());
    EXPECT_EQ(r.tokens, ref.at("scored_tokens").get<int64_t>());
    const double wm = ref.at("ppl_window_mean").get<double>(), tm = ref.at("ppl_token_mean").get<double>();
    EXPECT_NEAR(r.pplWindowMean, wm, 1e-3 * wm);
    EXPECT_NEAR(r.pplTokenMean, tm, 1e-3 * tm);
    EXPECT_DOUBLE_EQ(r.ppl, r.pplWindowMean);
    std::printf("stories260K: window-mean %.6f (ref %.6f), token-mean %.6f (ref %.6f)\n", r.pplWindowMean, wm,
                r.pplTokenMean, tm);
}

// With stride < context every token is still scored exactly once (by the first window that can see it).
TEST(Stories260K, OverlappingWindowsScoreEachTokenOnce)
{
    BASIS_REQUIRE_SHARED(kModel);
    const auto dir = basis::test::sharedPath(kModel);
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    auto tok = basis::loadTokenizer(dir);
    std::string text = basis::readFile(basis::test::sharedPath("data/tinystories-valid/eval.txt")).substr(0, 20000);
    const auto ids = basis::tokenizeForEvaluation(*tok, text, basis::BosPolicy::Always);
    basis::PplOptions options;
    options.context = 256;
    options.stride = 128;
    const auto r = basis::evaluatePerplexity(*model, ids, options);
    EXPECT_EQ(r.tokens, static_cast<int64_t>(ids.size()) - 1);
    // More context per scored token cannot be much worse than disjoint windows.
    options.stride = 256;
    const auto disjoint = basis::evaluatePerplexity(*model, ids, options);
    EXPECT_LT(r.pplTokenMean, disjoint.pplTokenMean * 1.01);
}

} // namespace

namespace {

// The first 60 kB of eval.txt, tokenized with the model's tokenizer (BOS auto): about 30 windows of 512.
std::vector<int64_t> evalHead(const std::filesystem::path& dir)
{
    auto tok = basis::loadTokenizer(dir);
    const std::string text = basis::readFile(basis::test::sharedPath("data/tinystories-valid/eval.txt")).substr(0, 60000);
    return basis::tokenizeForEvaluation(*tok, text, basis::BosPolicy::Auto);
}

// A JobContext whose progress reports are recorded: the last (done, total) and whether any came from a thread
// other than the one that made the probe.
struct ProgressProbe {
    std::thread::id caller = std::this_thread::get_id();
    bool elsewhere = false;
    int64_t lastDone = -1, lastTotal = -1;
    basis::JobContext job()
    {
        basis::JobContext j;
        j.progress = [this](int64_t done, int64_t total, const std::string&) {
            elsewhere |= std::this_thread::get_id() != caller;
            lastDone = done;
            lastTotal = total;
        };
        return j;
    }
};

// Batched windows (several per forward pass) give the numbers one window at a time gives, under both protocols,
// with disjoint and with overlapping windows (whose last, shorter window runs on its own); automatic batching
// really batches on this model.
TEST(Stories260K, BatchedPerplexityEqualsOneWindowAtATime)
{
    BASIS_REQUIRE_SHARED(kModel);
    const auto dir = basis::test::sharedPath(kModel);
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    const auto ids = evalHead(dir);
    EXPECT_GT(basis::autoBatch(*model, 512), 1);
    for (int64_t stride : {int64_t(512), int64_t(384)}) {
        basis::PplOptions one;
        one.context = 512;
        one.stride = stride;
        one.batch = 1;
        const auto a = basis::evaluatePerplexity(*model, ids, one);
        for (int64_t batch : {int64_t(0), int64_t(3), int64_t(64)}) {
            basis::PplOptions many = one;
            many.batch = batch;
            const auto b = basis::evaluatePerplexity(*model, ids, many);
            EXPECT_EQ(b.batch, batch == 0 ? basis::autoBatch(*model, 512) : batch);
            EXPECT_EQ(a.windows, b.windows);
            EXPECT_EQ(a.tokens, b.tokens);
            EXPECT_NEAR(b.pplWindowMean, a.pplWindowMean, 1e-6 * a.pplWindowMean) << "stride " << stride << " batch " << batch;
            EXPECT_NEAR(b.pplTokenMean, a.pplTokenMean, 1e-6 * a.pplTokenMean) << "stride " << stride << " batch " << batch;
        }
    }
    basis::PplOptions bad;
    bad.batch = -1;
    EXPECT_THROW(basis::evaluatePerplexity(*model, ids, bad), basis::Error);
}

// Passes side by side (each on its own thread) give the numbers of one pass at a time: every window's loss comes
// from the same pass whichever worker runs it, and the sums are taken in window order. Tolerance 1e-6 relative
// (single-threaded and two-threaded GEMMs may round differently); the counts must match exactly.
TEST(Stories260K, SideBySidePassesEqualOneAtATime)
{
    BASIS_REQUIRE_SHARED(kModel);
    const auto dir = basis::test::sharedPath(kModel);
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    const auto ids = evalHead(dir);
    basis::PplOptions one;
    one.context = 512;
    one.batch = 2;
    one.workers = 1;
    const auto a = basis::evaluatePerplexity(*model, ids, one);
    EXPECT_EQ(a.workers, 1);
    basis::PplOptions side = one;
    side.workers = 3;
    ProgressProbe probe;
    const auto b = basis::evaluatePerplexity(*model, ids, side, probe.job());
    EXPECT_EQ(b.workers, 3);
    EXPECT_EQ(a.windows, b.windows);
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_NEAR(b.pplWindowMean, a.pplWindowMean, 1e-6 * a.pplWindowMean);
    EXPECT_NEAR(b.pplTokenMean, a.pplTokenMean, 1e-6 * a.pplTokenMean);
    EXPECT_FALSE(probe.elsewhere) << "progress must come from the caller's thread";
    EXPECT_EQ(probe.lastDone, b.windows);
    EXPECT_EQ(probe.lastTotal, b.windows);

    // More workers than passes: as many as there are passes (four full windows, one pass of 64).
    basis::PplOptions few = side;
    few.batch = 64;
    ASSERT_GE(ids.size(), 2048u);
    const std::vector<int64_t> four(ids.begin(), ids.begin() + 2048);
    EXPECT_EQ(basis::evaluatePerplexity(*model, four, few).workers, 1);

    // A cancel reaches the workers and comes back as basis::Cancelled on the caller's thread.
    basis::CancelToken token;
    token.cancel();
    basis::JobContext cancelled;
    cancelled.cancel = &token;
    EXPECT_THROW(basis::evaluatePerplexity(*model, ids, side, cancelled), basis::Cancelled);
}

// A layer at a time over many windows gives the numbers of whole forward passes to the last bit (the same
// operations on the same batches), in chunks of one pass or all windows at once, on one worker or several; the
// automatic choice follows the memory available; progress comes from the caller's thread and ends at the window
// count; a cancel stops it.
TEST(Stories260K, LayerwisePassesEqualWholePasses)
{
    BASIS_REQUIRE_SHARED(kModel);
    const auto dir = basis::test::sharedPath(kModel);
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    const auto ids = evalHead(dir);
    for (int64_t workers : {int64_t(1), int64_t(3)})
        for (int64_t stride : {int64_t(512), int64_t(384)}) {
            SCOPED_TRACE("workers " + std::to_string(workers) + ", stride " + std::to_string(stride));
            basis::PplOptions whole;
            whole.context = 512;
            whole.stride = stride;
            whole.batch = 2;
            whole.workers = workers;
            whole.passes = basis::PplPasses::Whole;
            const auto a = basis::evaluatePerplexity(*model, ids, whole);
            EXPECT_FALSE(a.layerwise);
            EXPECT_EQ(a.chunks, 0);
            for (int64_t bytes : {int64_t(1), int64_t(0)}) {   // a chunk per pass; every window in one chunk
                basis::PplOptions layerwise = whole;
                layerwise.passes = basis::PplPasses::Layerwise;
                layerwise.layerwiseBytes = bytes;
                ProgressProbe probe;
                const auto b = basis::evaluatePerplexity(*model, ids, layerwise, probe.job());
                EXPECT_TRUE(b.layerwise);
                if (bytes == 1)
                    EXPECT_GT(b.chunks, 3);
                else
                    EXPECT_EQ(b.chunks, 1);
                EXPECT_EQ(b.windows, a.windows);
                EXPECT_EQ(b.tokens, a.tokens);
                EXPECT_EQ(b.pplWindowMean, a.pplWindowMean);
                EXPECT_EQ(b.pplTokenMean, a.pplTokenMean);
                EXPECT_EQ(b.nll, a.nll);
                EXPECT_FALSE(probe.elsewhere);
                EXPECT_EQ(probe.lastDone, b.windows);
                EXPECT_EQ(probe.lastTotal, b.windows);
            }
        }
    // Auto: layerwise only when the weights (260,032 float32 parameters, about 1 MB) exceed the memory available.
    EXPECT_FALSE(basis::evaluatesLayerwise(*model, basis::PplPasses::Auto, 0));   // unknown
    EXPECT_FALSE(basis::evaluatesLayerwise(*model, basis::PplPasses::Auto, int64_t(2) << 20));
    EXPECT_TRUE(basis::evaluatesLayerwise(*model, basis::PplPasses::Auto, int64_t(512) << 10));
    EXPECT_TRUE(basis::evaluatesLayerwise(*model, basis::PplPasses::Layerwise, int64_t(1) << 40));
    EXPECT_FALSE(basis::evaluatesLayerwise(*model, basis::PplPasses::Whole, 1));
    EXPECT_EQ(basis::parsePasses("layerwise"), basis::PplPasses::Layerwise);
    EXPECT_THROW(basis::parsePasses("layers"), basis::Error);

    basis::CancelToken token;
    token.cancel();
    basis::JobContext cancelled;
    cancelled.cancel = &token;
    basis::PplOptions layerwise;
    layerwise.passes = basis::PplPasses::Layerwise;
    EXPECT_THROW(basis::evaluatePerplexity(*model, ids, layerwise, cancelled), basis::Cancelled);
}

// runSideBySide runs every task once, on more than one thread, and hands the first failure back to the caller.
TEST(SideBySide, RunsEveryTaskOnceOnSeveralThreadsAndRethrows)
{
    constexpr size_t kTasks = 40;
    std::vector<std::atomic<int>> runs(kTasks);
    std::mutex m;
    std::set<std::thread::id> threads;
    std::atomic<bool> secondStarted{false};
    basis::runSideBySide(kTasks, 2, [&](size_t i) {
        {
            std::lock_guard<std::mutex> lock(m);
            threads.insert(std::this_thread::get_id());
        }
        ++runs[i];
        if (i != 0) {
            secondStarted = true;
            return;
        }
        // Task 0 waits for another task to start: run one after the other, none would (10 s bound, then it fails).
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!secondStarted && std::chrono::steady_clock::now() < until)
            std::this_thread::yield();
    });
    for (size_t i = 0; i < kTasks; ++i)
        EXPECT_EQ(runs[i].load(), 1) << "task " << i;
    EXPECT_TRUE(secondStarted.load());
    EXPECT_GE(threads.size(), 2u);

    std::atomic<int> started{0};
    EXPECT_THROW(basis::runSideBySide(kTasks, 2, [&](size_t i) {
        ++started;
        if (i == 3)
            throw basis::Error("task 3 failed");
    }), basis::Error);
    EXPECT_LE(started.load(), static_cast<int>(kTasks));

    size_t serial = 0;
    basis::runSideBySide(5, 1, [&](size_t i) { EXPECT_EQ(i, serial++); });
    EXPECT_EQ(serial, 5u);
}

} // namespace
