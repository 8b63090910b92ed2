// The feature-space methods on stories260K (its SentencePiece tokenizer: this suite is named into the ASan run's
// test_stories260k exclusion): the factors against independent decompositions, exact counts, save/load and dense
// export; the calibration cache's sums and the recalibration of an older cache; the rank search and its resume; the
// YAML keys.
#include "test_support.h"

#include "atomic_file.h"
#include "calibration_job.h"
#include "compress.h"
#include "compressed_io.h"
#include "config_jobs.h"
#include "decoder_model.h"
#include "error.h"
#include "feature_space_factorize.h"
#include "feature_space_plan.h"
#include "perplexity.h"
#include "rank_search.h"
#include "run_config.h"
#include "tokenizer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using basis::test::expectError;
namespace fs = std::filesystem;
const char* kStories = "models/stories260K/hf";
const char* kCalib = "data/tinystories-valid/calib.txt";

std::vector<int64_t> calibIds(const basis::DecoderModel& model)
{
    auto tok = basis::loadTokenizer(model.dir());
    return basis::tokenizeForEvaluation(*tok, basis::readFile(basis::test::sharedPath(kCalib)), basis::BosPolicy::Auto);
}

// The first 40 chunks of 128 tokens of calib.txt: small enough for a fast test.
basis::CalibrationStats storiesStats(basis::DecoderModel& model)
{
    basis::CalibrationOptions o;
    o.context = 128;
    o.samples = 40;
    return basis::collectStatistics(model, basis::calibrationChunks(calibIds(model), o), 4);
}

double rel(const at::Tensor& a, const at::Tensor& b)
{
    return (a - b).abs().max().item<double>() / std::max(1e-30, b.abs().max().item<double>());
}

at::Tensor descending(const at::Tensor& symmetric, at::Tensor* vectors)
{
    auto [values, v] = at::linalg_eigh(symmetric);
    *vectors = v.flip(1);
    return values.flip(0).clamp_min(0);
}

int64_t countByHand(const at::Tensor& spectrum, double e)
{
    const double total = spectrum.sum().item<double>();
    double kept = 0;
    int64_t r = 0;
    while (r < spectrum.numel() && kept / total < e)
        kept += spectrum[r++].item<double>();
    return r;
}

// Every method on stories260K: each factorized projection holds what the definition gives, computed here again
// from W, G, s and N (eigenvectors of W G W^T, of W C_x W^T, or W's SVD), at the rank a count by hand gives; the
// model holds exactly the plan's parameters; a saved model loads to the same logits and exports densely.
TEST(Stories260kFeatureSpace, FactorsCountsSaveLoadAndDenseExport)
{
    BASIS_REQUIRE_SHARED(kStories);
    const fs::path dir = basis::test::sharedPath(kStories);
    auto dense = basis::DecoderModel::load(dir);
    const basis::CalibrationStats stats = storiesStats(*dense);
    const std::vector<int64_t> all = calibIds(*dense);
    const at::Tensor ids = at::tensor(std::vector<int64_t>(all.begin(), all.begin() + 256)).view({2, 128});
    const at::Tensor denseLogits = dense->forward(ids);
    struct Case {
        std::string method;
        double energy, fraction;
    };
    for (const Case& c : {Case{"utilized", 0.95, 0}, Case{"hybrid", 0.95, 0}, Case{"weight-svd", 0.9, 0},
                          Case{"sfsd", 0, 0.5}, Case{"sfsd", 0.95, 0}}) {
        SCOPED_TRACE(c.method + " e " + std::to_string(c.energy) + " f " + std::to_string(c.fraction));
        basis::CompressionSettings s;
        s.method = c.method;
        if (c.energy > 0)
            s.featureSpace.energy = c.energy;
        else
            s.featureSpace.fraction = c.fraction;
        auto model = basis::DecoderModel::load(dir);
        const basis::CompressionSettings resolved = basis::resolveFeatureSpaceRanks(*model, &stats, s);
        const basis::CompressionPlan plan = basis::planCompression(model->config(), model->table(), resolved);
        const basis::CompressionResult result = basis::compressModel(*model, &stats, plan);
        EXPECT_EQ(model->parameterCount(), plan.modelAfter);
        int64_t factorized = 0;
        for (int64_t l = 0; l < model->layerCount(); ++l)
            for (size_t i = 0; i < model->table().projections.size(); ++i) {
                const basis::ProjectionSpec& p = model->table().projections[i];
                const at::Tensor w = dense->slot(l, i).weightInOut().t().to(at::kDouble);   // m x d
                const at::Tensor g = stats.at(l, p.site);
                at::Tensor vectors, spectrum, reference;
                if (c.method == "weight-svd" || c.method == "hybrid") {
                    auto [u, sv, vh] = at::linalg_svd(w, false);
                    if (c.method == "weight-svd")
                        spectrum = sv * sv;
                    else
                        spectrum = descending(at::matmul(at::matmul(w, g), w.t()), &vectors);
                } else if (c.method == "utilized") {
                    spectrum = descending(at::matmul(at::matmul(w, g), w.t()), &vectors);
                } else {
                    const int64_t n = stats.count[l][static_cast<size_t>(p.site)];
                    const at::Tensor mu = stats.sum[l][static_cast<size_t>(p.site)] / double(n);
                    spectrum = descending(at::matmul(at::matmul(w, g / double(n) - at::outer(mu, mu)), w.t()), &vectors);
                }
                const int64_t r = c.fraction > 0 ? std::max<int64_t>(1, int64_t(c.fraction * basis::breakEvenRank(p.out, p.in)))
                                                 : countByHand(spectrum, c.energy);
                const basis::LinearSlot& slot = model->slot(l, i);
                ASSERT_EQ(slot.isFactorized(), basis::factorizationPays(r, p.out, p.in)) << p.part << " layer " << l;
                if (!slot.isFactorized()) {
                    EXPECT_TRUE(at::equal(slot.weight(), dense->slot(l, i).weight()));
                    continue;
                }
                ++factorized;
                EXPECT_EQ(slot.coeff().size(0), r);
                const bool svdFactors = c.method == "weight-svd" || c.method == "hybrid";
                const at::Tensor vr = svdFactors ? at::Tensor() : vectors.narrow(1, 0, r);
                if (svdFactors) {
                    auto [u, sv, vh] = at::linalg_svd(w, false);
                    reference = at::matmul(u.narrow(1, 0, r) * sv.narrow(0, 0, r), vh.narrow(0, 0, r));
                } else {
                    reference = at::matmul(vr, at::matmul(vr.t(), w));   // U_r U_r^T W or V_r V_r^T W
                }
                EXPECT_LT(rel(slot.weightInOut().t().to(at::kDouble), reference), 1e-4) << p.part << " layer " << l;
                if (c.method == "sfsd") {
                    const int64_t n = stats.count[l][static_cast<size_t>(p.site)];
                    const at::Tensor muY = at::matmul(w, stats.sum[l][static_cast<size_t>(p.site)] / double(n));
                    const at::Tensor bias = muY - at::matmul(vr, at::matmul(vr.t(), muY));   // LLaMA: b = 0
                    ASSERT_TRUE(slot.bias().defined());
                    EXPECT_LT(rel(slot.bias().to(at::kDouble), bias), 1e-4);
                }
            }
        EXPECT_GT(factorized, 0);

        const fs::path out = basis::test::scratchDir("fs-save-" + c.method);
        basis::saveCompressedModel(*model, result, out / "model");
        auto loaded = basis::DecoderModel::load(out / "model");
        EXPECT_EQ(loaded->parameterCount(), plan.modelAfter);
        const at::Tensor logits = model->forward(ids);
        // Every tensor is read back bit for bit; the logits agree to float32 rounding only, because the loaded
        // factors are memory-mapped at the file's (4-byte) offsets and this machine's OpenBLAS kernels round
        // differently on unaligned data (1e-6 of the largest logit measured).
        for (int64_t l = 0; l < model->layerCount(); ++l)
            for (size_t i = 0; i < model->table().projections.size(); ++i) {
                const basis::LinearSlot &a = model->slot(l, i), &b = loaded->slot(l, i);
                ASSERT_EQ(a.isFactorized(), b.isFactorized());
                for (auto [x, y] : {std::pair{a.weight(), b.weight()}, {a.basis(), b.basis()}, {a.coeff(), b.coeff()}, {a.bias(), b.bias()}}) {
                    ASSERT_EQ(x.defined(), y.defined());
                    if (x.defined()) {
                        EXPECT_TRUE(at::equal(x, y)) << model->table().projections[i].part << " layer " << l;
                    }
                }
            }
        EXPECT_LT(rel(loaded->forward(ids), logits), 1e-5);
        EXPECT_EQ(loaded->config().raw.at("compression").at("method"), c.method);
        const nlohmann::json& recorded = loaded->config().raw.at("compression").at("feature_space");
        EXPECT_EQ(recorded.at("policy"), "uniform");
        EXPECT_EQ(recorded.contains("fraction"), c.fraction > 0);
        EXPECT_GT(rel(logits, denseLogits), 1e-4);   // compressed, not the dense model
        basis::exportDense(*loaded, out / "dense");
        auto exported = basis::DecoderModel::load(out / "dense");
        EXPECT_FALSE(exported->slot(0, 0).isFactorized());
        EXPECT_LT(rel(exported->forward(ids), logits), 1e-5);
        const nlohmann::json config = basis::readJsonFile(out / "dense" / "config.json");
        EXPECT_EQ(config.value("attention_bias", false), c.method == "sfsd");   // b' declared for a dense LLaMA
        fs::remove_all(out);
    }
}

// s and N round-trip through the cache; a cache written before them (format 1, H alone) loads without means, the
// mean is refused with the reason, and calibrateFromText says so and recalibrates instead of reusing it.
TEST(Stories260kFeatureSpace, CacheKeepsSumsAndRecalibratesAnOlderOne)
{
    BASIS_REQUIRE_SHARED(kStories);
    auto model = basis::DecoderModel::load(basis::test::sharedPath(kStories));
    auto tok = basis::loadTokenizer(model->dir());
    const fs::path cache = basis::test::scratchDir("fs-cache");
    basis::CalibrationRequest r;
    r.text = basis::test::sharedPath(kCalib);
    r.options.context = 128;
    r.options.samples = 8;
    r.cacheDir = cache;
    const auto first = basis::calibrateFromText(*model, *tok, r);
    EXPECT_FALSE(first.reused);
    ASSERT_TRUE(first.stats.hasMeans());
    EXPECT_EQ(first.stats.count[0][0], 8 * 128);
    const auto again = basis::calibrateFromText(*model, *tok, r);
    EXPECT_TRUE(again.reused);
    EXPECT_TRUE(at::equal(again.stats.sum[2][2], first.stats.sum[2][2]));
    EXPECT_EQ(again.stats.count, first.stats.count);

    basis::CalibrationStats old = first.stats;   // as an older version wrote it
    old.sum.clear();
    old.count.clear();
    basis::saveCalibration(cache, old, first.identity);
    EXPECT_FALSE(basis::hasInputSums(cache));
    const basis::CalibrationStats loaded = basis::loadCalibrationFor(*model, cache);
    EXPECT_FALSE(loaded.hasMeans());
    expectError([&] { loaded.mean(0, basis::InputSite::AttnIn); }, {"lack the input sums s and token counts N", "recalibrate"});
    expectError([&] { basis::decomposeSlot("sfsd", *model, 0, 0, &loaded); }, {"lack the input sums"});
    std::vector<std::string> notes;
    const auto redone = basis::calibrateFromText(*model, *tok, r, basis::JobContext{{}, nullptr, [&](const std::string& n) {
                                                     notes.push_back(n);
                                                 }});
    EXPECT_FALSE(redone.reused);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_NE(notes[0].find("written before calibration stored the input sums"), std::string::npos) << notes[0];
    EXPECT_TRUE(basis::hasInputSums(cache));
    EXPECT_TRUE(at::equal(redone.stats.sum[2][2], first.stats.sum[2][2]));
    fs::remove_all(cache);
}

basis::SearchOptions searchOptions(const fs::path& dir)
{
    basis::SearchOptions o;
    o.searchTokens = 2048;
    o.context = 256;
    o.delta = 0.05;
    o.startLayer = 3;
    o.out = dir / "ranks.json";
    return o;
}

// The search visits the last layer first (down, up, gate, o, v, k, q), each projection from f = 0.1 up; cancelled
// after five trials and run again on its log it makes the same trials and ranks as an uninterrupted search; its
// ranks file, given to compress, makes the model whose perplexity the search reported.
TEST(Stories260kFeatureSpace, SearchResumedAfterCancelEqualsUninterrupted)
{
    BASIS_REQUIRE_SHARED(kStories);
    const fs::path dir = basis::test::scratchDir("fs-search");
    const fs::path modelDir = basis::test::sharedPath(kStories);
    auto dense = basis::DecoderModel::load(modelDir);
    const basis::CalibrationStats stats = storiesStats(*dense);
    const std::vector<int64_t> ids = calibIds(*dense);

    basis::SearchOptions whole = searchOptions(dir / "whole");
    fs::create_directories(dir / "whole");
    auto m1 = basis::DecoderModel::load(modelDir);
    const basis::SearchSummary a = basis::surgicalRankSearch(*m1, stats, ids, whole);
    ASSERT_FALSE(a.trials.empty());
    EXPECT_EQ(a.trials[0].layer, 4);
    EXPECT_EQ(a.trials[0].part, "down");
    EXPECT_DOUBLE_EQ(a.trials[0].fraction, 0.1);
    EXPECT_LE(a.finalPpl, a.basePpl * 1.05);
    for (int64_t l = 0; l < 3; ++l)
        EXPECT_EQ(a.ranks.at("q")[static_cast<size_t>(l)], basis::kDenseRank);   // below start-layer

    basis::SearchOptions part = searchOptions(dir / "part");
    fs::create_directories(dir / "part");
    basis::CancelToken token;
    int seen = 0;
    auto m2 = basis::DecoderModel::load(modelDir);
    EXPECT_THROW(basis::surgicalRankSearch(*m2, stats, ids, part, basis::JobContext{{}, &token, {}},
                                           [&](const basis::SearchTrial&) {
                                               if (++seen == 5)
                                                   token.cancel();
                                           }),
                 basis::Cancelled);
    EXPECT_FALSE(fs::exists(part.out));
    auto m3 = basis::DecoderModel::load(modelDir);
    const basis::SearchSummary b = basis::surgicalRankSearch(*m3, stats, ids, part);
    EXPECT_EQ(b.resumedTrials, 5);
    EXPECT_EQ(b.ranks, a.ranks);
    ASSERT_EQ(b.trials.size(), a.trials.size());
    for (size_t i = 0; i < a.trials.size(); ++i) {
        EXPECT_EQ(b.trials[i].part, a.trials[i].part);
        EXPECT_EQ(b.trials[i].rank, a.trials[i].rank);
        EXPECT_EQ(b.trials[i].accepted, a.trials[i].accepted);
        EXPECT_NEAR(b.trials[i].ppl, a.trials[i].ppl, 1e-9 * a.trials[i].ppl);
    }
    EXPECT_NEAR(b.finalPpl, a.finalPpl, 1e-9 * a.finalPpl);

    // The ranks file through compress: the same model as the search ended with.
    basis::CompressionSettings s;
    s.method = "sfsd";
    s.featureSpace.ranksFile = whole.out;
    auto m4 = basis::DecoderModel::load(modelDir);
    const auto plan = basis::planCompression(m4->config(), m4->table(), basis::resolveFeatureSpaceRanks(*m4, &stats, s));
    basis::compressModel(*m4, &stats, plan);
    EXPECT_EQ(m4->parameterCount(), a.parametersAfter);
    basis::PplOptions ppl;
    ppl.context = ppl.stride = 256;
    const std::vector<int64_t> first(ids.begin(), ids.begin() + 2048);
    EXPECT_NEAR(basis::evaluatePerplexity(*m4, first, ppl).ppl, a.finalPpl, 1e-9 * a.finalPpl);

    // A log of another search is not continued.
    basis::SearchOptions other = whole;
    other.delta = 0.2;
    auto m5 = basis::DecoderModel::load(modelDir);
    expectError([&] { basis::surgicalRankSearch(*m5, stats, ids, other); }, {"written by another search", "delta"});
    fs::remove_all(dir);
}

// The YAML keys reach the compression settings, and their values change the plan; bad values name the key.
TEST(Stories260kFeatureSpace, YamlKeysReachTheSettings)
{
    BASIS_REQUIRE_SHARED(kStories);
    const std::string base = "calibration_args:\n  dataset_name: tinystories\nbasis_studio:\n  model_path: /tmp/m\n  method: sfsd\n";
    const basis::RunConfig c = basis::parseRunConfig(base + "  fraction: 0.7\n  policy: mlp_heavier\n", "a.yaml").config;
    const basis::CompressOptions o = basis::compressOptionsFrom(c);
    EXPECT_EQ(o.settings.featureSpace.fraction.value(), 0.7);
    EXPECT_EQ(o.settings.featureSpace.policy, "mlp_heavier");
    EXPECT_EQ(basis::parseRunConfig(basis::writeRunConfig(c), "b.yaml").config, c);
    const basis::ModelConfig mc = basis::parseModelConfig(basis::test::sharedPath(kStories) / "config.json");
    const basis::ArchTable table = basis::archTable(mc);
    const auto p7 = basis::planCompression(mc, table, o.settings);
    const auto p5 = basis::planCompression(
        mc, table, basis::compressOptionsFrom(basis::parseRunConfig(base + "  fraction: 0.5\n  policy: mlp_heavier\n", "c.yaml").config).settings);
    const auto p7u = basis::planCompression(
        mc, table, basis::compressOptionsFrom(basis::parseRunConfig(base + "  fraction: 0.7\n", "d.yaml").config).settings);
    EXPECT_LT(p5.modelAfter, p7.modelAfter);
    EXPECT_NE(p7u.modelAfter, p7.modelAfter);
    const basis::RunConfig e = basis::parseRunConfig(base + "  energy: 0.9\n", "e.yaml").config;
    EXPECT_EQ(basis::compressOptionsFrom(e).settings.featureSpace.energy.value(), 0.9);
    const basis::RunConfig rf = basis::parseRunConfig(base + "  ranks: r.json\n", "e.yaml").config;
    EXPECT_EQ(basis::compressOptionsFrom(rf).settings.featureSpace.ranksFile, "r.json");
    expectError([&] { basis::parseRunConfig(base + "  energy: 0.9\n  ranks: r.json\n", "e.yaml"); },
                {"give one of --energy, --fraction and --ranks"});
    expectError([&] { basis::parseRunConfig(base + "  energy: 1.5\n", "f.yaml"); }, {"f.yaml", "energy must be in (0, 1]"});
    expectError([&] { basis::parseRunConfig(base + "  fraction: 1\n", "g.yaml"); }, {"fraction must be in (0, 1)"});
    expectError([&] { basis::parseRunConfig(base + "  policy: attn\n", "h.yaml"); }, {"unknown rank policy 'attn'"});
    expectError([&] { basis::parseRunConfig("calibration_args:\n  dataset_name: tinystories\nbasis_studio:\n  model_path: /tmp/m\n  energy: 0.9\n", "i.yaml"); },
                {"not of basis-sharing"});
}

} // namespace
