// Streamed calibration (a layer at a time, each layer's statistics written to the cache as it finishes) against
// the whole-model calibration it replaces: the same statistics, the same compressed tensors, the same perplexity.
#include "test_support.h"

#include "atomic_file.h"
#include "calibration_cache.h"
#include "calibration_job.h"
#include "compress.h"
#include "decoder_model.h"
#include "error.h"
#include "perplexity.h"
#include "synth.h"
#include "tokenizer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

namespace fs = std::filesystem;

std::vector<int64_t> calibIds(const basis::DecoderModel& model)
{
    auto tok = basis::loadTokenizer(model.dir());
    return basis::tokenizeForEvaluation(*tok, basis::readFile(basis::test::sharedPath("data/tinystories-valid/calib.txt")),
                                        basis::BosPolicy::Auto);
}

// Largest |a - b| over every H and s, relative to the largest |a| of that tensor; counts must be equal.
double worstRelativeDifference(const basis::CalibrationStats& a, const basis::CalibrationStats& b)
{
    EXPECT_EQ(a.gram.size(), b.gram.size());
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.samples, b.samples);
    EXPECT_EQ(a.count, b.count);
    double worst = 0;
    for (size_t l = 0; l < a.gram.size(); ++l)
        for (size_t s = 0; s < basis::kInputSites; ++s) {
            EXPECT_EQ(a.gram[l][s].defined(), b.gram[l][s].defined()) << "layer " << l << " site " << s;
            if (!a.gram[l][s].defined())
                continue;
            for (const auto& [x, y] : {std::pair{a.gram[l][s], b.gram[l][s]}, std::pair{a.sum[l][s], b.sum[l][s]}}) {
                const double scale = x.abs().max().item<double>();
                worst = std::max(worst, (x - y).abs().max().item<double>() / (scale > 0 ? scale : 1));
            }
        }
    return worst;
}

// Token ids without a tokenizer (this test also runs under the sanitizers, which cannot load SentencePiece): a
// fixed pseudo-random stream over the vocabulary. The identity checked holds for any ids; the tests below use
// the real calibration text.
std::vector<int64_t> pseudoRandomIds(int64_t n, int64_t vocab)
{
    std::vector<int64_t> ids(static_cast<size_t>(n));
    uint64_t x = 88172645463325252ull;
    for (auto& id : ids) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        id = static_cast<int64_t>(x % static_cast<uint64_t>(vocab));
    }
    return ids;
}

// stories260K, 12 chunks of 128 tokens in batches of 5 (so the last batch is short). Tolerance 1e-12 relative, as
// the issue asks; the batches run through the same operations, so the difference is in fact 0.
TEST(StreamedCalibration, SameStatisticsAsTheWholeModel)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf");
    auto model = basis::DecoderModel::load(basis::test::sharedPath("models/stories260K/hf"));
    basis::CalibrationOptions o;
    o.context = 128;
    o.samples = 12;
    const auto chunks = basis::calibrationChunks(pseudoRandomIds(12 * 128, model->config().vocabSize), o);
    const basis::CalibrationStats whole = basis::collectStatistics(*model, chunks, 5);

    const fs::path cache = basis::test::scratchDir("streamed-cache");
    basis::CalibrationIdentity id;
    id.model = basis::modelFingerprint(model->dir());
    id.text = "test";
    id.options = o;
    id.bos = "auto";
    int64_t lastDone = 0, lastTotal = 0;
    basis::JobContext job;
    job.progress = [&](int64_t done, int64_t total, const std::string& what) {
        if (what.rfind("calibration layer", 0) != 0)
            return;   // the spectra that follow report their own steps
        EXPECT_GE(done, lastDone);
        lastDone = done;
        lastTotal = total;
    };
    basis::LayerwiseCalibration streamed(*model, chunks, 5, job);
    EXPECT_EQ(streamed.layers(), model->layerCount());
    const basis::CalibrationStats written = basis::calibrateIntoCache(cache / "c", streamed, id, *model, {2}, nullptr, job);
    EXPECT_EQ(lastDone, lastTotal);
    EXPECT_EQ(lastTotal, model->layerCount() * 3);   // 3 batches per layer
    EXPECT_LE(worstRelativeDifference(whole, written), 1e-12);
    EXPECT_EQ(streamed.nextLayer(), model->layerCount());
    EXPECT_THROW(streamed.next(), basis::Error);

    // Read back as compression reads it, and against the whole-model cache saveCalibration writes.
    basis::CalibrationIdentity found;
    const basis::CalibrationStats loaded = basis::loadCalibration(cache / "c", id, &found);
    EXPECT_LE(worstRelativeDifference(whole, loaded), 1e-12);
    EXPECT_EQ(basis::cachedSpectraSizes(cache / "c"), std::vector<int64_t>{2});
    basis::saveCalibration(cache / "whole", whole, id);
    EXPECT_LE(worstRelativeDifference(basis::loadCalibration(cache / "whole", id), loaded), 1e-12);
    const auto a = basis::loadCachedSpectra(cache / "c");
    EXPECT_EQ(a.values.size(), basis::computeSpectra(*model, whole, {2}).values.size());
}

// A model compressed from the streamed cache (real calibration text from here on) (read back from disk) and one compressed from the whole-model
// statistics in memory: bit-identical factors, the same perplexity.
TEST(StreamedCalibration, CompressionReadsTheStreamedCacheIdentically)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf");
    const fs::path dir = basis::test::sharedPath("models/stories260K/hf");
    auto a = basis::DecoderModel::load(dir);
    auto b = basis::DecoderModel::load(dir);
    basis::CalibrationOptions o;
    o.context = 256;
    o.samples = 10;
    const auto chunks = basis::calibrationChunks(calibIds(*a), o);
    const basis::CalibrationStats whole = basis::collectStatistics(*a, chunks, 4);
    basis::CalibrationIdentity id;
    id.model = basis::modelFingerprint(dir);
    id.text = "test";
    id.options = o;
    basis::LayerwiseCalibration streamed(*b, chunks, 4);
    const fs::path cache = basis::test::scratchDir("streamed-compress") / "c";
    basis::calibrateIntoCache(cache, streamed, id, *b, {});
    const basis::CalibrationStats loaded = basis::loadCalibrationFor(*b, cache);

    basis::CompressionSettings s;
    s.method = "basis-sharing";
    s.ratio = 30;
    s.groupSize = 2;
    const auto plan = basis::planCompression(a->config(), a->table(), s);
    basis::compressModel(*a, &whole, plan);
    basis::compressModel(*b, &loaded, plan);
    for (int64_t l = 0; l < a->layerCount(); ++l)
        for (size_t p = 0; p < a->table().projections.size(); ++p) {
            const basis::LinearSlot& x = a->slot(l, p);
            const basis::LinearSlot& y = b->slot(l, p);
            ASSERT_EQ(x.basis().defined(), y.basis().defined());
            if (!x.basis().defined())
                continue;
            EXPECT_TRUE(at::equal(x.basis(), y.basis())) << "layer " << l << " projection " << p;
            EXPECT_TRUE(at::equal(x.coeff(), y.coeff())) << "layer " << l << " projection " << p;
        }
    auto tok = basis::loadTokenizer(dir);
    const auto ids = basis::tokenizeForEvaluation(
        *tok, basis::readFile(basis::test::sharedPath("data/tinystories-valid/eval.txt")).substr(0, 20000), basis::BosPolicy::Auto);
    basis::PplOptions p;
    p.context = 512;
    EXPECT_EQ(basis::evaluatePerplexity(*a, ids, p).pplWindowMean, basis::evaluatePerplexity(*b, ids, p).pplWindowMean);
}

// calibrateFromText with a cache goes the streamed way; without one, the whole-model way; both give the same.
TEST(StreamedCalibration, CalibrateFromTextStreamsIntoItsCache)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf");
    auto model = basis::DecoderModel::load(basis::test::sharedPath("models/stories260K/hf"));
    auto tok = basis::loadTokenizer(model->dir());
    basis::CalibrationRequest r;
    r.text = basis::test::sharedPath("data/tinystories-valid/calib.txt");
    r.options.context = 128;
    r.options.samples = 6;
    r.options.batch = 4;
    const basis::CalibrationOutcome inMemory = basis::calibrateFromText(*model, *tok, r);
    r.cacheDir = basis::test::scratchDir("streamed-job") / "c";
    std::vector<std::string> steps;
    basis::JobContext job;
    job.progress = [&](int64_t, int64_t, const std::string& what) { steps.push_back(what); };
    const basis::CalibrationOutcome cached = basis::calibrateFromText(*model, *tok, r, job);
    EXPECT_FALSE(cached.reused);
    ASSERT_FALSE(steps.empty());
    EXPECT_NE(steps.back().find("calibration layer 5/5"), std::string::npos) << steps.back();
    EXPECT_LE(worstRelativeDifference(inMemory.stats, cached.stats), 1e-12);
    const basis::CalibrationOutcome again = basis::calibrateFromText(*model, *tok, r);
    EXPECT_TRUE(again.reused);
    EXPECT_LE(worstRelativeDifference(inMemory.stats, again.stats), 1e-12);
}

// statistics_dtype float32: H rounded once to float32 when written (streamed and whole-model writers alike), so
// the file is about half; read back widened to float64, equal to the float64 H rounded to float32. A float32 cache
// is not taken for a float64 request, and is taken when the cache is given alone. Pseudo-random ids: runs under
// the sanitizers.
TEST(StreamedCalibration, Float32StatisticsHalveTheCacheAndRoundOnce)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf");
    auto model = basis::DecoderModel::load(basis::test::sharedPath("models/stories260K/hf"));
    basis::CalibrationOptions o;
    o.context = 128;
    o.samples = 6;
    const auto chunks = basis::calibrationChunks(pseudoRandomIds(6 * 128, model->config().vocabSize), o);
    const basis::CalibrationStats whole = basis::collectStatistics(*model, chunks, 3);
    const fs::path dir = basis::test::scratchDir("streamed-f32");
    basis::CalibrationIdentity id;
    id.model = basis::modelFingerprint(model->dir());
    id.text = "test";
    id.options = o;
    id.bos = "auto";
    basis::CalibrationIdentity single = id;
    single.statisticsDtype = "float32";
    basis::LayerwiseCalibration streamed(*model, chunks, 3);
    basis::calibrateIntoCache(dir / "f32", streamed, single, *model, {});
    basis::saveCalibration(dir / "f32-whole", whole, single);
    basis::saveCalibration(dir / "f64", whole, id);

    const auto f32Bytes = fs::file_size(dir / "f32" / "statistics.safetensors");
    const auto f64Bytes = fs::file_size(dir / "f64" / "statistics.safetensors");
    EXPECT_LT(double(f32Bytes), 0.55 * double(f64Bytes)) << f32Bytes << " against " << f64Bytes;
    EXPECT_EQ(f32Bytes, fs::file_size(dir / "f32-whole" / "statistics.safetensors"));
    for (const char* name : {"f32", "f32-whole"}) {
        const basis::CalibrationStats loaded = basis::loadCalibration(dir / name, single);
        for (int64_t l = 0; l < model->layerCount(); ++l)
            for (size_t s = 0; s < basis::kInputSites; ++s) {
                const auto site = static_cast<basis::InputSite>(s);
                if (!whole.gram[l][s].defined())
                    continue;
                EXPECT_EQ(loaded.gram[l][s].scalar_type(), at::kFloat);
                const at::Tensor h = loaded.at(l, site);
                EXPECT_EQ(h.scalar_type(), at::kDouble);
                EXPECT_TRUE(at::equal(h, whole.at(l, site).to(at::kFloat).to(at::kDouble))) << name << " layer " << l;
                EXPECT_TRUE(at::equal(loaded.sum[l][s], whole.sum[l][s])) << "sums stay float64";
            }
    }
    basis::test::expectError([&] { basis::loadCalibration(dir / "f32", id); }, {"statistics dtype", "float32", "float64"});
    EXPECT_EQ(basis::readCalibrationIdentity(dir / "f32").statisticsDtype, "float32");
    EXPECT_EQ(basis::readCalibrationIdentity(dir / "f64").statisticsDtype, "float64");
    EXPECT_EQ(basis::loadCalibrationFor(*model, dir / "f32").gram.size(), whole.gram.size());
    basis::CalibrationIdentity bad = id;
    bad.statisticsDtype = "float16";
    basis::test::expectError([&] { basis::saveCalibration(dir / "bad", whole, bad); }, {"float16", "float64 or float32"});
}

} // namespace

namespace {

// Entries of `dir` (the scratch file is unlinked as soon as it is mapped: nothing may be listed).
size_t entriesOf(const fs::path& dir)
{
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir))
        ++n;
    return n;
}

} // namespace

// Activations kept on disk (activation_store.h): a scratch file, unlinked at once, read back batch by batch. The
// same bytes go into every layer, so the statistics equal the in-memory ones exactly; stories260K (float32) and
// a bfloat16 llama-micro computed in bfloat16 (2-byte activations), batches of 5 with a short last one.
TEST(StreamedCalibration, ActivationsOnDiskGiveTheSameStatistics)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf");
    const fs::path micro = basis::test::scratchDir("activations-micro");
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), micro, 4, {}, basis::DType::BF16);
    for (const auto& [dir, dtype] : {std::pair{basis::test::sharedPath("models/stories260K/hf"), std::string("float32")},
                                     std::pair{micro, std::string("bfloat16")}}) {
        SCOPED_TRACE(dir.string());
        auto model = basis::DecoderModel::load(dir, {"cpu", dtype, 1});
        basis::CalibrationOptions o;
        o.context = 64;
        o.samples = 12;
        const auto chunks = basis::calibrationChunks(pseudoRandomIds(12 * 64, model->config().vocabSize), o);
        const fs::path spill = basis::test::scratchDir("activations-spill");
        basis::LayerwiseCalibration inMemory(*model, chunks, 5, {}, basis::ActivationPlace::Memory, spill);
        basis::LayerwiseCalibration onDisk(*model, chunks, 5, {}, basis::ActivationPlace::Disk, spill);
        EXPECT_FALSE(inMemory.activationsOnDisk());
        EXPECT_TRUE(onDisk.activationsOnDisk());
        const int64_t element = dtype == "float32" ? 4 : 2;
        EXPECT_GE(onDisk.activationBytes(), 12 * 64 * model->config().hidden * element);
        EXPECT_EQ(entriesOf(spill), 0u) << "the scratch file is still listed";
        for (int64_t l = 0; l < model->layerCount(); ++l) {
            const basis::LayerStatistics a = inMemory.next(), b = onDisk.next();
            for (size_t s = 0; s < basis::kInputSites; ++s) {
                if (!a.gram[s].defined())
                    continue;
                EXPECT_TRUE(at::equal(a.gram[s], b.gram[s])) << "layer " << l << " site " << s;
                EXPECT_TRUE(at::equal(a.sum[s], b.sum[s])) << "layer " << l << " site " << s;
                EXPECT_EQ(a.count[s], b.count[s]);
            }
        }
    }
    fs::remove_all(micro);
}

// Where the activations go: auto keeps them in memory up to half of what is available; disk needs a folder.
TEST(StreamedCalibration, ActivationPlaceRules)
{
    EXPECT_FALSE(basis::activationsOnDisk(basis::ActivationPlace::Auto, 50, 100));
    EXPECT_TRUE(basis::activationsOnDisk(basis::ActivationPlace::Auto, 51, 100));
    EXPECT_FALSE(basis::activationsOnDisk(basis::ActivationPlace::Auto, int64_t(1) << 40, 0));   // unknown: memory
    EXPECT_TRUE(basis::activationsOnDisk(basis::ActivationPlace::Disk, 1, int64_t(1) << 40));
    EXPECT_FALSE(basis::activationsOnDisk(basis::ActivationPlace::Memory, int64_t(1) << 40, 100));
    EXPECT_EQ(basis::parseActivationPlace("disk"), basis::ActivationPlace::Disk);
    basis::test::expectError([] { basis::parseActivationPlace("swap"); }, {"swap", "auto, memory or disk"});
    basis::test::expectError([] { basis::ActivationStore store(true, {}); }, {"folder"});
    // 4.4 TB of activations: refused before the file is made, naming what is needed and where.
    const fs::path spill = basis::test::scratchDir("activations-full-disk");
    basis::ActivationStore store(true, spill);
    basis::test::expectError([&] { store.reserve({{1, int64_t(1) << 20, int64_t(1) << 20}}, at::kFloat); },
                             {"not enough disk space", "calibration activations", spill.string()});
    EXPECT_EQ(entriesOf(spill), 0u);
}
