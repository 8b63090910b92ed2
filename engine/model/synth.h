#pragma once
// Writes randomly initialised checkpoints of named shapes (config.json + model.safetensors), so that
// tests and benchmarks can use real shapes no real checkpoint here has. The output says it is random:
// config.json carries "basis_studio_synthetic" and the folder a RANDOM_WEIGHTS.txt.
#include "arch_registry.h"
#include "model_config.h"
#include "safetensors.h"

#include <filesystem>
#include <string>
#include <vector>

namespace basis {

// The shapes every registered architecture lists (real ones first, then the *-micro test shapes).
// Throws basis::Error listing the names for an unknown one.
SynthShape synthPreset(const std::string& name);
std::vector<std::string> synthPresetNames();

// The Hugging Face config.json a shape corresponds to.
nlohmann::json synthConfigJson(const SynthShape& shape, uint64_t seed);

// Writes dir/config.json, dir/model.safetensors and dir/RANDOM_WEIGHTS.txt (and copies the tokenizer
// files of tokenizerDir when given). Existing files in dir are replaced atomically, one by one. Weights in `dtype`
// (F32, BF16 or F16: the same draws rounded), written a tensor at a time (one tensor in memory).
void writeSyntheticCheckpoint(const SynthShape& shape, const std::filesystem::path& dir, uint64_t seed,
                              const std::filesystem::path& tokenizerDir = {}, DType dtype = DType::F32);

} // namespace basis
