#pragma once
// A projection stored as Q + L R (caldera, rtn, gptq) the way model.safetensors holds it, and its dequantized
// form. The slot (engine/model/linear_slot.h) keeps both: the stored tensors for saving and the counts, and Q
// dequantized ONCE at install or load into the model's dtype, so the forward pass is one dense GEMM plus two thin
// ones (y = Q x + L (R x) + b): the same speed as dense plus the rank-k correction, at the memory of a dense weight
// plus the packed copy. (Dequantizing on the fly would need a fused low-bit kernel LibTorch 1.13 does not have.)
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace basis {

struct QuantizedWeight {
    int64_t bits = 0;
    at::Tensor packed;   // uint8 [out, ceil(in * bits / 8)] (packCodes in group_quantizer.h), CPU
    at::Tensor scales;   // float16 [out, ceil(in / 64)], CPU
    at::Tensor zeros;    // float16 [out, ceil(in / 64)], CPU
    at::Tensor lowL;     // [out, k] in the factor dtype, CPU; undefined when k = 0
    at::Tensor lowR;     // [k, in]
    int64_t rank() const { return lowL.defined() ? lowL.size(1) : 0; }
    int64_t storedBytes() const;   // of all five tensors
};

// Q as `dtype` [out, in] (unpacked and dequantized), on the CPU.
at::Tensor dequantizedQ(const QuantizedWeight& q, int64_t inFeatures, c10::ScalarType dtype);

} // namespace basis
