// Layer weights kept on the host (RunOptions::weights = "host", decoder_model.h): the layers stay as loaded on the
// CPU (memory-mapped as stored) and each layer's forward runs on a copy made on the compute device for its turn,
// in the compute dtype. With a GPU that copy goes to the GPU; this machine has none, so the copy goes to the CPU,
// and the tests check what can be checked there: every tensor a forward reads is such a copy (a fresh tensor in the
// compute dtype, not the host one), a group's shared basis is copied once for its layers, and the logits,
// calibration statistics and perplexities are the resident model's bit for bit.
#include "calibration.h"
#include "compress.h"
#include "compress_streamed.h"
#include "decoder_model.h"
#include "dynamic_rank.h"
#include "error.h"
#include "perplexity.h"
#include "synth.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

basis::RunOptions options(const std::string& weights) { return {"cpu", "float32", 1, weights}; }

std::vector<int64_t> idsOf(int64_t n, int64_t vocab)
{
    std::vector<int64_t> ids(static_cast<size_t>(n));
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (auto& id : ids) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        id = static_cast<int64_t>((x >> 33) % static_cast<uint64_t>(vocab));
    }
    return ids;
}

std::vector<std::vector<int64_t>> chunksOf(const basis::DecoderModel& m)
{
    basis::CalibrationOptions o;
    o.context = 32;
    o.samples = 6;
    return basis::calibrationChunks(idsOf(6 * 32, m.config().vocabSize), o);
}

// Every tensor of a layer a forward reads, in one fixed order.
std::vector<at::Tensor> forwardTensors(const basis::LayerWeights& lw)
{
    std::vector<at::Tensor> out = {lw.attnNormW, lw.attnNormB, lw.mlpNormW, lw.mlpNormB};
    for (const basis::LinearSlot& s : lw.slots)
        for (const at::Tensor& t : {s.weight(), s.bias(), s.basis(), s.coeff(), s.dequantized()})
            out.push_back(t);
    return out;
}

void expectEveryTensorPaged(const basis::DecoderModel& model, const std::string& what)
{
    for (int64_t l = 0; l < model.layerCount(); ++l) {
        const std::vector<at::Tensor> host = forwardTensors(model.layer(l));
        const std::vector<at::Tensor> paged = forwardTensors(model.pagedLayer(l));
        ASSERT_EQ(host.size(), paged.size());
        for (size_t i = 0; i < host.size(); ++i) {
            ASSERT_EQ(host[i].defined(), paged[i].defined()) << what << " layer " << l << " tensor " << i;
            if (!host[i].defined())
                continue;
            EXPECT_EQ(paged[i].device(), model.device()) << what << " layer " << l << " tensor " << i;
            EXPECT_EQ(paged[i].scalar_type(), model.dtype()) << what << " layer " << l << " tensor " << i;
            EXPECT_NE(paged[i].data_ptr(), host[i].data_ptr()) << what << " layer " << l << " tensor " << i
                                                               << " is the host tensor, not a copy";
            EXPECT_TRUE(at::equal(paged[i], host[i].to(model.dtype()))) << what << " layer " << l << " tensor " << i;
        }
    }
}

void expectSameStatistics(const basis::LayerStatistics& a, const basis::LayerStatistics& b, int64_t layer)
{
    for (size_t s = 0; s < basis::kInputSites; ++s) {
        ASSERT_EQ(a.gram[s].defined(), b.gram[s].defined());
        if (!a.gram[s].defined())
            continue;
        EXPECT_TRUE(at::equal(a.gram[s], b.gram[s])) << "layer " << layer << " site " << s;
        EXPECT_TRUE(at::equal(a.sum[s], b.sum[s])) << "layer " << layer << " site " << s;
        EXPECT_EQ(a.count[s], b.count[s]);
    }
}

// Logits, streamed calibration and perplexity (whole passes and a layer at a time) of `dir` with its layers on the
// host equal those of the resident model, to the last bit.
void expectSameResults(const fs::path& dir, const std::string& what)
{
    auto resident = basis::DecoderModel::load(dir, options("device"));
    auto host = basis::DecoderModel::load(dir, options("host"));
    EXPECT_FALSE(resident->hostWeights());
    EXPECT_TRUE(host->hostWeights());
    const at::Tensor ids = at::tensor(idsOf(48, resident->config().vocabSize), at::kLong).view({2, 24});
    EXPECT_TRUE(at::equal(resident->forward(ids), host->forward(ids))) << what << ": logits differ";

    basis::LayerwiseCalibration a(*resident, chunksOf(*resident), 2), b(*host, chunksOf(*host), 2);
    for (int64_t l = 0; l < a.layers(); ++l)
        expectSameStatistics(a.next(), b.next(), l);

    const std::vector<int64_t> text = idsOf(400, resident->config().vocabSize);
    basis::PplOptions ppl;
    ppl.context = 64;
    ppl.batch = 2;
    for (const basis::PplPasses passes : {basis::PplPasses::Whole, basis::PplPasses::Layerwise}) {
        ppl.passes = passes;
        const basis::PplResult x = basis::evaluatePerplexity(*resident, text, ppl);
        const basis::PplResult y = basis::evaluatePerplexity(*host, text, ppl);
        EXPECT_EQ(x.pplWindowMean, y.pplWindowMean) << what;
        EXPECT_EQ(x.pplTokenMean, y.pplTokenMean) << what;
        EXPECT_EQ(x.layerwise, y.layerwise) << what;
    }
}

} // namespace

// bfloat16 files computed in float32 (each page-in widens the layer's matrices) and a float32 file; [out, in] and
// Conv1D [in, out] storage, biases and learned positions (gpt2-micro).
TEST(HostWeights, DenseModelsGiveTheResidentResults)
{
    for (const std::string shape : {"llama-micro", "gpt2-micro"})
        for (const basis::DType dtype : {basis::DType::BF16, basis::DType::F32}) {
            const std::string what = shape + " " + basis::dtypeName(dtype);
            const fs::path dir = basis::test::scratchDir("host-weights-" + shape + "-" + basis::dtypeName(dtype));
            basis::writeSyntheticCheckpoint(basis::synthPreset(shape), dir, 5, {}, dtype);
            expectSameResults(dir, what);
            auto host = basis::DecoderModel::load(dir, options("host"));
            expectEveryTensorPaged(*host, what);
            // The layers stay as loaded: a bfloat16 file's projections are still its bytes.
            if (dtype == basis::DType::BF16) {
                EXPECT_EQ(host->layer(0).slots.at(0).weight().scalar_type(), at::kBFloat16) << what;
            }
            fs::remove_all(dir);
        }
}

// A Basis Sharing folder (groups of two layers share one basis): the same results, every tensor paged, and the
// basis of a group copied once for both of its layers.
TEST(HostWeights, CompressedModelSharesOneDeviceBasisPerGroup)
{
    const fs::path scratch = basis::test::scratchDir("host-weights-compressed");
    const fs::path dense = scratch / "dense", out = scratch / "shared";
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), dense, 7, {}, basis::DType::BF16);
    auto model = basis::DecoderModel::load(dense, options("device"));
    const basis::CalibrationStats stats = basis::collectStatistics(*model, chunksOf(*model), 2);
    basis::CompressionSettings s;
    s.ratio = 30;
    s.groupSize = 2;
    const auto plan = basis::planCompression(model->config(), model->table(), s);
    basis::compressIntoFolder(*model, &stats, &stats, plan, out, {}, 5'000'000'000ull);
    expectSameResults(out, "basis-sharing");

    auto host = basis::DecoderModel::load(out, options("host"));
    expectEveryTensorPaged(*host, "basis-sharing");
    ASSERT_GE(host->layerCount(), 2);
    size_t shared = 0;
    const basis::LayerWeights first = host->pagedLayer(0), second = host->pagedLayer(1);
    for (size_t p = 0; p < first.slots.size(); ++p) {
        if (!first.slots[p].isFactorized() || !host->layer(0).slots[p].basis().is_same(host->layer(1).slots[p].basis()))
            continue;   // a private part: a basis per layer
        EXPECT_EQ(first.slots[p].basis().data_ptr(), second.slots[p].basis().data_ptr()) << "projection " << p;
        ++shared;
    }
    EXPECT_GT(shared, 0u);
    fs::remove_all(scratch);
}

// Compressing a model whose layers are on the host: the factors are installed on the host beside the other
// layer tensors, and the compressed model gives the resident compression's logits.
TEST(HostWeights, InMemoryCompressionInstallsOnTheHost)
{
    const fs::path dir = basis::test::scratchDir("host-weights-in-memory");
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), dir, 9, {}, basis::DType::F32);
    auto resident = basis::DecoderModel::load(dir, options("device"));
    const basis::CalibrationStats stats = basis::collectStatistics(*resident, chunksOf(*resident), 2);
    for (const std::string method : {"basis-sharing", "rtn"}) {
        basis::CompressionSettings s;
        s.method = method;
        s.ratio = 30;
        s.groupSize = 2;
        s.quant.bits = 4;
        auto a = basis::DecoderModel::load(dir, options("device"));
        auto b = basis::DecoderModel::load(dir, options("host"));
        const auto plan = basis::planCompression(a->config(), a->table(), s);
        basis::compressModel(*a, &stats, plan);
        basis::compressModel(*b, &stats, plan);
        const at::Tensor ids = at::tensor(idsOf(24, a->config().vocabSize), at::kLong).view({1, 24});
        EXPECT_TRUE(at::equal(a->forward(ids), b->forward(ids))) << method;
        expectEveryTensorPaged(*b, method);
    }
    fs::remove_all(dir);
}

// What needs every weight on the device says so instead of running on copies that would not learn or would not be
// hooked: fine-tuning and run-time dynamic rank. An unknown placement is refused by name.
TEST(HostWeights, RefusedWhereTheWeightsMustStayOnTheDevice)
{
    const fs::path dir = basis::test::scratchDir("host-weights-refusals");
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), dir, 3, {}, basis::DType::F32);
    auto host = basis::DecoderModel::load(dir, options("host"));
    basis::test::expectError([&] { host->makeTrainable(at::kFloat); }, {"--weights host", "fine-tun"});
    const basis::CalibrationStats stats = basis::collectStatistics(*host, chunksOf(*host), 2);
    basis::CompressionSettings s;
    s.ratio = 30;
    basis::compressModel(*host, &stats, basis::planCompression(host->config(), host->table(), s));
    basis::test::expectError([&] { basis::DynamicRank d(*host, basis::RankSettings{}); }, {"--weights host", "dynamic rank"});
    basis::test::expectError([&] { basis::DecoderModel::load(dir, options("disk")); }, {"disk", "device or host"});
    fs::remove_all(dir);
}

// Perplexity's auto rule goes a layer at a time with host weights, whatever the memory: whole passes would copy
// every layer again for every batch.
TEST(HostWeights, AutoPassesGoLayerwise)
{
    const fs::path dir = basis::test::scratchDir("host-weights-auto");
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), dir, 3, {}, basis::DType::F32);
    auto resident = basis::DecoderModel::load(dir, options("device"));
    auto host = basis::DecoderModel::load(dir, options("host"));
    EXPECT_FALSE(basis::evaluatesLayerwise(*resident, basis::PplPasses::Auto, int64_t(1) << 40));
    EXPECT_TRUE(basis::evaluatesLayerwise(*host, basis::PplPasses::Auto, int64_t(1) << 40));
    EXPECT_FALSE(basis::evaluatesLayerwise(*host, basis::PplPasses::Whole, int64_t(1) << 40));
    fs::remove_all(dir);
}
