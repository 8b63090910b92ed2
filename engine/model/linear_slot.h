#pragma once
// One compressible projection of one layer. Every projection the decoder runs goes through a slot, so
// calibration can see its input (through the model's input observer) and compression can swap the dense
// weight for a factorized one without the decoder knowing.
#include "architecture.h"
#include "quantized_weight.h"

#include <ATen/core/Tensor.h>

#include <functional>

namespace basis {

class LinearSlot {
public:
    LinearSlot() = default;
    // computeDType: the model's; the weight may be kept narrower (stored_weights.h). Undefined: the weight's.
    LinearSlot(int64_t layer, const ProjectionSpec& spec, at::Tensor weight, at::Tensor bias,
               c10::ScalarType computeDType = c10::ScalarType::Undefined);

    int64_t layer() const { return m_layer; }
    const ProjectionSpec& spec() const { return m_spec; }
    int64_t inFeatures() const { return m_spec.in; }
    int64_t outFeatures() const { return m_spec.out; }

    // y = x W + b for x [..., in].
    at::Tensor forward(const at::Tensor& x) const;

    bool isFactorized() const { return m_basis.defined(); }
    // The dense weight as stored in the checkpoint ([out,in], or [in,out] for Conv1D), undefined when factorized;
    // in the stored dtype, which may be narrower than the compute dtype (stored_weights.h).
    const at::Tensor& weight() const { return m_weight; }
    const at::Tensor& bias() const { return m_bias; }
    // W as n_in x n_out in the compute dtype whatever the storage (a view when possible; reconstructed B C when
    // factorized; widened when kept as stored).
    at::Tensor weightInOut() const;

    // Replace the weight by y = (x B) C + b. B [in, k] may be shared by several slots (same tensor).
    void setFactorized(at::Tensor basis, at::Tensor coeff);
    // A new bias (sfsd's b'), also on a projection that had none.
    void setBias(at::Tensor bias) { m_bias = std::move(bias); }
    const at::Tensor& basis() const { return m_basis; }
    const at::Tensor& coeff() const { return m_coeff; }

    // Replace the weight by y = Q x + L (R x) + b (quantized_weight.h): Q dequantized once here into the slot's
    // dtype on `device`, L and R converted likewise. A meta `q.packed` (headers only) installs meta tensors.
    void setQuantized(QuantizedWeight q, c10::Device device, c10::ScalarType dtype);
    bool isQuantized() const { return m_quant.bits > 0; }
    const QuantizedWeight& quantized() const { return m_quant; }
    // Dequantized Q [out, in] in the model's dtype (quantized slots).
    const at::Tensor& dequantized() const { return m_qDense; }

    int64_t parameterCount(bool countBasis = true) const;

    // Training (engine/train): an adapter's output added to forward()'s (LoRA); empty = none.
    using Adapter = std::function<at::Tensor(const at::Tensor& x)>;
    void setAdapter(Adapter adapter) { m_adapter = std::move(adapter); }
    // Run-time rank selection (dynamic_rank.h): when set, a factorized slot's (x B) C + b of the flattened rows
    // x [n, in] comes from the hook, which chooses the rank channels; empty = all K of them.
    using FactorHook = std::function<at::Tensor(const at::Tensor& rows)>;
    void setFactorHook(FactorHook hook) { m_factorHook = std::move(hook); }
    bool hasFactorHook() const { return static_cast<bool>(m_factorHook); }
    bool hasAdapter() const { return static_cast<bool>(m_adapter); }
    // Replaces every defined tensor t of the slot by fn(t) (a shared basis stays shared when fn maps it alike).
    void mapTensors(const std::function<at::Tensor(const at::Tensor&)>& fn);
    // Replaces every defined tensor forward() reads (weight, bias, basis, coefficients, a quantized slot's Q, L and R)
    // by fn(t), the compute dtype kept: a layer's copy on the device (DecoderModel::pagedLayer). The packed codes
    // of a quantized slot, which only a save reads, stay as they are.
    void mapForwardTensors(const std::function<at::Tensor(const at::Tensor&)>& fn);

private:
    at::Tensor forwardWeights(const at::Tensor& x) const;

    int64_t m_layer = 0;
    ProjectionSpec m_spec;
    at::Tensor m_weight, m_bias;
    c10::ScalarType m_computeDType = c10::ScalarType::Float;
    at::Tensor m_basis, m_coeff;
    QuantizedWeight m_quant;
    at::Tensor m_qDense, m_lrIn, m_lrOut;   // Q [out, in], R^T [in, k], L^T [k, out] in the model's dtype
    Adapter m_adapter;
    FactorHook m_factorHook;
};

} // namespace basis
