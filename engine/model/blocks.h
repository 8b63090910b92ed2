#pragma once
// Shared building blocks of the decoder, written to match Hugging Face's eager implementations.
#include "model_config.h"

#include <ATen/core/Tensor.h>

namespace basis::blocks {

// LLaMA RMSNorm: computed in float32, scaled by the gain in the input dtype.
at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps);
// Gemma RMSNorm: gain (1 + w), all in float32, then back to the input dtype.
at::Tensor rmsNormUnitOffset(const at::Tensor& x, const at::Tensor& weight, double eps);
at::Tensor layerNorm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps);
at::Tensor activate(const at::Tensor& x, Activation act);

// The head_dim / 2 inverse frequencies, float32, as transformers computes them (with llama3 rescaling).
at::Tensor ropeInverseFrequencies(int64_t headDim, double theta, const RopeScaling& scaling, c10::Device device);
// cos and sin tables [tokens, head_dim] for positions start..start+tokens-1 (rotate_half convention).
void ropeTables(int64_t start, int64_t tokens, int64_t headDim, double theta, const RopeScaling& scaling,
                c10::Device device, c10::ScalarType dtype, at::Tensor& cos, at::Tensor& sin);
// x [batch, heads, tokens, head_dim]
at::Tensor applyRope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// Causal attention. q [B, H, T, D]; k, v [B, Hkv, S, D] with S >= T; query i sits at position start + i,
// key j at position j. H must be a multiple of Hkv (grouped-query attention without copying k/v).
// window > 0 limits each query to the last `window` keys (itself included), as Mistral does.
// Returns [B, T, H * D]. Small float32 heads without gradients take the fused kernel of small_head_attention.h,
// everything else matmulCausalAttention.
at::Tensor causalAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t start,
                           double scale, int64_t window, bool allowFused = true);
// The general path: scores by matmul in query blocks, an additive mask, softmax (any dtype, device, autograd).
at::Tensor matmulCausalAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t start,
                                 double scale, int64_t window);

} // namespace basis::blocks
