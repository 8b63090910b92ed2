#include "small_head_attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <vector>

// The loops below are written so the compiler vectorizes them (independent lanes, no float reduction it would
// have to reorder). On x86-64 the kernel is built twice, for x86-64-v3 (AVX2 + FMA) and for the baseline, and the
// loader picks one per machine; elsewhere it is built once.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BASIS_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define BASIS_VECTOR_CLONES
#endif
#define BASIS_INLINE inline __attribute__((always_inline))
// The helpers taking and returning 8-float vectors are always inlined, so no call crosses the ABI GCC warns of.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace basis::blocks {

namespace {

// Eight floats as one value (GCC's vector extension): one AVX register in the x86-64-v3 clone, two SSE registers
// in the baseline. Accumulators of this type stay in registers where arrays of floats were spilled to the stack.
typedef float Floats8 __attribute__((vector_size(32)));
typedef int Ints8 __attribute__((vector_size(32)));

BASIS_INLINE Floats8 load8(const float* p)
{
    Floats8 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

BASIS_INLINE float sum8(Floats8 v)
{
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

BASIS_INLINE void store8(float* p, Floats8 v) { std::memcpy(p, &v, sizeof v); }

BASIS_INLINE Floats8 splat8(float x) { return Floats8{} + x; }

BASIS_INLINE Floats8 max8(Floats8 a, Floats8 b) { return a > b ? a : b; }

BASIS_INLINE float maxOf(const float* a, int64_t n)
{
    float m = a[0];
    int64_t j = 0;
    if (n >= 16) {
        Floats8 m0 = load8(a), m1 = load8(a + 8);
        for (j = 16; j + 16 <= n; j += 16) {
            m0 = max8(m0, load8(a + j));
            m1 = max8(m1, load8(a + j + 8));
        }
        const Floats8 both = max8(m0, m1);
        for (int l = 0; l < 8; ++l)
            m = m > both[l] ? m : both[l];
    }
    for (; j < n; ++j)
        m = m > a[j] ? m : a[j];
    return m;
}

// exp(x) for x <= 0 (scores minus their maximum), eight at a time, Cephes' single-precision scheme: x = n ln 2 + r
// with |r| <= ln 2 / 2, a degree-6 polynomial for e^r, 2^n put in the exponent bits. Relative error about 1e-7,
// as libm's expf. x is clamped at -87 first (e^-87 = 1.6e-38 cannot move a sum whose largest term is 1).
BASIS_INLINE Floats8 exp8(Floats8 x)
{
    x = x < -87.0f ? splat8(-87.0f) : x;
    const Ints8 n = __builtin_convertvector(x * 1.44269504088896341f - 0.5f, Ints8);   // truncation: rounds x <= 0
    const Floats8 fn = __builtin_convertvector(n, Floats8);
    const Floats8 r = (x - fn * 0.693359375f) - fn * -2.12194440e-4f;
    Floats8 p = splat8(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const Floats8 y = p * r * r + r + 1.0f;
    const Ints8 bits = (n + 127) << 23;
    Floats8 scaleBy;
    std::memcpy(&scaleBy, &bits, sizeof scaleBy);
    return y * scaleBy;
}

// e^(s_j - m) in place, in one pass; returns their sum.
BASIS_INLINE float expShiftedInPlace(float* s, int64_t n, float m)
{
    // One vector a step: the exp's constants then stay in registers, and independent steps overlap anyway.
    Floats8 sum = {};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const Floats8 e = exp8(load8(s + j) - m);
        store8(s + j, e);
        sum += e;
    }
    float total = sum8(sum);
    if (j < n) {   // the last 1..7 keys; lanes past n are neither read nor added
        const int64_t lanes = n - j;
        Floats8 x = splat8(-87.0f);
        for (int64_t l = 0; l < lanes; ++l)
            x[l] = s[j + l] - m;
        const Floats8 e = exp8(x);
        for (int64_t l = 0; l < lanes; ++l) {
            s[j + l] = e[l];
            total += e[l];
        }
    }
    return total;
}

struct HeadView {
    const float* q;              // [T, D] rows of D
    const float* k;              // key j at k + j * keyStride
    const float* v;
    int64_t keyStride, valueStride;
    float* out;                  // query i's D outputs at out + i * outStride
    int64_t outStride;
};

// Query rows go through in blocks of kRows: each key vector loaded serves all of them, for the scores and for
// the weighted values alike (neighbouring rows see the same keys but for the last few).
constexpr int kRows = 4;   // the loops below name one accumulator pair per row
// Keys per tile of the weighted-value loop: 4 rows of probabilities and 32 dimensions of values, 2 KB + 16 KB at
// most, fit in L1 beside the outputs (multiple of 16, so only the last tile has a tail).
constexpr int64_t kKeyTile = 128;

// One (batch, head): keys and values transposed to [D, keys] so every inner loop runs over keys, contiguous.
// `s` holds kRows rows of `used` floats.
BASIS_VECTOR_CLONES
void attendHead(const HeadView& h, int64_t T, int64_t S, int64_t D, int64_t start, float scale, int64_t window,
                float* kt, float* vt, float* s)
{
    const int64_t used = std::min(S, start + T);   // no query sees past its own position
    for (int64_t j = 0; j < used; ++j)
        for (int64_t d = 0; d < D; ++d) {
            kt[d * used + j] = h.k[j * h.keyStride + d];
            vt[d * used + j] = h.v[j * h.valueStride + d];
        }
    auto firstKey = [&](int64_t i) { return window > 0 ? std::max<int64_t>(0, start + i - window + 1) : 0; };
    auto endKey = [&](int64_t i) { return std::min(used, start + i + 1); };
    for (int64_t i0 = 0; i0 < T; i0 += kRows) {
        const int64_t rows = std::min<int64_t>(kRows, T - i0);
        const int64_t base = firstKey(i0), nb = endKey(i0 + rows - 1) - base;   // keys any row of the block sees
        const float* qr[kRows];
        for (int r = 0; r < kRows; ++r)
            qr[r] = h.q + std::min<int64_t>(i0 + r, T - 1) * D;   // rows past the end repeat the last; never stored
        // Scores 16 keys at a time for all rows, summed over the head in registers (named values, as below) and
        // stored once; then 8 at a time, then one by one.
        int64_t j = 0;
        for (; j + 16 <= nb; j += 16) {
            Floats8 a0 = {}, b0 = {}, a1 = {}, b1 = {}, a2 = {}, b2 = {}, a3 = {}, b3 = {};
            for (int64_t d = 0; d < D; ++d) {
                const float* kd = kt + d * used + base + j;
                const Floats8 k0 = load8(kd), k1 = load8(kd + 8);
                a0 += qr[0][d] * k0;
                b0 += qr[0][d] * k1;
                a1 += qr[1][d] * k0;
                b1 += qr[1][d] * k1;
                a2 += qr[2][d] * k0;
                b2 += qr[2][d] * k1;
                a3 += qr[3][d] * k0;
                b3 += qr[3][d] * k1;
            }
            store8(s + j, a0 * scale);
            store8(s + j + 8, b0 * scale);
            store8(s + used + j, a1 * scale);
            store8(s + used + j + 8, b1 * scale);
            store8(s + 2 * used + j, a2 * scale);
            store8(s + 2 * used + j + 8, b2 * scale);
            store8(s + 3 * used + j, a3 * scale);
            store8(s + 3 * used + j + 8, b3 * scale);
        }
        for (; j + 8 <= nb; j += 8) {
            Floats8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
            for (int64_t d = 0; d < D; ++d) {
                const Floats8 k0 = load8(kt + d * used + base + j);
                a0 += qr[0][d] * k0;
                a1 += qr[1][d] * k0;
                a2 += qr[2][d] * k0;
                a3 += qr[3][d] * k0;
            }
            store8(s + j, a0 * scale);
            store8(s + used + j, a1 * scale);
            store8(s + 2 * used + j, a2 * scale);
            store8(s + 3 * used + j, a3 * scale);
        }
        for (; j < nb; ++j)
            for (int r = 0; r < kRows; ++r) {
                float acc = 0;
                for (int64_t d = 0; d < D; ++d)
                    acc += qr[r][d] * kt[d * used + base + j];
                s[r * used + j] = acc * scale;
            }
        // Softmax of each row over its own keys; the block's other keys weigh 0.
        float inverseSum[kRows] = {};
        for (int r = 0; r < kRows; ++r) {
            float* sr = s + r * used;
            if (r >= rows) {
                std::fill(sr, sr + nb, 0.0f);
                continue;
            }
            const int64_t off = firstKey(i0 + r) - base, n = endKey(i0 + r) - base - off;
            inverseSum[r] = 1.0f / expShiftedInPlace(sr + off, n, maxOf(sr + off, n));
            std::fill(sr, sr + off, 0.0f);
            std::fill(sr + off + n, sr + nb, 0.0f);
        }
        // Weighted values: per tile of keys (so that tile's probabilities and values stay in L1 while every head
        // dimension reads them), per head dimension, every row against the same 16 values at a time. Two
        // accumulators a row, as named values (an array of them was zeroed in memory each time).
        const float* s0 = s;
        const float* s1 = s + used;
        const float* s2 = s + 2 * used;
        const float* s3 = s + 3 * used;
        Floats8 out[kRows][kSmallHeadMaxDim];   // per row and dimension, 8 partial sums, added up once at the end
        float tail[kRows][kSmallHeadMaxDim];
        for (int r = 0; r < kRows; ++r)
            for (int64_t d = 0; d < D; ++d) {
                out[r][d] = Floats8{};
                tail[r][d] = 0;
            }
        for (int64_t t0 = 0; t0 < nb; t0 += kKeyTile) {
            const int64_t t1 = std::min<int64_t>(nb, t0 + kKeyTile);
            for (int64_t d = 0; d < D; ++d) {
                const float* vd = vt + d * used + base;
                Floats8 a0 = {}, b0 = {}, a1 = {}, b1 = {}, a2 = {}, b2 = {}, a3 = {}, b3 = {};
                int64_t jj = t0;
                for (; jj + 16 <= t1; jj += 16) {
                    const Floats8 v0 = load8(vd + jj), v1 = load8(vd + jj + 8);
                    a0 += load8(s0 + jj) * v0;
                    b0 += load8(s0 + jj + 8) * v1;
                    a1 += load8(s1 + jj) * v0;
                    b1 += load8(s1 + jj + 8) * v1;
                    a2 += load8(s2 + jj) * v0;
                    b2 += load8(s2 + jj + 8) * v1;
                    a3 += load8(s3 + jj) * v0;
                    b3 += load8(s3 + jj + 8) * v1;
                }
                if (jj + 8 <= t1) {
                    const Floats8 v0 = load8(vd + jj);
                    a0 += load8(s0 + jj) * v0;
                    a1 += load8(s1 + jj) * v0;
                    a2 += load8(s2 + jj) * v0;
                    a3 += load8(s3 + jj) * v0;
                    jj += 8;
                }
                out[0][d] += a0 + b0;
                out[1][d] += a1 + b1;
                out[2][d] += a2 + b2;
                out[3][d] += a3 + b3;
                for (; jj < t1; ++jj) {
                    tail[0][d] += s0[jj] * vd[jj];
                    tail[1][d] += s1[jj] * vd[jj];
                    tail[2][d] += s2[jj] * vd[jj];
                    tail[3][d] += s3[jj] * vd[jj];
                }
            }
        }
        for (int r = 0; r < rows; ++r)
            for (int64_t d = 0; d < D; ++d)
                h.out[(i0 + r) * h.outStride + d] = (sum8(out[r][d]) + tail[r][d]) * inverseSum[r];
    }
}

} // namespace

bool smallHeadAttentionApplies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v)
{
    for (const at::Tensor* t : {&q, &k, &v})
        if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || t->requires_grad() || t->dim() != 4)
            return false;
    return q.size(3) <= kSmallHeadMaxDim && q.size(2) > 0;
}

at::Tensor smallHeadAttention(const at::Tensor& qIn, const at::Tensor& kIn, const at::Tensor& vIn, int64_t start,
                              double scale, int64_t window)
{
    const at::Tensor q = qIn.contiguous();
    // Keys and values are read row by row: any layout whose head dimension is contiguous will do.
    const at::Tensor k = kIn.stride(3) == 1 ? kIn : kIn.contiguous();
    const at::Tensor v = vIn.stride(3) == 1 ? vIn : vIn.contiguous();
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    const int64_t Hkv = k.size(1), S = k.size(2), G = H / Hkv;
    at::Tensor out = at::empty({B, T, H, D}, q.options());
    const float* qp = q.data_ptr<float>();
    const float* kp = k.data_ptr<float>();
    const float* vp = v.data_ptr<float>();
    float* op = out.data_ptr<float>();
    const int64_t used = std::min(S, start + T);
    at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> buffer(static_cast<size_t>((2 * D + kRows) * used));
        for (int64_t task = begin; task < end; ++task) {
            const int64_t b = task / H, head = task % H, kvHead = head / G;
            HeadView view;
            view.q = qp + (b * H + head) * T * D;
            view.k = kp + b * k.stride(0) + kvHead * k.stride(1);
            view.v = vp + b * v.stride(0) + kvHead * v.stride(1);
            view.keyStride = k.stride(2);
            view.valueStride = v.stride(2);
            view.out = op + (b * T * H + head) * D;
            view.outStride = H * D;
            attendHead(view, T, S, D, start, static_cast<float>(scale), window, buffer.data(),
                       buffer.data() + D * used, buffer.data() + 2 * D * used);
        }
    });
    return out.view({B, T, H * D});
}

} // namespace basis::blocks
