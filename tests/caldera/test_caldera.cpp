// Quantized plus low rank (caldera, rtn, gptq; issue 14): the quantizer Q_b against a per-element reference, the
// Q steps, the LR step against the whitened truncated SVD and a brute-force grid, the kept iterate, the packed
// layout, bytes as stored, save -> load bit-identical, and the errors.
#include "test_support.h"

#include "atomic_file.h"
#include "caldera.h"
#include "calibration_job.h"
#include "compress.h"
#include "compressed_io.h"
#include "decoder_model.h"
#include "error.h"
#include "group_quantizer.h"
#include "model_config.h"
#include "safetensors.h"
#include "tokenizer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

namespace {

using basis::test::expectError;
namespace fs = std::filesystem;
const char* kStories = "models/stories260K/hf";

at::Tensor randn(std::vector<int64_t> shape, uint64_t seed)
{
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::randn(shape, gen, at::TensorOptions().dtype(at::kDouble));
}

// The Q_b written element by element (the reference the vectorised quantizer must match).
struct Reference {
    std::vector<std::vector<double>> codes, wHat;
};
Reference referenceQuantize(const at::Tensor& w, int64_t bits)
{
    const int64_t m = w.size(0), d = w.size(1);
    const double maxq = std::pow(2.0, static_cast<double>(bits)) - 1;
    auto a = w.accessor<double, 2>();
    Reference r;
    r.codes.assign(m, std::vector<double>(d));
    r.wHat = r.codes;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t g0 = 0; g0 < d; g0 += 64) {
            const int64_t g1 = std::min(d, g0 + 64);
            double lo = a[i][g0], hi = a[i][g0];
            for (int64_t j = g0; j < g1; ++j) {
                lo = std::min(lo, a[i][j]);
                hi = std::max(hi, a[i][j]);
            }
            double scale = hi == lo ? 1.0 : (hi - lo) / maxq;
            scale = at::scalar_tensor(scale, at::kDouble).to(at::kHalf).item<double>();   // stored as float16
            const double zero = std::nearbyint(-lo / scale);
            for (int64_t j = g0; j < g1; ++j) {
                const double q = std::clamp(std::nearbyint(a[i][j] / scale) + zero, 0.0, maxq);
                r.codes[i][j] = q;
                r.wHat[i][j] = (q - zero) * scale;
            }
        }
    return r;
}

void expectMatchesReference(const at::Tensor& w, int64_t bits)
{
    const basis::QuantizedRows q = basis::quantizeRtn(w, bits);
    const Reference ref = referenceQuantize(w, bits);
    const at::Tensor wHat = basis::dequantizeRows(q, at::kDouble);
    const at::Tensor codes = q.codes.to(at::kDouble);
    for (int64_t i = 0; i < w.size(0); ++i)
        for (int64_t j = 0; j < w.size(1); ++j) {
            ASSERT_EQ(codes[i][j].item<double>(), ref.codes[i][j]) << "bits " << bits << " at " << i << "," << j;
            ASSERT_EQ(wHat[i][j].item<double>(), ref.wHat[i][j]) << "bits " << bits << " at " << i << "," << j;
        }
}

TEST(Quantizer, MatchesTheElementwiseDefinitionWithAShortLastGroup)
{
    for (int64_t bits : {2, 3, 4, 8}) {
        expectMatchesReference(randn({7, 150}, 1), bits);   // groups of 64, 64 and a short 22
        expectMatchesReference(randn({3, 40}, 2), bits);    // one short group only
        const basis::QuantizedRows q = basis::quantizeRtn(randn({7, 150}, 1), bits);
        EXPECT_EQ(q.scales.sizes(), (at::IntArrayRef{7, 3}));
        EXPECT_EQ(q.scales.scalar_type(), at::kHalf);
        EXPECT_LE(q.codes.max().item<int64_t>(), (1 << bits) - 1);
    }
}

TEST(Quantizer, RoundTripsExactlyRepresentableValues)
{
    // Each group holds (q - z) s with a power-of-two s, its codes spanning 0 .. 2^b - 1, so min and max give s and z
    // back exactly and every value must come back bit for bit, the short last group included.
    for (int64_t bits : {2, 3, 4, 8}) {
        const int64_t maxq = (1 << bits) - 1, m = 5, d = 150;
        auto gen = at::make_generator<at::CPUGeneratorImpl>(bits);
        at::Tensor codes = at::randint(0, maxq + 1, {m, d}, gen, at::TensorOptions().dtype(at::kDouble));
        at::Tensor w = at::empty({m, d}, codes.options());
        for (int64_t g0 = 0; g0 < d; g0 += 64) {
            const int64_t c = std::min<int64_t>(64, d - g0);
            codes.narrow(1, g0, 1).fill_(0);
            codes.narrow(1, g0 + c - 1, 1).fill_(static_cast<double>(maxq));
            const double s = std::ldexp(1.0, -static_cast<int>(g0 / 64) - 3);
            const double z = static_cast<double>(maxq / 2);
            w.narrow(1, g0, c).copy_((codes.narrow(1, g0, c) - z) * s);
        }
        const basis::QuantizedRows q = basis::quantizeRtn(w, bits);
        EXPECT_TRUE(at::equal(basis::dequantizeRows(q, at::kDouble), w)) << bits << " bits";
        EXPECT_TRUE(at::equal(q.codes.to(at::kDouble), codes)) << bits << " bits";
    }
}

TEST(Quantizer, GroupsAreIndependentAndEndAtTheirBoundary)
{
    at::Tensor w = randn({4, 150}, 3);
    const basis::QuantizedRows before = basis::quantizeRtn(w, 3);
    at::Tensor changed = w.clone();
    changed.narrow(1, 64, 64).mul_(1000);   // the middle group only
    const basis::QuantizedRows after = basis::quantizeRtn(changed, 3);
    EXPECT_TRUE(at::equal(before.codes.narrow(1, 0, 64), after.codes.narrow(1, 0, 64)));
    EXPECT_TRUE(at::equal(before.codes.narrow(1, 128, 22), after.codes.narrow(1, 128, 22)));
    EXPECT_FALSE(at::equal(before.scales.select(1, 1), after.scales.select(1, 1)));
    EXPECT_TRUE(at::equal(before.scales.select(1, 2), after.scales.select(1, 2)));
    // The last group's scale is its own 22 columns' range.
    const at::Tensor last = w.narrow(1, 128, 22);
    const at::Tensor expected = ((last.amax(1) - last.amin(1)) / 7).to(at::kHalf);
    EXPECT_TRUE(at::equal(before.scales.select(1, 2), expected));
}

TEST(Quantizer, LdlqWithIdentityHEqualsRtn)
{
    const at::Tensor w = randn({9, 150}, 4);
    for (int64_t bits : {2, 3, 4, 8}) {
        const basis::QuantizedRows a = basis::quantizeRtn(w, bits);
        const basis::QuantizedRows b = basis::quantizeLdlq(w, at::eye(150, w.options()), bits);
        EXPECT_TRUE(at::equal(a.codes, b.codes)) << bits;
        EXPECT_TRUE(at::equal(a.scales, b.scales)) << bits;
        EXPECT_TRUE(at::equal(a.zeros, b.zeros)) << bits;
    }
}

TEST(Quantizer, LdlqLowersTheHErrorOfCorrelatedInputs)
{
    const at::Tensor x = at::matmul(randn({400, 80}, 5), randn({80, 80}, 6));   // correlated inputs
    const basis::SiteWhitening s = basis::siteWhitening(at::matmul(x.t(), x));
    const at::Tensor w = randn({16, 80}, 7);
    const double rtn = basis::relativeHError(w, basis::dequantizeRows(basis::quantizeRtn(w, 2), at::kDouble), {}, s);
    const double ldlq = basis::relativeHError(w, basis::dequantizeRows(basis::quantizeLdlq(w, s.h, 2), at::kDouble), {}, s);
    EXPECT_LT(ldlq, 0.9 * rtn);
}

TEST(Packing, RoundTripsAndFollowsTheDocumentedBitOrder)
{
    for (int64_t bits : {2, 3, 4, 8})
        for (int64_t d : {1, 64, 150}) {
            auto gen = at::make_generator<at::CPUGeneratorImpl>(bits * 1000 + d);
            const at::Tensor codes = at::randint(0, 1 << bits, {5, d}, gen, at::TensorOptions().dtype(at::kByte));
            const at::Tensor packed = basis::packCodes(codes, bits);
            EXPECT_EQ(packed.sizes(), (at::IntArrayRef{5, (d * bits + 7) / 8}));
            EXPECT_TRUE(at::equal(basis::unpackCodes(packed, d, bits), codes));
        }
    // Codes 1, 2, 3 at 2 bits: 01 | 10 << 2 | 11 << 4 = 0b111001. At 3 bits, 5 and 6: 101 | 110 << 3 = 0b110101.
    const at::Tensor two = basis::packCodes(at::tensor({1, 2, 3}, at::kByte).unsqueeze(0), 2);
    EXPECT_EQ(two[0][0].item<int64_t>(), 57);
    const at::Tensor three = basis::packCodes(at::tensor({5, 6, 7}, at::kByte).unsqueeze(0), 3);
    EXPECT_EQ(three.size(1), 2);
    EXPECT_EQ(three[0][0].item<int64_t>(), 0b11110101);   // 5 | 6 << 3 | the low 2 bits of 7 << 6
    EXPECT_EQ(three[0][1].item<int64_t>(), 1);            // the high bit of 7
}

basis::SiteWhitening correlatedSite(int64_t d, uint64_t seed)
{
    const at::Tensor x = at::matmul(randn({300, d}, seed), randn({d, d}, seed + 1));
    return basis::siteWhitening(at::matmul(x.t(), x));
}

TEST(LowRankStep, WithZeroQIsTheWhitenedTruncatedSvd)
{
    const int64_t m = 6, d = 5, k = 2;
    const basis::SiteWhitening s = correlatedSite(d, 10);
    const at::Tensor w = randn({m, d}, 12);
    const basis::LowRank lr = basis::lowRankStep(w, s, k, at::kDouble);
    // The same optimum through another factor of H (Cholesky, H = C C^T): (W C)_k C^-1.
    const at::Tensor c = at::linalg_cholesky(s.h);
    auto [u, sv, vh] = at::linalg_svd(at::matmul(w, c), false);
    const at::Tensor best = at::matmul(u.narrow(1, 0, k) * sv.narrow(0, 0, k), vh.narrow(0, 0, k));
    const at::Tensor viaCholesky = at::linalg_solve_triangular(c, best, /*upper=*/false, /*left=*/false);
    EXPECT_LT((at::matmul(lr.l, lr.r) - viaCholesky).abs().max().item<double>(), 1e-10);
    const double tail = sv.narrow(0, k, d - k).pow(2).sum().sqrt().item<double>();
    EXPECT_NEAR(at::matmul(w - at::matmul(lr.l, lr.r), s.half).norm().item<double>(), tail, 1e-10);
    // Stored in float16 (the 16-bit factors), the fit moves by float16's rounding only.
    const basis::LowRank half = basis::lowRankStep(w, s, k, at::kHalf);
    EXPECT_LT((at::matmul(half.l, half.r) - viaCholesky).abs().max().item<double>(), 2e-3 * w.abs().max().item<double>());
}

TEST(LowRankStep, BeatsEveryRankOneMatrixOfABruteForceGrid)
{
    // 2 x 2, k = 1: every rank-1 matrix is a u(theta) v(phi)^T with the best a in closed form; a 720 x 720 grid of
    // directions must not beat the LR step, and its best must come within the grid's resolution.
    const basis::SiteWhitening s = correlatedSite(2, 20);
    const at::Tensor w = randn({2, 2}, 22);
    const basis::LowRank lr = basis::lowRankStep(w, s, 1, at::kDouble);
    const double ours = at::matmul(w - at::matmul(lr.l, lr.r), s.half).norm().item<double>();
    const int64_t n = 720;
    const at::Tensor t = at::arange(n, at::TensorOptions().dtype(at::kDouble)) * (M_PI / n);
    const at::Tensor th = t.view({n, 1}).expand({n, n}).reshape({-1}), ph = t.view({1, n}).expand({n, n}).reshape({-1});
    const at::Tensor u = at::stack({th.cos(), th.sin()}, 1), v = at::stack({ph.cos(), ph.sin()}, 1);   // N x 2
    const at::Tensor a = at::matmul(w, s.half), vh = at::matmul(v, s.half);                           // v^T H^1/2
    // ||A - a u (v^T H^1/2)||^2 minimised over a: a = u^T A b / ||b||^2, b = H^1/2 v.
    const at::Tensor uA = at::matmul(u, a);                                   // N x 2: u^T A
    const at::Tensor num = (uA * vh).sum(1), den = vh.pow(2).sum(1);
    const at::Tensor err2 = a.pow(2).sum() - num.pow(2) / den;
    const double grid = err2.clamp_min(0).min().sqrt().item<double>();
    EXPECT_GE(grid, ours - 1e-12);
    EXPECT_LT(grid, ours + 1e-2 * a.norm().item<double>());
}

TEST(Caldera, KeepsTheBestIterateAndItsErrorIsTheStoredOnes)
{
    const basis::SiteWhitening s = correlatedSite(100, 30);
    const at::Tensor w = randn({32, 100}, 32);
    for (const char* step : {"rtn", "ldlq"}) {
        basis::QuantSettings q;
        q.bits = 2;
        q.rank = 4;
        q.qStep = step;
        q.iters = 6;
        const basis::CalderaResult r = basis::caldera(w, s, q, q.rank);
        ASSERT_EQ(r.errors.size(), 6u);
        for (double e : r.errors)
            EXPECT_GE(e, r.errors[r.best]) << step;
        // The kept Q and L R (as stored, float16 factors) give exactly the reported error.
        const double again = basis::relativeHError(w, basis::dequantizeRows(r.q, at::kDouble), r.lr, s);
        EXPECT_DOUBLE_EQ(again, r.errors[r.best]) << step;
        EXPECT_EQ(r.lr.l.sizes(), (at::IntArrayRef{32, 4}));
        // The low-rank correction helps: better than Q alone at the same bits.
        basis::QuantSettings plain = q;
        plain.rank = 0;
        plain.iters = 1;
        EXPECT_LT(r.errors[r.best], basis::caldera(w, s, plain, 0).errors[0]) << step;
    }
    // k = 0 and rtn is round to nearest itself.
    basis::QuantSettings rtn;
    rtn.rank = 0;
    rtn.iters = 1;
    const basis::CalderaResult r = basis::caldera(w, s, rtn, 0);
    EXPECT_TRUE(at::equal(r.q.codes, basis::quantizeRtn(w, 4).codes));
}

TEST(Caldera, RefusesBadBitsAndRank)
{
    const basis::SiteWhitening s = correlatedSite(10, 40);
    basis::QuantSettings q;
    q.bits = 5;
    expectError([&] { basis::caldera(randn({6, 10}, 41), s, q, 2); }, {"bits must be 2, 3, 4 or 8", "got 5"});
    q.bits = 4;
    expectError([&] { basis::caldera(randn({6, 10}, 41), s, q, 7); }, {"rank 7", "above min(m, d) = 6"});
    q.qStep = "gptq";
    expectError([&] { basis::caldera(randn({6, 10}, 41), s, q, 2); }, {"q step must be rtn or ldlq"});
}

TEST(Plan, BytesAndBitsPerWeightOfCalderaOnStories260k)
{
    BASIS_REQUIRE_SHARED(kStories);
    const basis::ModelConfig config = basis::parseModelConfig(basis::test::sharedPath(kStories) / "config.json");
    const basis::ArchTable table = basis::archTable(config);
    struct {
        const basis::ModelConfig& config() const { return c; }
        const basis::ArchTable& table() const { return t; }
        const basis::ModelConfig& c;
        const basis::ArchTable& t;
    } view{config, table};
    auto* model = &view;
    basis::CompressionSettings s;
    s.method = "caldera";
    s.quant.bits = 3;
    s.quant.rank = 8;
    const auto plan = basis::planCompression(model->config(), model->table(), s);
    int64_t bytes = 0, weights = 0;
    double formula = 0;
    for (const auto& p : plan.parts) {
        ASSERT_TRUE(p.compressed);
        const int64_t m = p.spec->out, d = p.spec->in, groups = (d + 63) / 64;
        bytes += model->config().layers * (m * ((3 * d + 7) / 8) + 4 * m * groups + 2 * 8 * (m + d));
        weights += model->config().layers * m * d;
        formula += model->config().layers * m * d * (3 + 0.5 + 16.0 * 8 * (m + d) / static_cast<double>(m * d));
    }
    EXPECT_EQ(plan.targetBytesAfter, bytes);
    EXPECT_EQ(plan.targetBytesBefore, 4 * weights);
    EXPECT_DOUBLE_EQ(plan.bitsPerWeight(), 8.0 * bytes / weights);
    EXPECT_NEAR(plan.bitsPerWeightFormula, formula / weights, 1e-12);
    EXPECT_EQ(plan.modelBytesBefore - plan.modelBytesAfter, plan.targetBytesBefore - plan.targetBytesAfter);
    // Q counts as m d weights: caldera holds more parameters than the dense model but far fewer bytes.
    EXPECT_GT(plan.modelAfter, plan.modelBefore);
    // bfloat16 dense weights halve the "before" bytes, not the packed ones.
    EXPECT_EQ(basis::planCompression(model->config(), model->table(), s, 2).targetBytesBefore, 2 * weights);
    // rtn and gptq resolve to k = 0 whatever rank was asked.
    s.method = "gptq";
    EXPECT_EQ(basis::planCompression(model->config(), model->table(), s).parts[0].groups[0].k, 0);
    EXPECT_EQ(basis::planCompression(model->config(), model->table(), s).settings.quant.qStep, "ldlq");
    s.method = "caldera";
    s.quant.rank = 65;   // stories260K's q is 64 x 64
    expectError([&] { basis::planCompression(model->config(), model->table(), s); }, {"rank 65", "above min(m, d) = 64"});
    s.quant.rank = 8;
    s.quant.bits = 16;
    expectError([&] { basis::planCompression(model->config(), model->table(), s); }, {"bits must be 2, 3, 4 or 8"});
    s.quant.bits = 4;
    s.update = true;
    expectError([&] { basis::planCompression(model->config(), model->table(), s); }, {"caldera has no update"});
}

// The first 20 chunks of 128 tokens of calib.txt.
basis::CalibrationStats storiesStats(basis::DecoderModel& model)
{
    auto tok = basis::loadTokenizer(model.dir());
    auto ids = basis::tokenizeForEvaluation(
        *tok, basis::readFile(basis::test::sharedPath("data/tinystories-valid/calib.txt")), basis::BosPolicy::Auto);
    basis::CalibrationOptions o;
    o.context = 128;
    o.samples = 20;
    return basis::collectStatistics(model, basis::calibrationChunks(ids, o), 4);
}

std::string readBytes(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Stories, SaveLoadIsBitIdenticalAndBytesAreAsStored)
{
    BASIS_REQUIRE_SHARED(kStories);
    auto model = basis::DecoderModel::load(basis::test::sharedPath(kStories));
    auto stats = storiesStats(*model);
    basis::CompressionSettings s;
    s.method = "caldera";
    s.quant.bits = 3;
    s.quant.rank = 8;
    s.quant.qStep = "ldlq";
    s.quant.iters = 2;
    const auto plan = basis::planCompression(model->config(), model->table(), s);
    const auto result = basis::compressModel(*model, &stats, plan);
    EXPECT_EQ(model->parameterCount(), plan.modelAfter);
    ASSERT_EQ(result.groups.size(), static_cast<size_t>(7 * model->layerCount()));
    int64_t stored = 0;
    for (int64_t l = 0; l < model->layerCount(); ++l)
        for (const auto& slot : model->layer(l).slots) {
            ASSERT_TRUE(slot.isQuantized());
            stored += slot.quantized().storedBytes();
        }
    EXPECT_EQ(stored, plan.targetBytesAfter);
    for (const auto& g : result.groups) {
        ASSERT_EQ(g.iterationErrors.size(), 2u);
        EXPECT_LT(g.iterationErrors[static_cast<size_t>(g.bestIteration)], 0.5) << g.part;
    }

    const fs::path out = basis::test::scratchDir("caldera-saved") / "model";
    basis::saveCompressedModel(*model, result, out);
    auto loaded = basis::DecoderModel::load(out);
    at::Tensor ids = at::arange(1, 200, at::kLong).remainder(500).unsqueeze(0);
    EXPECT_TRUE(at::equal(model->forward(ids), loaded->forward(ids)));
    EXPECT_EQ(loaded->parameterCount(), plan.modelAfter);
    for (int64_t l = 0; l < model->layerCount(); ++l)
        for (size_t i = 0; i < model->layer(l).slots.size(); ++i) {
            const auto& a = model->layer(l).slots[i].quantized();
            const auto& b = loaded->layer(l).slots[i].quantized();
            EXPECT_TRUE(at::equal(a.packed, b.packed) && at::equal(a.scales, b.scales) && at::equal(a.zeros, b.zeros) &&
                        at::equal(a.lowL, b.lowL) && at::equal(a.lowR, b.lowR))
                << l << " " << i;
        }
    // Saving the loaded model writes the same bytes.
    const fs::path again = basis::test::scratchDir("caldera-saved-again") / "model";
    basis::saveCompressedModel(*loaded, result, again);
    EXPECT_EQ(readBytes(out / "model.safetensors"), readBytes(again / "model.safetensors"));

    // Dense export reconstructs Q + L R.
    const fs::path denseDir = basis::test::scratchDir("caldera-dense") / "model";
    basis::exportDense(*loaded, denseDir);
    auto dense = basis::DecoderModel::load(denseDir);
    EXPECT_LT((dense->forward(ids) - loaded->forward(ids)).abs().max().item<double>(), 1e-3);

    // A header that disagrees with the packed sizes is refused, naming the tensor.
    nlohmann::json config = nlohmann::json::parse(readBytes(out / "config.json"));
    const fs::path bad = basis::test::scratchDir("caldera-bad") / "model";
    fs::create_directories(bad);
    fs::copy_file(out / "model.safetensors", bad / "model.safetensors");
    fs::copy_file(out / "tokenizer.model", bad / "tokenizer.model");
    config["compression"]["parts"]["q"]["groups"][0]["bits"] = 4;
    basis::writeFileAtomically(bad / "config.json", config.dump());
    expectError([&] { basis::DecoderModel::load(bad); },
                {"model.layers.0.self_attn.q_proj.qweight", "has shape [64,24]", "4-bit codes of a 64 x 64", "needs [64,32]"});
    config["compression"]["parts"]["q"]["groups"][0]["bits"] = 3;
    config["compression"]["parts"]["q"]["groups"][0]["k"] = 9;
    basis::writeFileAtomically(bad / "config.json", config.dump());
    expectError([&] { basis::DecoderModel::load(bad); }, {"lowrank_l", "has shape [64,8]", "needs [64,9]"});
}

TEST(Stories, ReportsEachProjectionAndCancelLeavesTheModelDense)
{
    BASIS_REQUIRE_SHARED(kStories);
    auto model = basis::DecoderModel::load(basis::test::sharedPath(kStories));
    basis::CompressionSettings s;
    s.method = "rtn";
    const auto plan = basis::planCompression(model->config(), model->table(), s);
    // Cancelled at the tenth projection: an error, and no slot changed.
    basis::CancelToken token;
    int64_t reports = 0, total = 0, cancelAt = 10;
    basis::JobContext job;
    job.cancel = &token;
    job.progress = [&](int64_t done, int64_t all, const std::string& what) {
        reports = done;
        total = all;
        EXPECT_NE(what.find("quantizing"), std::string::npos) << what;
        if (done == cancelAt)
            token.cancel();
    };
    EXPECT_THROW(basis::compressModel(*model, nullptr, plan, job), basis::Cancelled);
    EXPECT_EQ(reports, 10);
    EXPECT_EQ(total, 7 * model->layerCount());   // one report per projection of every layer
    for (int64_t l = 0; l < model->layerCount(); ++l)
        for (const auto& slot : model->layer(l).slots)
            EXPECT_FALSE(slot.isQuantized());
    token.reset();
    cancelAt = -1;
    basis::compressModel(*model, nullptr, plan, job);
    EXPECT_EQ(reports, 7 * model->layerCount());
}

TEST(Stories, RtnNeedsNoStatisticsAndGptqDoes)
{
    BASIS_REQUIRE_SHARED(kStories);
    auto model = basis::DecoderModel::load(basis::test::sharedPath(kStories));
    basis::CompressionSettings s;
    s.method = "gptq";
    s.quant.bits = 4;
    expectError([&] { basis::compressModel(*model, nullptr, basis::planCompression(model->config(), model->table(), s)); },
                {"gptq needs calibration statistics"});
    s.method = "rtn";
    basis::compressModel(*model, nullptr, basis::planCompression(model->config(), model->table(), s));
    // Round to nearest of every projection, exactly.
    auto original = basis::DecoderModel::load(basis::test::sharedPath(kStories));
    const auto& slot = model->layer(2).slots[4];
    const at::Tensor w = original->layer(2).slots[4].weightInOut().to(at::kDouble).t().contiguous();
    EXPECT_TRUE(at::equal(slot.dequantized(), basis::dequantizeRows(basis::quantizeRtn(w, 4), at::kFloat)));
}

} // namespace
