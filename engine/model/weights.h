#pragma once
// Safetensors views -> at::Tensor on the chosen device and dtype.
#include "safetensors.h"

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace basis {

// A tensor of the checkpoint, checked against the expected shape (error names the folder and tensor).
// float32 on CPU with a float32 file is zero-copy over the read-only memory map: never write to it in place.
// headersOnly: check name, shape and dtype from the header alone and return a data-less (meta) tensor.
// keepStored: a bfloat16/float16 weight for a float32 CPU model stays a zero-copy view in its stored dtype
// (stored_weights.h); the caller widens it when computing.
at::Tensor loadTensor(const Checkpoint& ckpt, const std::string& name, const std::vector<int64_t>& expectedShape,
                      c10::Device device, c10::ScalarType dtype, bool headersOnly = false, bool keepStored = false);

// "[64,32]": a shape as error messages print it.
std::string shapeString(const std::vector<int64_t>& shape);

c10::ScalarType toScalarType(DType dtype);
DType fromScalarType(c10::ScalarType type);

} // namespace basis
