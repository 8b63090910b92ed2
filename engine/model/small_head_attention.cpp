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

constexpr int kLanes = 16;

// Eight floats as one value (GCC's vector extension): one AVX register in the x86-64-v3 clone, two SSE registers
// in the baseline. Accumulators of this type stay in registers where arrays of floats were spilled to the stack.
typedef float Floats8 __attribute__((vector_size(32)));

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

BASIS_INLINE float sumLanes(const float* acc)
{
    float t = 0;
    for (int l = 0; l < kLanes; ++l)
        t += acc[l];
    return t;
}

BASIS_INLINE float maxOf(const float* a, int64_t n)
{
    float acc[kLanes];
    for (int l = 0; l < kLanes; ++l)
        acc[l] = a[0];
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int l = 0; l < kLanes; ++l)
            acc[l] = acc[l] > a[j + l] ? acc[l] : a[j + l];
    for (int l = 0; j < n; ++j, ++l)
        acc[l] = acc[l] > a[j] ? acc[l] : a[j];
    float m = acc[0];
    for (int l = 1; l < kLanes; ++l)
        m = m > acc[l] ? m : acc[l];
    return m;
}

// exp(x) for x <= 0 (scores minus their maximum), Cephes' single-precision scheme: x = n ln 2 + r with
// |r| <= ln 2 / 2, a degree-6 polynomial for e^r, 2^n put in the exponent bits. Relative error about 1e-7, as
// libm's expf. The caller clamps x at -87 first (e^-87 = 1.6e-38 cannot move a sum whose largest term is 1):
// with the clamp inside, GCC 12 no longer vectorizes the loop.
BASIS_INLINE float expNonPositive(float x)
{
    const int n = static_cast<int>(x * 1.44269504088896341f - 0.5f);   // truncation: round to nearest for x <= 0
    const float fn = static_cast<float>(n);
    const float r = (x - fn * 0.693359375f) - fn * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = p * r * r + r + 1.0f;
    const int bits = (n + 127) << 23;
    float scaleBy;
    std::memcpy(&scaleBy, &bits, sizeof scaleBy);
    return y * scaleBy;
}

// e^(s_j - m) in place; returns their sum.
BASIS_INLINE float expShiftedInPlace(float* s, int64_t n, float m)
{
    for (int64_t j = 0; j < n; ++j) {
        const float t = s[j] - m;
        s[j] = t < -87.0f ? -87.0f : t;
    }
    for (int64_t j = 0; j < n; ++j)
        s[j] = expNonPositive(s[j]);
    float acc[kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int l = 0; l < kLanes; ++l)
            acc[l] += s[j + l];
    for (int l = 0; j < n; ++j, ++l)
        acc[l] += s[j];
    return sumLanes(acc);
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
constexpr int kRows = 4;

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
        // Scores 16 keys at a time for all rows, summed over the head in registers and stored once.
        int64_t j = 0;
        for (; j + 16 <= nb; j += 16) {
            Floats8 acc[kRows][2] = {};
            for (int64_t d = 0; d < D; ++d) {
                const float* kd = kt + d * used + base + j;
                const Floats8 k0 = load8(kd), k1 = load8(kd + 8);
                for (int r = 0; r < kRows; ++r) {
                    const float qd = qr[r][d];
                    acc[r][0] += qd * k0;
                    acc[r][1] += qd * k1;
                }
            }
            for (int r = 0; r < kRows; ++r) {
                const Floats8 a0 = acc[r][0] * scale, a1 = acc[r][1] * scale;
                std::memcpy(s + r * used + j, &a0, sizeof a0);
                std::memcpy(s + r * used + j + 8, &a1, sizeof a1);
            }
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
        // Weighted values: per head dimension, every row against the same 8 values at a time.
        for (int64_t d = 0; d < D; ++d) {
            const float* vd = vt + d * used + base;
            // Two accumulators a row: eight independent chains keep the FMA units busy despite their latency.
            Floats8 acc[kRows][2] = {};
            int64_t jj = 0;
            for (; jj + 16 <= nb; jj += 16) {
                const Floats8 v0 = load8(vd + jj), v1 = load8(vd + jj + 8);
                for (int r = 0; r < kRows; ++r) {
                    acc[r][0] += load8(s + r * used + jj) * v0;
                    acc[r][1] += load8(s + r * used + jj + 8) * v1;
                }
            }
            for (; jj + 8 <= nb; jj += 8) {
                const Floats8 v0 = load8(vd + jj);
                for (int r = 0; r < kRows; ++r)
                    acc[r][0] += load8(s + r * used + jj) * v0;
            }
            float tail[kRows] = {};
            for (; jj < nb; ++jj)
                for (int r = 0; r < kRows; ++r)
                    tail[r] += s[r * used + jj] * vd[jj];
            for (int r = 0; r < rows; ++r)
                h.out[(i0 + r) * h.outStride + d] = (sum8(acc[r][0] + acc[r][1]) + tail[r]) * inverseSum[r];
        }
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
