#include "group_quantizer.h"

#include "error.h"
#include "quant_settings.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <vector>

namespace basis {

namespace {

constexpr int64_t kGroup = kQuantGroupColumns;

double maxCode(int64_t bits) { return static_cast<double>((int64_t{1} << bits) - 1); }

// Per-group values (m x G) repeated over their columns (m x d).
at::Tensor expandGroups(const at::Tensor& perGroup, int64_t d)
{
    return perGroup.repeat_interleave(kGroup, 1).narrow(1, 0, d);
}

void checkBits(int64_t bits)
{
    if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
        throw Error("bits must be 2, 3, 4 or 8, got " + std::to_string(bits));
}

// The rule of groupScaleZero from each group's min and max (any shape).
void scaleZeroFromRange(const at::Tensor& lo, const at::Tensor& hi, int64_t bits, at::Tensor& scale, at::Tensor& zero)
{
    scale = ((hi - lo) / maxCode(bits)).to(at::kHalf).to(at::kDouble);
    scale = at::where(hi == lo, at::ones_like(scale), scale);
    scale = at::where(scale == 0, at::ones_like(scale), scale);
    zero = at::round(-lo / scale).clamp(-65504.0, 65504.0).to(at::kHalf).to(at::kDouble);
}

} // namespace

void groupScaleZero(const at::Tensor& block, int64_t bits, at::Tensor& scale, at::Tensor& zero)
{
    scaleZeroFromRange(block.amin(1), block.amax(1), bits, scale, zero);
}

at::Tensor quantizeColumns(const at::Tensor& w, const at::Tensor& scale, const at::Tensor& zero, int64_t bits)
{
    return at::clamp(at::round(w / scale.unsqueeze(1)) + zero.unsqueeze(1), 0.0, maxCode(bits));
}

QuantizedRows quantizeRtn(const at::Tensor& w, int64_t bits)
{
    c10::InferenceMode inference;
    checkBits(bits);
    const int64_t m = w.size(0), d = w.size(1), full = d / kGroup * kGroup;
    std::vector<at::Tensor> lo, hi;
    if (full > 0) {
        const at::Tensor v = w.narrow(1, 0, full).reshape({m, full / kGroup, kGroup});
        lo.push_back(v.amin(2));
        hi.push_back(v.amax(2));
    }
    if (d > full) {   // the short last group of every row
        const at::Tensor t = w.narrow(1, full, d - full);
        lo.push_back(t.amin(1, true));
        hi.push_back(t.amax(1, true));
    }
    at::Tensor scale, zero;   // m x G, all groups at once
    scaleZeroFromRange(at::cat(lo, 1), at::cat(hi, 1), bits, scale, zero);
    const at::Tensor q = at::clamp(at::round(w / expandGroups(scale, d)) + expandGroups(zero, d), 0.0, maxCode(bits));
    return {bits, q.to(at::kByte), scale.to(at::kHalf), zero.to(at::kHalf)};
}

QuantizedRows quantizeLdlq(const at::Tensor& w, const at::Tensor& h, int64_t bits)
{
    c10::InferenceMode inference;
    checkBits(bits);
    const int64_t m = w.size(0), d = w.size(1), groups = (d + kGroup - 1) / kGroup;
    if (h.size(0) != d || h.size(1) != d)
        throw Error("internal: ldlq needs a " + std::to_string(d) + " x " + std::to_string(d) + " H");
    const at::Tensor eye = at::eye(d, h.options());
    const at::Tensor hd = h + 0.01 * h.diagonal().mean() * eye;
    auto [lower, info] = at::linalg_cholesky_ex(hd);
    if (info.item<int64_t>() != 0)
        throw Error("ldlq: H + 0.01 mean(diag H) I is not positive definite");
    const at::Tensor hinv = at::cholesky_inverse(lower);
    const at::Tensor u = at::linalg_cholesky(hinv, /*upper=*/true);

    at::Tensor e = w.clone();
    at::Tensor codes = at::empty({m, d}, w.options());
    at::Tensor scales = at::empty({m, groups}, w.options()), zeros = at::empty({m, groups}, w.options());
    for (int64_t g = 0; g < groups; ++g) {
        const int64_t b0 = g * kGroup, c = std::min(kGroup, d - b0);
        at::Tensor block = e.narrow(1, b0, c).clone();   // every earlier block's feedback already applied
        at::Tensor scale, zero;
        groupScaleZero(block, bits, scale, zero);
        scales.select(1, g).copy_(scale);
        zeros.select(1, g).copy_(zero);
        at::Tensor errs = at::empty({m, c}, w.options());
        const at::Tensor ub = u.narrow(0, b0, c).narrow(1, b0, c);
        for (int64_t i = 0; i < c; ++i) {
            const at::Tensor col = block.select(1, i);
            const at::Tensor q = quantizeColumns(col.unsqueeze(1), scale, zero, bits).squeeze(1);
            codes.select(1, b0 + i).copy_(q);
            const at::Tensor err = (col - (q - zero) * scale) / ub[i][i];
            errs.select(1, i).copy_(err);
            if (i + 1 < c)
                block.narrow(1, i + 1, c - i - 1).sub_(at::outer(err, ub[i].narrow(0, i + 1, c - i - 1)));
        }
        if (b0 + c < d)
            e.narrow(1, b0 + c, d - b0 - c).sub_(at::matmul(errs, u.narrow(0, b0, c).narrow(1, b0 + c, d - b0 - c)));
    }
    return {bits, codes.to(at::kByte), scales.to(at::kHalf), zeros.to(at::kHalf)};
}

at::Tensor dequantizeRows(const QuantizedRows& q, c10::ScalarType dtype)
{
    c10::InferenceMode inference;
    // float16 scales and zeros are exact in float32, and (q - zero) is an exact integer there too: one rounding.
    const c10::ScalarType compute = dtype == at::kDouble ? at::kDouble : at::kFloat;
    const int64_t d = q.codes.size(1);
    const at::Tensor zero = expandGroups(q.zeros.to(compute), d), scale = expandGroups(q.scales.to(compute), d);
    return ((q.codes.to(compute) - zero) * scale).to(dtype);
}

at::Tensor packCodes(const at::Tensor& codes, int64_t bits)
{
    c10::InferenceMode inference;
    const int64_t m = codes.size(0), d = codes.size(1), bytes = (d * bits + 7) / 8;
    const at::Tensor shifts = at::arange(bits, codes.options().dtype(at::kInt));
    at::Tensor stream = at::bitwise_and(at::bitwise_right_shift(codes.to(at::kInt).unsqueeze(2), shifts), 1).reshape({m, d * bits});
    stream = at::constant_pad_nd(stream, {0, bytes * 8 - d * bits}).reshape({m, bytes, 8});
    const at::Tensor weights = at::bitwise_left_shift(at::ones({8}, stream.options()), at::arange(8, stream.options()));
    return (stream * weights).sum(2).to(at::kByte).contiguous();
}

at::Tensor unpackCodes(const at::Tensor& packed, int64_t d, int64_t bits)
{
    c10::InferenceMode inference;
    const int64_t m = packed.size(0), bytes = packed.size(1);
    if (bytes != (d * bits + 7) / 8)
        throw Error("internal: packed codes of " + std::to_string(bytes) + " bytes per row for " + std::to_string(d) +
                    " columns of " + std::to_string(bits) + " bits");
    const at::Tensor p = packed.to(at::kInt);
    const at::Tensor stream = at::bitwise_and(at::bitwise_right_shift(p.unsqueeze(2), at::arange(8, p.options())), 1)
                                  .reshape({m, bytes * 8})
                                  .narrow(1, 0, d * bits)
                                  .reshape({m, d, bits});
    const at::Tensor weights = at::bitwise_left_shift(at::ones({bits}, p.options()), at::arange(bits, p.options()));
    return (stream * weights).sum(2).to(at::kByte).contiguous();
}

} // namespace basis
