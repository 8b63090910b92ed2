#include "quantized_io.h"

#include "architecture.h"
#include "caldera.h"
#include "error.h"
#include "quant_settings.h"
#include "weights.h"

#include <ATen/ATen.h>

namespace basis {

namespace {

// One tensor as stored (no conversion), checked against the dtype and shape config.json implies.
at::Tensor storedTensor(const Checkpoint& ckpt, const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                        const std::string& why, bool headersOnly)
{
    if (!ckpt.contains(name))
        throw Error(ckpt.dir().string() + ": tensor '" + name + "' is missing (" + why + ")");
    const TensorView& view = ckpt.tensor(name);
    const std::string file = ckpt.fileOf(name)->path().string();
    if (view.dtype != dtype)
        throw Error(file + ": tensor '" + name + "' has dtype " + dtypeName(view.dtype) + ", expected " + dtypeName(dtype) +
                    " (" + why + ")");
    if (view.shape != shape)
        throw Error(file + ": tensor '" + name + "' has shape " + shapeString(view.shape) + ", but the header's " + why +
                    " needs " + shapeString(shape));
    const c10::ScalarType type = toScalarType(dtype);
    if (headersOnly)
        return at::empty(shape, at::TensorOptions().dtype(type).device(at::kMeta));
    at::Tensor t = at::from_blob(const_cast<std::byte*>(view.data), shape, at::TensorOptions().dtype(type)).clone();
    if (at::isFloatingType(type) && !at::isfinite(t).all().item<bool>())
        throw Error(file + ": tensor '" + name + "' holds NaN or infinite values; the file is damaged");
    return t;
}

DType factorDType(const std::string& factorDtype)
{
    return fromScalarType(factorScalarType(factorDtype));
}

} // namespace

void forEachQuantizedTensor(const std::string& prefix, const QuantizedWeight& q,
                            const std::function<void(const std::string&, const at::Tensor&)>& add)
{
    add(prefix + ".qweight", q.packed);
    add(prefix + ".scales", q.scales);
    add(prefix + ".zeros", q.zeros);
    if (q.rank() > 0) {
        add(prefix + ".lowrank_l", q.lowL);
        add(prefix + ".lowrank_r", q.lowR);
    }
}

QuantizedWeight loadQuantizedWeight(const Checkpoint& ckpt, const std::string& prefix, const ProjectionSpec& spec,
                                    int64_t bits, int64_t k, const std::string& factorDtype, bool headersOnly)
{
    QuantSettings settings;
    settings.bits = bits;
    settings.rank = k;
    settings.factorDtype = factorDtype;
    try {
        validateQuantSettings(settings);
    } catch (const Error& e) {
        throw Error(ckpt.dir().string() + "/config.json: compression section of " + prefix + ": " + e.what());
    }
    const int64_t m = spec.out, d = spec.in, groups = (d + kQuantGroupColumns - 1) / kQuantGroupColumns;
    if (k > std::min(m, d))
        throw Error(ckpt.dir().string() + "/config.json: compression section of " + prefix + ": rank " +
                    std::to_string(k) + " is above min(m, d) = " + std::to_string(std::min(m, d)));
    const std::string shape = std::to_string(m) + " x " + std::to_string(d);
    QuantizedWeight q;
    q.bits = bits;
    q.packed = storedTensor(ckpt, prefix + ".qweight", DType::U8, {m, (d * bits + 7) / 8},
                            std::to_string(bits) + "-bit codes of a " + shape + " projection", headersOnly);
    const std::string why = "one per 64-column group of a " + shape + " projection";
    q.scales = storedTensor(ckpt, prefix + ".scales", DType::F16, {m, groups}, why, headersOnly);
    q.zeros = storedTensor(ckpt, prefix + ".zeros", DType::F16, {m, groups}, why, headersOnly);
    if (k > 0) {
        const std::string rank = "rank " + std::to_string(k) + " of a " + shape + " projection";
        q.lowL = storedTensor(ckpt, prefix + ".lowrank_l", factorDType(factorDtype), {m, k}, rank, headersOnly);
        q.lowR = storedTensor(ckpt, prefix + ".lowrank_r", factorDType(factorDtype), {k, d}, rank, headersOnly);
    }
    return q;
}

} // namespace basis
