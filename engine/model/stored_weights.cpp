#include "stored_weights.h"

#include <ATen/ATen.h>

namespace basis {

bool keepsStoredDType(c10::ScalarType stored, c10::ScalarType compute, c10::Device device)
{
    return device.is_cpu() && compute == at::kFloat && (stored == at::kBFloat16 || stored == at::kHalf);
}

at::Tensor widened(const at::Tensor& t, c10::ScalarType dtype)
{
    return !t.defined() || t.scalar_type() == dtype ? t : t.to(dtype);
}

at::Tensor linearStored(const at::Tensor& x, const at::Tensor& wStored, const at::Tensor& b, bool inOut)
{
    // The widened copy lives for this product only; a copy per block of rows would bound it lower but changes the
    // GEMM's shapes, and with them the last bits of the results.
    const at::Tensor w = widened(wStored, x.scalar_type());
    if (!inOut)
        return at::linear(x, w, b);
    // Conv1D: W is [in, out]; addmm on the flattened rows avoids a transpose copy.
    const auto shape = x.sizes().vec();
    at::Tensor x2 = x.reshape({-1, shape.back()});
    at::Tensor y = b.defined() ? at::addmm(b, x2, w) : at::mm(x2, w);
    auto outShape = shape;
    outShape.back() = w.size(1);
    return y.view(outShape);
}

} // namespace basis
