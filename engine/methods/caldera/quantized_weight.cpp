#include "quantized_weight.h"

#include "group_quantizer.h"

#include <ATen/ATen.h>

namespace basis {

int64_t QuantizedWeight::storedBytes() const
{
    int64_t n = 0;
    for (const at::Tensor* t : {&packed, &scales, &zeros, &lowL, &lowR})
        if (t->defined())
            n += static_cast<int64_t>(t->numel() * t->element_size());
    return n;
}

at::Tensor dequantizedQ(const QuantizedWeight& q, int64_t inFeatures, c10::ScalarType dtype)
{
    QuantizedRows rows{q.bits, unpackCodes(q.packed, inFeatures, q.bits), q.scales, q.zeros};
    return dequantizeRows(rows, dtype);
}

} // namespace basis
