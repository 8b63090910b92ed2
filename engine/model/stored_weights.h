#pragma once
// Weights kept in the dtype the checkpoint stores them in. A bfloat16 or float16 checkpoint computed in float32
// on the CPU keeps its big matrices (embedding, head, projections) as zero-copy views of the read-only memory map
// and widens a matrix only for the matmul that reads it (a temporary of one matrix, at most the head's): loading
// costs the file's pages (file-backed, evictable) instead of twice the file in anonymous float32 copies. (LibTorch 1.13 has no CPU float16 matmul, so
// float16 weights are always computed in float32.)
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace basis {

// Whether a weight stored as `stored` stays in that dtype for a model computing in `compute` on `device`:
// 16-bit floating weights on the CPU when the compute dtype is float32.
bool keepsStoredDType(c10::ScalarType stored, c10::ScalarType compute, c10::Device device);

// y = x W^T + b for W [out, in] (inOut false) or y = x W + b for W [in, out] (inOut true), where W may be kept in a
// narrower stored dtype than x: it is then widened to x's dtype for this one product, which therefore gives exactly
// what a model widened on load gives (widening bfloat16/float16 to float32 is exact).
at::Tensor linearStored(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, bool inOut);

// t in `dtype` (t itself when it already is).
at::Tensor widened(const at::Tensor& t, c10::ScalarType dtype);

} // namespace basis
