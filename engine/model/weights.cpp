#include "weights.h"

#include "error.h"
#include "stored_weights.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <sstream>

namespace basis {

std::string shapeString(const std::vector<int64_t>& shape)
{
    std::ostringstream out;
    out << '[';
    for (size_t i = 0; i < shape.size(); ++i)
        out << (i ? "," : "") << shape[i];
    out << ']';
    return out.str();
}

c10::ScalarType toScalarType(DType dtype)
{
    switch (dtype) {
    case DType::F64: return at::kDouble;
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::I64: return at::kLong;
    case DType::I32: return at::kInt;
    case DType::I16: return at::kShort;
    case DType::I8: return at::kChar;
    case DType::U8: return at::kByte;
    case DType::BOOL: return at::kBool;
    }
    throw Error("internal: unmapped dtype");
}

DType fromScalarType(c10::ScalarType type)
{
    switch (type) {
    case at::kDouble: return DType::F64;
    case at::kFloat: return DType::F32;
    case at::kHalf: return DType::F16;
    case at::kBFloat16: return DType::BF16;
    case at::kLong: return DType::I64;
    case at::kInt: return DType::I32;
    case at::kShort: return DType::I16;
    case at::kChar: return DType::I8;
    case at::kByte: return DType::U8;
    case at::kBool: return DType::BOOL;
    default: throw Error(std::string("cannot store dtype ") + c10::toString(type) + " in safetensors");
    }
}

namespace {

// In slices of 16 M elements: isfinite(W).sum() of a whole 7B embedding allocated its bool mask and then an int64
// copy of it (1 GB of RssAnon for 32000 x 4096) only to count; a slice's mask is 16 MB and usually all true.
int64_t countNonFinite(const at::Tensor& t)
{
    const at::Tensor flat = t.reshape(-1);
    constexpr int64_t kSlice = int64_t(1) << 24;
    int64_t bad = 0;
    for (int64_t start = 0; start < flat.numel(); start += kSlice) {
        const at::Tensor finite = at::isfinite(flat.narrow(0, start, std::min(kSlice, flat.numel() - start)));
        if (!finite.all().item<bool>())
            bad += finite.numel() - finite.sum().item<int64_t>();
    }
    return bad;
}

} // namespace

at::Tensor loadTensor(const Checkpoint& ckpt, const std::string& name, const std::vector<int64_t>& expectedShape,
                      c10::Device device, c10::ScalarType dtype, bool headersOnly, bool keepStored)
{
    const TensorView& view = ckpt.tensor(name);
    auto file = ckpt.fileOf(name);
    if (view.shape != expectedShape)
        throw Error(file->path().string() + ": tensor '" + name + "' has shape " + shapeString(view.shape) +
                    ", expected " + shapeString(expectedShape) + " from config.json");
    const c10::ScalarType stored = toScalarType(view.dtype);
    if (!at::isFloatingType(stored))
        throw Error(file->path().string() + ": tensor '" + name + "' has dtype " + dtypeName(view.dtype) +
                    ", expected a floating-point weight");
    if (headersOnly)
        return at::empty(view.shape, at::TensorOptions().dtype(dtype).device(at::kMeta));
    // The deleter keeps the memory-mapped file alive as long as the tensor.
    at::Tensor mapped = at::from_blob(
        const_cast<std::byte*>(view.data), view.shape, [file](void*) {}, at::TensorOptions().dtype(stored));
    // float16 has no CPU matmul in LibTorch 1.13: widen to the compute dtype.
    const bool asStored = (stored == dtype && device.is_cpu()) || (keepStored && keepsStoredDType(stored, dtype, device));
    at::Tensor out = asStored ? mapped : mapped.to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
    // NaN or infinite weights (a damaged file, a header that shifts every weight) would give NaN results with
    // exit 0: refuse them here, naming the tensor.
    const int64_t bad = countNonFinite(out);
    if (bad > 0)
        throw Error(file->path().string() + ": tensor '" + name + "' holds " + std::to_string(bad) +
                    " NaN or infinite value(s); the file is damaged");
    return out;
}

} // namespace basis
