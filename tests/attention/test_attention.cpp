// The fused small-head attention against a brute-force float64 reference and against the matmul path, on the
// shapes the decoder gives it: grouped-query heads, a KV cache offset, a sliding window, keys as a strided view.
#include "blocks.h"
#include "small_head_attention.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

// Loops in float64: each query's visible keys, softmax, weighted values. Returns [B, T, H * D] as float64.
at::Tensor bruteForce(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t start, double scale,
                      int64_t window)
{
    const at::Tensor qd = q.to(at::kDouble), kd = k.to(at::kDouble), vd = v.to(at::kDouble);
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), G = H / k.size(1);
    at::Tensor out = at::zeros({B, T, H * D}, at::kDouble);
    auto qa = qd.accessor<double, 4>(), ka = kd.accessor<double, 4>(), va = vd.accessor<double, 4>();
    auto oa = out.accessor<double, 3>();
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < T; ++i) {
                const int64_t pos = start + i;
                const int64_t first = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
                std::vector<double> w;
                double m = -1e300;
                for (int64_t j = first; j <= pos; ++j) {
                    double s = 0;
                    for (int64_t d = 0; d < D; ++d)
                        s += qa[b][h][i][d] * ka[b][h / G][j][d];
                    w.push_back(s * scale);
                    m = std::max(m, s * scale);
                }
                double sum = 0;
                for (double& x : w)
                    sum += (x = std::exp(x - m));
                for (int64_t d = 0; d < D; ++d) {
                    double o = 0;
                    for (size_t j = 0; j < w.size(); ++j)
                        o += w[j] * va[b][h / G][first + static_cast<int64_t>(j)][d];
                    oa[b][i][h * D + d] = o / sum;
                }
            }
    return out;
}

struct Case {
    int64_t B, H, Hkv, T, start, D, window;
};

class SmallHeadAttention : public ::testing::TestWithParam<Case> {};

TEST_P(SmallHeadAttention, MatchesBruteForceAndTheMatmulPath)
{
    c10::InferenceMode inference;
    const Case c = GetParam();
    at::manual_seed(7);
    const int64_t S = c.start + c.T;
    const at::Tensor q = at::randn({c.B, c.H, c.T, c.D});
    // As the decoder makes them: [B, S, Hkv, D] transposed, so the head dimension is the only contiguous one.
    const at::Tensor k = (at::randn({c.B, S, c.Hkv, c.D}) * 2).transpose(1, 2);
    const at::Tensor v = at::randn({c.B, S, c.Hkv, c.D}).transpose(1, 2);
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.D));
    ASSERT_TRUE(basis::blocks::smallHeadAttentionApplies(q, k, v));

    const at::Tensor fused = basis::blocks::smallHeadAttention(q, k, v, c.start, scale, c.window);
    const at::Tensor general = basis::blocks::matmulCausalAttention(q, k, v, c.start, scale, c.window);
    const at::Tensor reference = bruteForce(q, k, v, c.start, scale, c.window);
    ASSERT_EQ(fused.sizes(), reference.sizes());
    // Outputs are averages of values of size ~1: float32 rounding of a few hundred terms stays under 2e-6.
    EXPECT_LT((fused.to(at::kDouble) - reference).abs().max().item<double>(), 2e-6);
    EXPECT_LT((general.to(at::kDouble) - reference).abs().max().item<double>(), 2e-6);
    // The dispatcher takes the fused path for these shapes.
    EXPECT_TRUE(at::equal(basis::blocks::causalAttention(q, k, v, c.start, scale, c.window), fused));
}

INSTANTIATE_TEST_SUITE_P(Shapes, SmallHeadAttention,
                         ::testing::Values(Case{3, 8, 4, 67, 0, 8, 0},      // stories260K's heads, odd length
                                           Case{2, 4, 4, 40, 0, 16, 0},     // no grouping
                                           Case{1, 6, 2, 33, 0, 32, 0},     // widest fused head, G = 3
                                           Case{2, 8, 4, 1, 29, 8, 0},      // one decode step after a cache of 29
                                           Case{2, 8, 2, 5, 17, 8, 0},      // a chunk after a cache
                                           Case{2, 4, 2, 50, 0, 8, 7},      // sliding window
                                           Case{1, 4, 2, 3, 20, 8, 6}));    // window with a cache

TEST(SmallHeadAttentionDispatch, GradientsAndWideHeadsTakeTheMatmulPath)
{
    const at::Tensor q = at::randn({1, 2, 4, 8}), k = at::randn({1, 2, 4, 8}), v = at::randn({1, 2, 4, 8});
    EXPECT_TRUE(basis::blocks::smallHeadAttentionApplies(q, k, v));
    EXPECT_FALSE(basis::blocks::smallHeadAttentionApplies(q.clone().requires_grad_(true), k, v));
    EXPECT_FALSE(basis::blocks::smallHeadAttentionApplies(q.to(at::kDouble), k.to(at::kDouble), v.to(at::kDouble)));
    const at::Tensor wide = at::randn({1, 2, 4, basis::blocks::kSmallHeadMaxDim + 1});
    EXPECT_FALSE(basis::blocks::smallHeadAttentionApplies(wide, wide, wide));
}

} // namespace
