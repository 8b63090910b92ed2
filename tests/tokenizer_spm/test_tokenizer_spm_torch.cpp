// SentencePiece (through the dlopen'ed basis_spm module) and LibTorch in one process. Linking LibTorch makes
// its libprotobuf load at start-up, before the module: without RTLD_LOCAL | RTLD_DEEPBIND this aborts.
#include "sentencepiece_tokenizer.h"
#include "test_support.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace {

TEST(SentencePieceWithTorch, EncodesNextToLibTorch)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf/tokenizer.model");
    const at::Tensor before = at::arange(8, at::kFloat).reshape({2, 4});
    ASSERT_FLOAT_EQ(before.sum().item<float>(), 28.0f);

    const auto file = basis::test::sharedPath("models/stories260K/hf/tokenizer.model");
    const auto tok = basis::SentencePieceTokenizer::load(file);
    const auto ids = tok->encode("Once upon a time");
    EXPECT_EQ(ids, (std::vector<int64_t>{403, 407, 261, 378}));
    EXPECT_EQ(tok->decode(ids), "Once upon a time");

    // The ids feed LibTorch as they would a model.
    const at::Tensor t = at::tensor(at::ArrayRef<int64_t>(ids), at::kLong);
    EXPECT_EQ(t.sum().item<int64_t>(), 403 + 407 + 261 + 378);
    EXPECT_EQ(at::matmul(before, before.t()).size(0), 2);
}

} // namespace
