#include "blocks.h"

#include "small_head_attention.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>
#include <limits>

namespace basis::blocks {

at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps)
{
    at::Tensor h = x.to(at::kFloat);
    at::Tensor variance = h.pow(2).mean({-1}, /*keepdim=*/true);
    h = h * at::rsqrt(variance + eps);
    return weight * h.to(x.scalar_type());
}

at::Tensor rmsNormUnitOffset(const at::Tensor& x, const at::Tensor& weight, double eps)
{
    at::Tensor h = x.to(at::kFloat);
    h = h * at::rsqrt(h.pow(2).mean({-1}, /*keepdim=*/true) + eps);
    return (h * (weight.to(at::kFloat) + 1.0)).to(x.scalar_type());
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

at::Tensor ropeInverseFrequencies(int64_t headDim, double theta, const RopeScaling& scaling, c10::Device device)
{
    // As transformers: inv_freq = 1 / theta^(arange(0, d, 2) / d) in float32.
    at::Tensor exponents = at::arange(0, headDim, 2, at::TensorOptions().dtype(at::kLong).device(device)).to(at::kFloat) /
        static_cast<double>(headDim);
    at::Tensor invFreq = at::reciprocal(at::pow(theta, exponents));
    if (scaling.type != RopeScaling::Type::Llama3)
        return invFreq;
    // transformers' _compute_llama3_parameters, in its float32 operation order: wavelengths above
    // L / low_freq_factor are divided by factor, those below L / high_freq_factor kept, and the band between
    // interpolated by s = (L / wavelength - low) / (high - low).
    const double L = static_cast<double>(scaling.originalMaxPositions);
    const double lowWavelen = L / scaling.lowFreqFactor, highWavelen = L / scaling.highFreqFactor;
    at::Tensor wavelen = 2 * M_PI / invFreq;
    at::Tensor scaled = at::where(wavelen > lowWavelen, invFreq / scaling.factor, invFreq);
    at::Tensor smooth = (L / wavelen - scaling.lowFreqFactor) / (scaling.highFreqFactor - scaling.lowFreqFactor);
    at::Tensor smoothed = (1 - smooth) * scaled / scaling.factor + smooth * scaled;
    at::Tensor medium = (wavelen >= highWavelen).logical_and(wavelen <= lowWavelen);
    return at::where(medium, smoothed, scaled);
}

void ropeTables(int64_t start, int64_t tokens, int64_t headDim, double theta, const RopeScaling& scaling,
                c10::Device device, c10::ScalarType dtype, at::Tensor& cos, at::Tensor& sin)
{
    auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
    at::Tensor invFreq = ropeInverseFrequencies(headDim, theta, scaling, device);
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
                           double scale, int64_t window, bool allowFused)
{
    if (allowFused && smallHeadAttentionApplies(q, k, v))
        return smallHeadAttention(q, k, v, start, scale, window);
    return matmulCausalAttention(q, k, v, start, scale, window);
}

at::Tensor matmulCausalAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t start,
                                 double scale, int64_t window)
{
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    const int64_t Hkv = k.size(1), S = k.size(2), G = H / Hkv;
    // Queries go in blocks whose score matrix stays under ~16 MB: glibc serves such blocks from its heap
    // instead of fresh zeroed pages (a 1024-token GPT-2 window otherwise spends a third of its time in page
    // faults), and each block only needs the keys up to its last query.
    constexpr int64_t kBlockBytes = 16 << 20;
    const int64_t block = std::max<int64_t>(1, std::min<int64_t>(T, kBlockBytes / (4 * B * H * std::max<int64_t>(S, 1))));
    std::vector<at::Tensor> outs;
    for (int64_t t0 = 0; t0 < T; t0 += block) {
        const int64_t tb = std::min(block, T - t0);
        const int64_t keys = std::min(S, start + t0 + tb);          // causal: later keys are never seen
        const int64_t first = window > 0 ? std::max<int64_t>(0, start + t0 - window + 1) : 0;
        at::Tensor kb = k.narrow(2, first, keys - first), vb = v.narrow(2, first, keys - first);
        // Grouped queries: the G query heads of one kv head become G x tb rows against the same keys.
        at::Tensor qg = q.narrow(2, t0, tb).reshape({B, Hkv, G * tb, D});
        at::Tensor scores = at::matmul(qg, kb.transpose(-1, -2)).view({B, Hkv, G, tb, keys - first});
        scores.mul_(scale);
        at::Tensor probs;
        if (tb > 1 || window > 0 || keys < S) {
            at::Tensor mask = causalMask(tb, keys - first, start + t0 - first, window, q.device());
            if (scores.scalar_type() == at::kFloat)
                probs = at::softmax(scores.add_(mask), -1);
            else
                probs = at::softmax(scores.to(at::kFloat).add_(mask), -1).to(q.scalar_type());
        } else {
            probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
        }
        outs.push_back(at::matmul(probs.view({B, Hkv, G * tb, keys - first}), vb).view({B, H, tb, D}));
    }
    at::Tensor out = outs.size() == 1 ? outs[0] : at::cat(outs, 2);
    return out.transpose(1, 2).reshape({B, T, H * D});
}

} // namespace basis::blocks
