#pragma once
// How a quantized projection lies in model.safetensors (the "quantized-lowrank" layout), for a projection with
// module path P of layer l (tensor prefix `<layer l>.P`, e.g. model.layers.0.self_attn.q_proj), m = out, d = in:
//   P.qweight   U8  [m, ceil(d b / 8)]   codes, one little-endian bit stream per row (group_quantizer.h packCodes)
//   P.scales    F16 [m, ceil(d / 64)]    scale of each group of 64 input columns (the last may be shorter)
//   P.zeros     F16 [m, ceil(d / 64)]    zero of each group (an integer)
//   P.lowrank_l F16 [m, k]               L (BF16 or F32 when factor_dtype says so); absent when k = 0
//   P.lowrank_r F16 [k, d]               R
//   P.bias      as in the checkpoint, when the projection has one
// config.json's compression section gives, per part and layer, "bits", "k" and "factor_dtype"; the loader checks
// every shape and dtype against them and refuses a file that disagrees, naming the tensor.
#include "quantized_weight.h"
#include "safetensors.h"

#include <functional>
#include <string>

namespace basis {

struct ProjectionSpec;

// Calls add(name, tensor) for each stored tensor of `q` under `prefix`.
void forEachQuantizedTensor(const std::string& prefix, const QuantizedWeight& q,
                            const std::function<void(const std::string&, const at::Tensor&)>& add);

// Reads a projection stored under `prefix` (CPU tensors; meta ones when headersOnly).
QuantizedWeight loadQuantizedWeight(const Checkpoint& ckpt, const std::string& prefix, const ProjectionSpec& spec,
                                    int64_t bits, int64_t k, const std::string& factorDtype, bool headersOnly);

} // namespace basis
