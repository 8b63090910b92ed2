#include "linear_slot.h"

#include <ATen/ATen.h>

namespace basis {

LinearSlot::LinearSlot(int64_t layer, const ProjectionSpec& spec, at::Tensor weight, at::Tensor bias)
    : m_layer(layer), m_spec(spec), m_weight(std::move(weight)), m_bias(std::move(bias))
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
}

at::Tensor LinearSlot::forwardWeights(const at::Tensor& x) const
{
    if (m_basis.defined()) {
        // (x B) C on the flattened rows: two plain GEMMs (every token of the batch in one call, so they run at the
        // BLAS rate), the bias fused into the second; B C is never formed.
        const auto shape = x.sizes().vec();
        const at::Tensor xb = at::mm(x.reshape({-1, shape.back()}), m_basis);
        at::Tensor y = m_bias.defined() ? at::addmm(m_bias, xb, m_coeff) : at::mm(xb, m_coeff);
        auto outShape = shape;
        outShape.back() = m_spec.out;
        return y.view(outShape);
    }
    if (!m_spec.storedInOut)
        return at::linear(x, m_weight, m_bias);
    // Conv1D: W is [in, out]; addmm on the flattened rows avoids a transpose copy.
    const auto shape = x.sizes().vec();
    at::Tensor x2 = x.reshape({-1, shape.back()});
    at::Tensor y = m_bias.defined() ? at::addmm(m_bias, x2, m_weight) : at::mm(x2, m_weight);
    auto outShape = shape;
    outShape.back() = m_spec.out;
    return y.view(outShape);
}

at::Tensor LinearSlot::weightInOut() const
{
    if (m_basis.defined())
        return at::matmul(m_basis, m_coeff);
    return m_spec.storedInOut ? m_weight : m_weight.t();
}

void LinearSlot::setFactorized(at::Tensor basis, at::Tensor coeff)
{
    m_basis = std::move(basis);
    m_coeff = std::move(coeff);
    m_weight = at::Tensor();
}

int64_t LinearSlot::parameterCount(bool countBasis) const
{
    int64_t n = m_bias.defined() ? m_bias.numel() : 0;
    if (m_basis.defined())
        return n + m_coeff.numel() + (countBasis ? m_basis.numel() : 0);
    return n + m_weight.numel();
}

} // namespace basis
