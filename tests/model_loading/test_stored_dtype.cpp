// Weights kept as stored (stored_weights.h): a bfloat16/float16 checkpoint computed in float32 keeps its matrices
// as views of the file and gives exactly the logits of the same values widened on load (a float32 file of them).
#include "atomic_file.h"
#include "decoder_model.h"
#include "memory_usage.h"
#include "safetensors.h"
#include "synth.h"
#include "test_support.h"
#include "weights.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace {

// The float32 file holding exactly the values of `from`'s tensors: what loading widened every weight to before.
void writeWidenedCopy(const fs::path& from, const fs::path& to)
{
    fs::create_directories(to);
    fs::copy_file(from / "config.json", to / "config.json", fs::copy_options::overwrite_existing);
    basis::Checkpoint ckpt = basis::Checkpoint::open(from);
    std::vector<at::Tensor> keep;
    std::vector<basis::TensorToWrite> list;
    for (const std::string& name : ckpt.names()) {
        const basis::TensorView& v = ckpt.tensor(name);
        at::Tensor t = at::from_blob(const_cast<std::byte*>(v.data), v.shape, at::TensorOptions().dtype(basis::toScalarType(v.dtype)))
                           .to(at::kFloat);
        keep.push_back(t);
        list.push_back({name, basis::DType::F32, v.shape, t.data_ptr(), static_cast<size_t>(t.nbytes())});
    }
    basis::writeSafetensors(to / "model.safetensors", list);
}

class StoredDType : public ::testing::TestWithParam<basis::DType> {};

TEST_P(StoredDType, SameLogitsAsWidenedOnLoadAndWeightsStayStored)
{
    const basis::DType dtype = GetParam();
    const std::string tag = basis::dtypeName(dtype);
    for (const std::string shape : {"llama-micro", "gpt2-micro"}) {   // [out,in] and Conv1D [in,out] storage
        const fs::path stored = basis::test::scratchDir("stored-" + tag + "-" + shape);
        const fs::path wide = basis::test::scratchDir("widened-" + tag + "-" + shape);
        basis::writeSyntheticCheckpoint(basis::synthPreset(shape), stored, 3, {}, dtype);
        writeWidenedCopy(stored, wide);
        auto a = basis::DecoderModel::load(stored, {"cpu", "float32", 1});
        auto b = basis::DecoderModel::load(wide, {"cpu", "float32", 1});
        // The projections are the file's bytes, not float32 copies; weightInOut() gives the compute dtype.
        const basis::LinearSlot& s = a->layer(0).slots.at(0);
        EXPECT_EQ(s.weight().scalar_type(), basis::toScalarType(dtype)) << shape;
        EXPECT_EQ(s.weightInOut().scalar_type(), at::kFloat) << shape;
        EXPECT_TRUE(at::equal(s.weightInOut(), b->layer(0).slots.at(0).weightInOut())) << shape;
        at::Tensor ids = at::arange(0, 48, at::kLong).remainder(a->config().vocabSize).view({2, 24});
        EXPECT_TRUE(at::equal(a->forward(ids), b->forward(ids))) << shape << ": logits differ from the widened model";
        EXPECT_EQ(a->parameterCount(), b->parameterCount());
        fs::remove_all(stored);
        fs::remove_all(wide);
    }
}

INSTANTIATE_TEST_SUITE_P(HalfWidths, StoredDType, ::testing::Values(basis::DType::BF16, basis::DType::F16),
                         [](const auto& info) { return basis::dtypeName(info.param); });

// --dtype bfloat16 on a bfloat16 file is zero-copy too, and computes in bfloat16 (not the float32 path).
TEST(StoredDType, Bfloat16ComputeOnBfloat16File)
{
    const fs::path dir = basis::test::scratchDir("stored-bf16-compute");
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), dir, 3, {}, basis::DType::BF16);
    auto a = basis::DecoderModel::load(dir, {"cpu", "bfloat16", 1});
    auto b = basis::DecoderModel::load(dir, {"cpu", "float32", 1});
    EXPECT_EQ(a->layer(0).slots.at(0).weightInOut().scalar_type(), at::kBFloat16);
    at::Tensor ids = at::arange(0, 24, at::kLong).view({1, 24});
    const at::Tensor la = a->forward(ids), lb = b->forward(ids);
    EXPECT_FALSE(at::equal(la, lb));   // bfloat16 activations round
    EXPECT_LT((la - lb).abs().max().item<double>(), 0.05 * lb.abs().max().item<double>());
    fs::remove_all(dir);
}

// synth --dtype writes the same draws rounded: the bfloat16 file is the float32 one rounded to bfloat16.
TEST(SynthDType, SameDrawsRounded)
{
    const fs::path f32 = basis::test::scratchDir("synth-f32"), bf16 = basis::test::scratchDir("synth-bf16");
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), f32, 9);
    basis::writeSyntheticCheckpoint(basis::synthPreset("llama-micro"), bf16, 9, {}, basis::DType::BF16);
    basis::Checkpoint a = basis::Checkpoint::open(f32), b = basis::Checkpoint::open(bf16);
    ASSERT_EQ(a.names(), b.names());
    for (const std::string& name : a.names()) {
        const basis::TensorView &va = a.tensor(name), &vb = b.tensor(name);
        ASSERT_EQ(vb.dtype, basis::DType::BF16) << name;
        at::Tensor ta = at::from_blob(const_cast<std::byte*>(va.data), va.shape, at::kFloat);
        at::Tensor tb = at::from_blob(const_cast<std::byte*>(vb.data), vb.shape, at::kBFloat16);
        EXPECT_TRUE(at::equal(ta.to(at::kBFloat16), tb)) << name;
    }
    EXPECT_NE(basis::readFile(f32 / "config.json").find("\"float32\""), std::string::npos);
    EXPECT_NE(basis::readFile(bf16 / "config.json").find("\"bfloat16\""), std::string::npos);
    fs::remove_all(f32);
    fs::remove_all(bf16);
}

// The memory figures read /proc/self/status: touching 64 MB of anonymous memory shows in RssAnon and its peak.
TEST(MemoryUsage, AnonymousPagesShowInRssAnon)
{
    basis::MemoryWatch watch(5);
    const int64_t before = basis::currentMemory().rssAnon;
    {
        at::Tensor t = at::ones({64 << 20}, at::kByte);   // 64 MB, every page written
        EXPECT_GE(basis::currentMemory().rssAnon - before, 60 << 20);
        watch.stop();
    }
    EXPECT_GE(watch.peakAnon() - before, 60 << 20);
    EXPECT_GE(watch.peakRss(), watch.peakAnon());
}

} // namespace
