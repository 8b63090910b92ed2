#pragma once
// LoRA adapters in PEFT's layout (adapter_config.json + adapter_model.safetensors), so that adapters trained here load
// in Python with peft.PeftModel.from_pretrained(base, folder). PEFT adds y += (lora_alpha / r) lora_B(lora_A(x)) to a
// dense nn.Linear (or GPT-2's Conv1D, fan_in_fan_out): lora_A.weight [r, in], lora_B.weight [out, r], saved under
// "base_model.model.<module path>.lora_A.weight" (PEFT strips the adapter name when it saves). An adapter on a
// factorized projection's coefficients (lora.h), y += s ((x B) A) Bm, is exactly such an adapter on the dense export
// with lora_A = (B A)^T: a compressed model's adapters are exported against its dense export, written beside them.
#include "progress.h"
#include "train_options.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace basis {

class DecoderModel;
class LoraAdapters;

struct PeftAdapterExport {
    std::vector<std::pair<std::string, at::Tensor>> tensors;   // PEFT's names, float32 copies
    nlohmann::json config;                                     // adapter_config.json without base_model_name_or_path
};

// The adapters as PEFT saves them (call before they are merged).
PeftAdapterExport peftAdapterExport(const DecoderModel& model, const LoraAdapters& lora, const TrainOptions& options);

// Writes `out` atomically (output_folder.h, kind peft-adapter): the adapter files and a README. When `base` is
// factorized its dense export goes to out/base_model and the config names that folder; otherwise the config names
// base's own folder.
void writePeftFolder(const PeftAdapterExport& adapter, const DecoderModel& base, const std::filesystem::path& out,
                     const JobContext& job = {});

} // namespace basis
