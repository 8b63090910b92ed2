#include "linear_slot.h"

#include "stored_weights.h"

#include <ATen/ATen.h>

namespace basis {

LinearSlot::LinearSlot(int64_t layer, const ProjectionSpec& spec, at::Tensor weight, at::Tensor bias,
                       c10::ScalarType computeDType)
    : m_layer(layer), m_spec(spec), m_weight(std::move(weight)), m_bias(std::move(bias)),
      m_computeDType(computeDType != c10::ScalarType::Undefined ? computeDType
                     : m_weight.defined()                         ? m_weight.scalar_type()
                                                                  : c10::ScalarType::Float)
{
}

at::Tensor LinearSlot::forward(const at::Tensor& x) const
{
    at::Tensor y = forwardWeights(x);
    return m_adapter ? y + m_adapter(x) : y;
}

void LinearSlot::mapTensors(const std::function<at::Tensor(const at::Tensor&)>& fn)
{
    for (at::Tensor* t : {&m_weight, &m_bias, &m_basis, &m_coeff})
        if (t->defined())
            *t = fn(*t);
    if (m_weight.defined())   // training maps every tensor to its dtype: it computes in that one
        m_computeDType = m_weight.scalar_type();
}

void LinearSlot::mapForwardTensors(const std::function<at::Tensor(const at::Tensor&)>& fn)
{
    for (at::Tensor* t : {&m_weight, &m_bias, &m_basis, &m_coeff, &m_qDense, &m_lrIn, &m_lrOut})
        if (t->defined())
            *t = fn(*t);
}

at::Tensor LinearSlot::forwardWeights(const at::Tensor& x) const
{
    if (isQuantized()) {
        // Q x + b as one GEMM on the dequantized Q, then L (R x) added by two thin GEMMs on the flattened rows.
        at::Tensor y = at::linear(x, m_qDense, m_bias);
        if (!m_lrIn.defined())
            return y;
        const auto shape = x.sizes().vec();
        const at::Tensor xr = at::mm(x.reshape({-1, shape.back()}), m_lrIn);
        return y.view({-1, m_spec.out}).addmm_(xr, m_lrOut).view(y.sizes());
    }
    if (m_basis.defined()) {
        // (x B) C on the flattened rows: two plain GEMMs (every token of the batch in one call, so they run at the
        // BLAS rate), the bias fused into the second; B C is never formed.
        const auto shape = x.sizes().vec();
        const at::Tensor rows = x.reshape({-1, shape.back()});
        at::Tensor y;
        if (m_factorHook) {
            y = m_factorHook(rows);
        } else {
            const at::Tensor xb = at::mm(rows, m_basis);
            y = m_bias.defined() ? at::addmm(m_bias, xb, m_coeff) : at::mm(xb, m_coeff);
        }
        auto outShape = shape;
        outShape.back() = m_spec.out;
        return y.view(outShape);
    }
    return linearStored(x, m_weight, m_bias, m_spec.storedInOut);
}

at::Tensor LinearSlot::weightInOut() const
{
    if (m_basis.defined())
        return at::matmul(m_basis, m_coeff);
    if (isQuantized())
        return m_lrIn.defined() ? at::addmm(m_qDense.t(), m_lrIn, m_lrOut) : m_qDense.t();
    // A weight kept as stored (bfloat16 / float16, stored_weights.h) comes out in the compute dtype, as it did when
    // it was widened on load: callers compute with it.
    const at::Tensor w = widened(m_weight, m_computeDType);
    return m_spec.storedInOut ? w : w.t();
}

void LinearSlot::setFactorized(at::Tensor basis, at::Tensor coeff)
{
    m_basis = std::move(basis);
    m_coeff = std::move(coeff);
    m_weight = at::Tensor();
}

void LinearSlot::setQuantized(QuantizedWeight q, c10::Device device, c10::ScalarType dtype)
{
    const int64_t k = q.rank();
    if (q.packed.is_meta()) {
        m_qDense = at::empty({m_spec.out, m_spec.in}, at::TensorOptions().dtype(dtype).device(at::kMeta));
        m_lrIn = k ? at::empty({m_spec.in, k}, m_qDense.options()) : at::Tensor();
        m_lrOut = k ? at::empty({k, m_spec.out}, m_qDense.options()) : at::Tensor();
    } else {
        m_qDense = dequantizedQ(q, m_spec.in, dtype).to(device).contiguous();
        m_lrIn = k ? q.lowR.t().to(device, dtype).contiguous() : at::Tensor();
        m_lrOut = k ? q.lowL.t().to(device, dtype).contiguous() : at::Tensor();
    }
    m_quant = std::move(q);
    m_weight = at::Tensor();
    m_basis = m_coeff = at::Tensor();
}

int64_t LinearSlot::parameterCount(bool countBasis) const
{
    int64_t n = m_bias.defined() ? m_bias.numel() : 0;
    if (isQuantized())   // every weight of Q plus L and R
        return n + m_spec.in * m_spec.out + m_quant.rank() * (m_spec.in + m_spec.out);
    if (m_basis.defined())
        return n + m_coeff.numel() + (countBasis ? m_basis.numel() : 0);
    return n + m_weight.numel();
}

} // namespace basis
