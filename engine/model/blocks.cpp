#include "blocks.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

namespace basis::blocks {

at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps)
{
    at::Tensor h = x.to(at::kFloat);
    at::Tensor variance = h.pow(2).mean({-1}, /*keepdim=*/true);
    h = h * at::rsqrt(variance + eps);
    return weight * h.to(x.scalar_type());
}

at::Tensor layerNorm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps)
{
    return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
}

at::Tensor activate(const at::Tensor& x, Activation act)
{
    switch (act) {
    case Activation::GeluTanh: return at::gelu(x, "tanh");
    case Activation::GeluExact: return at::gelu(x);
    case Activation::Relu: return at::relu(x);
    case Activation::Silu: return at::silu(x);
    }
    return x;
}

void ropeTables(int64_t start, int64_t tokens, int64_t headDim, double theta, c10::Device device,
                c10::ScalarType dtype, at::Tensor& cos, at::Tensor& sin)
{
    // As transformers: inv_freq = 1 / theta^(arange(0, d, 2) / d) in float32, freqs = pos x inv_freq.
    auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
    at::Tensor exponents = at::arange(0, headDim, 2, at::TensorOptions().dtype(at::kLong).device(device)).to(at::kFloat) /
        static_cast<double>(headDim);
    at::Tensor invFreq = at::reciprocal(at::pow(theta, exponents));
    at::Tensor positions = at::arange(start, start + tokens, f32);
    at::Tensor freqs = at::outer(positions, invFreq);
    at::Tensor emb = at::cat({freqs, freqs}, -1);
    cos = emb.cos().to(dtype);
    sin = emb.sin().to(dtype);
}

at::Tensor applyRope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin)
{
    const int64_t half = x.size(-1) / 2;
    at::Tensor x1 = x.narrow(-1, 0, half);
    at::Tensor x2 = x.narrow(-1, half, half);
    at::Tensor rotated = at::cat({-x2, x1}, -1);
    return x * cos + rotated * sin;
}

namespace {

// Additive mask [T, S]: 0 where query i may see key j, the lowest float elsewhere (as transformers does).
at::Tensor causalMask(int64_t tokens, int64_t keys, int64_t start, int64_t window, c10::Device device)
{
    auto opts = at::TensorOptions().dtype(at::kLong).device(device);
    at::Tensor qpos = at::arange(start, start + tokens, opts).unsqueeze(1);
    at::Tensor kpos = at::arange(0, keys, opts).unsqueeze(0);
    at::Tensor blocked = kpos > qpos;
    if (window > 0)
        blocked = blocked.logical_or(kpos <= qpos - window);
    at::Tensor mask = at::zeros({tokens, keys}, at::TensorOptions().dtype(at::kFloat).device(device));
    return mask.masked_fill_(blocked, std::numeric_limits<float>::lowest());
}

} // namespace

at::Tensor causalAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t start,
                           double scale, int64_t window)
{
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    const int64_t Hkv = k.size(1), S = k.size(2), G = H / Hkv;
    // Grouped queries: the G query heads of one kv head become G x T rows against the same keys.
    at::Tensor qg = q.reshape({B, Hkv, G * T, D});
    at::Tensor scores = at::matmul(qg, k.transpose(-1, -2)).view({B, Hkv, G, T, S});
    scores.mul_(scale);
    bool needMask = T > 1 || window > 0;
    at::Tensor probs;
    if (needMask) {
        at::Tensor mask = causalMask(T, S, start, window, q.device());
        probs = at::softmax(scores.to(at::kFloat) + mask, -1).to(q.scalar_type());
    } else {
        probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    }
    at::Tensor out = at::matmul(probs.view({B, Hkv, G * T, S}), v);   // [B, Hkv, G*T, D]
    return out.view({B, H, T, D}).transpose(1, 2).reshape({B, T, H * D});
}

} // namespace basis::blocks
