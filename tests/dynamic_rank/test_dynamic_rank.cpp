// Dynamic rank: every figure is compared with an independent computation on the same model (a model with prefix
// factors, masked coefficients, a full-window forward, the masks themselves), tolerances stated per test.
#include "test_support.h"

#include "calibration.h"
#include "channel_order.h"
#include "compress.h"
#include "compressed_io.h"
#include "compression_plan.h"
#include "decoder_model.h"
#include "dynamic_rank.h"
#include "dynamic_rank_eval.h"
#include "kv_cache.h"
#include "perplexity.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <random>

namespace {

using namespace basis;

const char* kModel = "models/stories260K/hf";

// Reproducible token ids from the model's vocabulary (the maths needs no real text).
std::vector<int64_t> pseudoText(int64_t n, int64_t vocab, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::vector<int64_t> ids(static_cast<size_t>(n));
    for (auto& id : ids)
        id = static_cast<int64_t>(rng() % static_cast<uint64_t>(vocab));
    return ids;
}

struct Compressed {
    std::unique_ptr<DecoderModel> model;
    CalibrationStats stats;
    CompressionResult result;
};

// stories260K compressed by basis-sharing at 20 %, g = 2 (q, k, v, up, gate shared; o, down private), channels
// not yet ordered.
Compressed compressStories(const std::string& method = "basis-sharing")
{
    Compressed c;
    c.model = DecoderModel::load(test::sharedPath(kModel));
    const auto ids = pseudoText(4 * 128, c.model->config().vocabSize, 7);
    CalibrationOptions o;
    o.context = 128;
    c.stats = collectStatistics(*c.model, calibrationChunks(ids, o), 2);
    CompressionSettings s;
    s.method = method;
    s.ratio = 20;
    s.groupSize = method == "basis-sharing" ? 2 : 1;
    const auto plan = planCompression(c.model->config(), c.model->table(), s, 4);
    c.result = compressModel(*c.model, &c.stats, plan);
    return c;
}

at::Tensor logitsOf(const DecoderModel& m, const std::vector<int64_t>& ids)
{
    c10::InferenceMode inference;
    return m.forward(at::tensor(ids, at::kLong).unsqueeze(0));
}

double maxDiff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// float32 logits of magnitude ~10 carry ~1e-6 of rounding per operation: the 1e-5 tolerances are relative to the
// largest logit.
double relDiff(const at::Tensor& a, const at::Tensor& ref) { return maxDiff(a, ref) / ref.abs().max().item<double>(); }

RankSettings settings(RankStrategy s, double rho, double tau = 0, int64_t prompt = 16)
{
    RankSettings r;
    r.strategy = s;
    r.budget = rho;
    r.energy = tau;
    r.promptTokens = prompt;
    return r;
}

// prompt-adaptive needs its prefill first; the other strategies ignore it.
at::Tensor strategyLogits(DecoderModel& m, const RankSettings& s, const std::vector<int64_t>& ids, bool measuring)
{
    DynamicRank d(m, s);
    d.beginPrompt();
    logitsOf(m, ids);
    d.endPrompt();
    d.setMeasuring(measuring);
    return logitsOf(m, ids);
}

TEST(ChannelOrder, LeavesLogitsUnchangedForSharedAndPrivateGroups)
{
    BASIS_REQUIRE_SHARED(kModel);
    // basis-sharing reorders its shared groups; plain svd (no whitening) its private ones. (A whitened private group
    // is already in order: there s_j = sigma_j^2 / N, tested below.)
    for (const std::string method : {"basis-sharing", "svd"}) {
        Compressed c = compressStories(method);
        const auto ids = pseudoText(96, c.model->config().vocabSize, 11);
        const at::Tensor before = logitsOf(*c.model, ids);
        orderChannelsByImportance(*c.model, &c.stats, c.result);
        const at::Tensor after = logitsOf(*c.model, ids);
        std::printf("channel order (%s): max |logit difference| %.3g, relative %.3g\n", method.c_str(),
                    maxDiff(before, after), relDiff(after, before));
        EXPECT_LT(relDiff(after, before), 1e-5) << method;

        bool sharedMoved = false, privateMoved = false;
        for (const GroupResult& g : c.result.groups) {
            ASSERT_EQ(static_cast<int64_t>(g.channelOrder.size()), g.k) << g.part;
            for (size_t j = 1; j < g.channelImportance.size(); ++j)
                EXPECT_GE(g.channelImportance[j - 1], g.channelImportance[j]) << g.part << " channel " << j;
            bool moved = false;
            for (size_t j = 0; j < g.channelOrder.size(); ++j)
                moved = moved || g.channelOrder[j] != static_cast<int64_t>(j);
            (g.layers.size() > 1 ? sharedMoved : privateMoved) |= moved;
        }
        // The test means something only when the order differs from the factorizer's.
        if (method == "basis-sharing") {
            EXPECT_TRUE(sharedMoved);
            EXPECT_TRUE(c.model->slot(0, 0).basis().is_same(c.model->slot(1, 0).basis())) << "one shared tensor";
            const auto section = compressionSection(c.result);
            EXPECT_TRUE(section["parts"]["q"]["groups"][0].contains("channel_order"));
            EXPECT_EQ(section["parts"]["q"]["groups"][0]["channel_importance_source"], "calibration");
        } else {
            EXPECT_TRUE(privateMoved);
        }
    }
}

TEST(ChannelOrder, WhitenedPrivateGroupsKeepTheSingularValueOrder)
{
    BASIS_REQUIRE_SHARED(kModel);
    // B = S^-1 U diag(s), C = V^T with S^T S = H: (B^T H B)_jj ||C_j||^2 = s_j^2, so s_j = sigma_j^2 / N.
    Compressed c = compressStories();
    orderChannelsByImportance(*c.model, &c.stats, c.result);
    int checked = 0;
    for (const GroupResult& g : c.result.groups) {
        if (g.layers.size() != 1 || g.jitter != 0)
            continue;
        const double n = static_cast<double>(c.stats.tokens);
        for (int64_t j = 0; j < g.k; ++j) {
            const double sigma = g.singularValues[j].item<double>();
            EXPECT_NEAR(g.channelImportance[static_cast<size_t>(j)], sigma * sigma / n, 1e-4 * sigma * sigma / n)
                << g.part << " layer " << g.layers[0] << " channel " << j;
        }
        ++checked;
    }
    EXPECT_GT(checked, 0);
}

TEST(ChannelOrder, ImportanceIsTheMeanEnergyOverCalibrationTokens)
{
    BASIS_REQUIRE_SHARED(kModel);
    // s_j from the statistics against e_tj summed over the calibration tokens themselves (brute force).
    Compressed c = compressStories();
    orderChannelsByImportance(*c.model, &c.stats, c.result);
    const auto ids = pseudoText(4 * 128, c.model->config().vocabSize, 7);   // the calibration text
    const GroupResult& g = c.result.groups.front();   // q of layers 0 and 1
    ASSERT_EQ(g.part, c.model->table().projections[0].part);
    at::Tensor sum = at::zeros({g.k}, at::kDouble);
    // The inputs calibration saw: those of the dense model.
    auto dense = DecoderModel::load(test::sharedPath(kModel));
    dense->setInputObserver([&](int64_t layer, InputSite site, const at::Tensor& x) {
        if (site != c.model->table().projections[0].site || (layer != 0 && layer != 1))
            return;
        const LinearSlot& s = c.model->slot(layer, 0);
        const at::Tensor z = at::matmul(x.reshape({-1, x.size(-1)}).to(at::kDouble), s.basis().to(at::kDouble));
        sum += (z.pow(2) * s.coeff().to(at::kDouble).pow(2).sum(1)).sum(0);
    });
    for (int64_t i = 0; i < 4; ++i) {
        std::vector<int64_t> chunk(ids.begin() + i * 128, ids.begin() + (i + 1) * 128);
        logitsOf(*dense, chunk);
    }
    const at::Tensor brute = sum / (2.0 * 4 * 128);   // mean over tokens and the group's two layers
    const at::Tensor stored = at::tensor(g.channelImportance, at::kDouble);
    EXPECT_LT(((brute - stored).abs() / stored.abs().max()).max().item<double>(), 1e-5);
}

class Strategies : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        if (!std::filesystem::exists(test::sharedPath(kModel)))
            return;
        c = std::make_unique<Compressed>(compressStories());
        orderChannelsByImportance(*c->model, &c->stats, c->result);
    }
    static void TearDownTestSuite() { c.reset(); }
    void SetUp() override
    {
        if (!c)
            GTEST_SKIP() << "stories260K not found";
    }
    static std::unique_ptr<Compressed> c;
};
std::unique_ptr<Compressed> Strategies::c;

TEST_F(Strategies, RhoOneIsBaselineExactly)
{
    DecoderModel& m = *c->model;
    const auto ids = pseudoText(48, m.config().vocabSize, 3);
    const at::Tensor base = logitsOf(m, ids);
    for (RankStrategy s : {RankStrategy::Baseline, RankStrategy::GlobalStatic, RankStrategy::PromptAdaptive,
                           RankStrategy::PerToken})
        for (bool measuring : {false, true}) {
            const at::Tensor l = strategyLogits(m, settings(s, s == RankStrategy::Baseline ? 0 : 1.0), ids, measuring);
            EXPECT_TRUE(at::equal(l, base)) << rankStrategyName(s) << " measuring " << measuring << ": "
                                            << maxDiff(l, base);
        }
    EXPECT_TRUE(at::equal(logitsOf(m, ids), base)) << "hooks left behind";
}

TEST_F(Strategies, GlobalStaticIsTheModelWithPrefixRanks)
{
    DecoderModel& m = *c->model;
    const auto ids = pseudoText(48, m.config().vocabSize, 5);
    for (double rho : {0.75, 0.5, 0.1}) {
        const at::Tensor fast = strategyLogits(m, settings(RankStrategy::GlobalStatic, rho), ids, false);
        const at::Tensor measured = strategyLogits(m, settings(RankStrategy::GlobalStatic, rho), ids, true);
        auto prefix = DecoderModel::load(test::sharedPath(kModel));
        for (int64_t l = 0; l < m.layerCount(); ++l)
            for (size_t p = 0; p < m.layer(l).slots.size(); ++p) {
                const LinearSlot& s = m.slot(l, p);
                if (!s.isFactorized())
                    continue;
                const int64_t k = rankBudget(rho, s.basis().size(1));
                prefix->slot(l, p).setFactorized(s.basis().narrow(1, 0, k).contiguous(), s.coeff().narrow(0, 0, k).contiguous());
            }
        const at::Tensor ref = logitsOf(*prefix, ids);
        std::printf("global-static rho %.2f: max relative diff %.3g (fast) %.3g (measuring) vs the prefix-rank model\n",
                    rho, relDiff(fast, ref), relDiff(measured, ref));
        EXPECT_LT(relDiff(fast, ref), 1e-5) << rho;
        EXPECT_LT(relDiff(measured, ref), 1e-5) << rho;
        EXPECT_GT(maxDiff(ref, logitsOf(m, ids)), 1e-3) << "rho " << rho << " changed nothing";
    }
}

TEST_F(Strategies, PromptAdaptiveGatheredDecodeIsTheMaskedFullComputation)
{
    DecoderModel& m = *c->model;
    const auto prompt = pseudoText(24, m.config().vocabSize, 9);
    const auto decode = pseudoText(8, m.config().vocabSize, 10);
    for (RankSettings s : {settings(RankStrategy::PromptAdaptive, 0.5), settings(RankStrategy::PromptAdaptive, 0, 0.9)}) {
        c10::InferenceMode inference;
        std::vector<at::Tensor> gathered;
        std::map<std::pair<int64_t, size_t>, at::Tensor> kept;
        bool someNotPrefix = false;
        {
            DynamicRank d(m, s);
            KVCache cache;
            d.beginPrompt();
            m.forward(at::tensor(prompt, at::kLong).unsqueeze(0), &cache);
            d.endPrompt();
            for (int64_t id : decode)   // one token at a time through the cache: the decode path
                gathered.push_back(m.forward(at::full({1, 1}, id, at::kLong), &cache));
            for (int64_t l = 0; l < m.layerCount(); ++l)
                for (size_t p = 0; p < m.layer(l).slots.size(); ++p)
                    if (m.slot(l, p).isFactorized()) {
                        kept[{l, p}] = d.keptSet(l, p);
                        const at::Tensor k = kept[{l, p}];
                        someNotPrefix |= !k.equal(at::arange(k.numel(), at::kLong));
                    }
        }
        EXPECT_TRUE(someNotPrefix) << "every S is a prefix: the gather is not exercised";
        // Reference: the prompt at full rank, then every C_l with the rows outside S set to zero (z in full).
        KVCache cache;
        m.forward(at::tensor(prompt, at::kLong).unsqueeze(0), &cache);
        std::map<std::pair<int64_t, size_t>, at::Tensor> saved;
        for (const auto& [key, S] : kept) {
            LinearSlot& slot = m.slot(key.first, key.second);
            saved[key] = slot.coeff();
            at::Tensor mask = at::zeros({slot.coeff().size(0), 1}, slot.coeff().options());
            mask.index_fill_(0, S, 1.0);
            slot.setFactorized(slot.basis(), slot.coeff() * mask);
        }
        double worst = 0;
        for (size_t i = 0; i < decode.size(); ++i)
            worst = std::max(worst, relDiff(gathered[i], m.forward(at::full({1, 1}, decode[i], at::kLong), &cache)));
        for (const auto& [key, coeff] : saved)
            m.slot(key.first, key.second).setFactorized(m.slot(key.first, key.second).basis(), coeff);
        std::printf("prompt-adaptive (%s): gathered decode vs masked full computation, max relative diff %.3g\n",
                    s.budget > 0 ? "rho 0.5" : "tau 0.9", worst);
        EXPECT_LT(worst, 1e-5);
    }
}

TEST_F(Strategies, PerplexityScoresNoPromptTokenAndTheSameTokensForEveryStrategy)
{
    DecoderModel& m = *c->model;
    const auto ids = pseudoText(3 * 64 + 40, m.config().vocabSize, 13);   // 3 full windows and a short one
    PplOptions o;
    o.context = 64;
    const int64_t P = 16;
    std::vector<int64_t> first;
    for (RankSettings s : {settings(RankStrategy::Baseline, 0, 0, P), settings(RankStrategy::GlobalStatic, 0.5, 0, P),
                           settings(RankStrategy::PromptAdaptive, 0.5, 0, P), settings(RankStrategy::PerToken, 0, 0.95, P)}) {
        std::vector<int64_t> positions;
        const RankPplResult r = evaluateRankPerplexity(m, ids, o, s, {}, &positions);
        for (int64_t p : positions)
            EXPECT_GT(p % o.context, P) << rankStrategyName(s.strategy) << ": position " << p << " is in a prompt";
        EXPECT_EQ(r.ppl.tokens, 3 * (64 - P - 1) + (40 - P - 1));
        EXPECT_EQ(r.ppl.tokens, static_cast<int64_t>(positions.size()));
        if (first.empty())
            first = positions;
        EXPECT_EQ(positions, first) << rankStrategyName(s.strategy);
        for (const RankSlotStatistics& st : r.rank.projections)
            EXPECT_EQ(st.tokens, r.ppl.tokens) << "the strategy's tokens are the scored ones";
        if (s.strategy == RankStrategy::Baseline) {
            // Brute force: each window's full forward, the same targets scored.
            c10::InferenceMode inference;
            double nll = 0;
            for (int64_t begin = 0; begin < static_cast<int64_t>(ids.size()); begin += o.context) {
                const int64_t len = std::min<int64_t>(o.context, static_cast<int64_t>(ids.size()) - begin);
                const at::Tensor w = at::tensor(std::vector<int64_t>(ids.begin() + begin, ids.begin() + begin + len), at::kLong);
                const at::Tensor logp = at::log_softmax(m.forward(w.unsqueeze(0)).squeeze(0), -1);
                for (int64_t t = P + 1; t < len; ++t)
                    nll -= logp[t - 1][w[t].item<int64_t>()].item<double>();
            }
            nll /= static_cast<double>(r.ppl.tokens);
            EXPECT_NEAR(r.ppl.nll, nll, 1e-5 * nll);
            EXPECT_DOUBLE_EQ(r.rank.meanShare, 1.0);
            EXPECT_NEAR(r.rank.energyKept, 1.0, 1e-12);
        } else {
            EXPECT_LT(r.rank.energyKept, 1.0);
            EXPECT_LT(r.rank.meanShare, 1.0);
        }
    }
}

TEST_F(Strategies, MaskCaptureKPerTokenIsTheReportedMeanK)
{
    DecoderModel& m = *c->model;
    const auto ids = pseudoText(40, m.config().vocabSize, 17);
    for (RankSettings s : {settings(RankStrategy::PerToken, 0, 0.9), settings(RankStrategy::PromptAdaptive, 0.5),
                           settings(RankStrategy::GlobalStatic, 0.75), settings(RankStrategy::PerToken, 0.3)}) {
        const RankMaskCapture cap = captureRankMasks(m, ids, s);
        ASSERT_EQ(cap.masks.size(), cap.rank.projections.size());
        for (size_t i = 0; i < cap.masks.size(); ++i) {
            const RankMaskSummary& mk = cap.masks[i];
            ASSERT_EQ(mk.tokens, 40);
            double sumK = 0, kept = 0, total = 0;
            for (int64_t t = 0; t < mk.tokens; ++t) {
                sumK += static_cast<double>(mk.kPerToken[t]);
                // Brute force of the threshold: the kept set reaches tau, and is the smallest that does (the
                // kept channels are the largest ones).
                double tokKept = 0, tokTotal = 0, smallestKept = INFINITY, largestDropped = 0;
                for (int64_t j = 0; j < mk.rank; ++j) {
                    const double e = mk.energy[t * mk.rank + j];
                    tokTotal += e;
                    if (mk.keep[t * mk.rank + j]) {
                        tokKept += e;
                        smallestKept = std::min(smallestKept, e);
                    } else {
                        largestDropped = std::max(largestDropped, e);
                    }
                }
                if (s.strategy == RankStrategy::PerToken && s.energy > 0) {
                    EXPECT_GE(tokKept, s.energy * tokTotal * (1 - 1e-5));
                    EXPECT_LT(tokKept - smallestKept, s.energy * tokTotal * (1 + 1e-5));
                    EXPECT_LE(largestDropped, smallestKept * (1 + 1e-6));
                }
                if (s.strategy != RankStrategy::PerToken) {   // one set for every token
                    EXPECT_EQ(std::vector<uint8_t>(mk.keep.begin() + t * mk.rank, mk.keep.begin() + (t + 1) * mk.rank),
                              std::vector<uint8_t>(mk.keep.begin(), mk.keep.begin() + mk.rank));
                }
                kept += tokKept;
                total += tokTotal;
            }
            EXPECT_NEAR(sumK / 40.0, cap.rank.projections[i].meanK, 1e-9) << mk.part << " layer " << mk.layer;
            EXPECT_NEAR(kept / total, cap.rank.projections[i].energyKept, 1e-5) << mk.part << " layer " << mk.layer;
            if (s.strategy == RankStrategy::GlobalStatic) {
                EXPECT_DOUBLE_EQ(mk.prefixShare, 1.0);
                EXPECT_EQ(mk.kPerToken[0], rankBudget(0.75, mk.rank));
            }
            if (s.budget > 0) {
                EXPECT_EQ(mk.kPerToken[0], rankBudget(s.budget, mk.rank));
            }
        }
    }
}

TEST(RankSettings, BadValuesAreRefusedByName)
{
    auto check = [](RankSettings s) { checkRankSettings(s); };
    test::expectError([&] { check(settings(RankStrategy::GlobalStatic, 0)); }, {"--rank-strategy global-static", "--rank-budget"});
    test::expectError([&] { check(settings(RankStrategy::GlobalStatic, 0, 0.9)); }, {"global-static", "--rank-energy"});
    test::expectError([&] { check(settings(RankStrategy::PerToken, 1.5)); }, {"--rank-budget", "1.5"});
    test::expectError([&] { check(settings(RankStrategy::PerToken, 0, -0.1)); }, {"--rank-energy"});
    test::expectError([&] { check(settings(RankStrategy::PerToken, 0.5, 0.9)); }, {"not both"});
    test::expectError([&] { check(settings(RankStrategy::Baseline, 0.5)); }, {"baseline"});
    test::expectError([&] { check(settings(RankStrategy::PromptAdaptive, 0.5, 0, 0)); }, {"--prompt-tokens"});
    test::expectError([] { parseRankStrategy("dynamic"); }, {"--rank-strategy", "dynamic", "per-token"});
    EXPECT_EQ(rankBudget(0.5, 5), 3);   // round half away from zero
    EXPECT_EQ(rankBudget(0.01, 40), 1);
}

TEST(RankSettings, ADenseModelIsRefused)
{
    BASIS_REQUIRE_SHARED(kModel);
    auto m = DecoderModel::load(test::sharedPath(kModel));
    test::expectError([&] { DynamicRank d(*m, settings(RankStrategy::GlobalStatic, 0.5)); }, {"factorized", "stories260K"});
}

} // namespace
