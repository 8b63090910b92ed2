#pragma once
// Causal attention fused into one pass per query row, for heads of a few dimensions on the CPU.
//
// With 8-wide heads (stories260K) the general path spends its time around the matmuls, not in them: OpenBLAS
// zeroes, packs and multiplies 512 x 8 x 512 blocks, then the scores go through mask, scale and softmax as
// separate passes over memory, and half of them are masked anyway. Here each query row computes only the keys it
// sees, keeps them in L1 and turns them into its output at once. Same contract as blocks::causalAttention.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace basis::blocks {

// Widest head the fused path takes. It was only measured at 8 (stories260K): 32 is a cautious bound, and wider heads
// (GPT-2, LLaMA: 64 and up) keep the matmul path, where GEMMs are efficient.
constexpr int64_t kSmallHeadMaxDim = 32;

// True for float32 CPU tensors no gradient flows through, with a head of at most kSmallHeadMaxDim.
bool smallHeadAttentionApplies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

// q [B, H, T, D]; k, v [B, Hkv, S, D]; query i at position start + i; window > 0 as in causalAttention.
// Returns [B, T, H * D]. Scores are q.k in float32 times scale, then a softmax over the visible keys.
at::Tensor smallHeadAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t start,
                              double scale, int64_t window);

} // namespace basis::blocks
