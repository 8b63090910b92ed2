#pragma once
// Saving a fine-tuned model: a compressed folder in the layout of compressed_io.h (each basis once, coefficients per
// layer) when it is factorized, an ordinary checkpoint when it is dense; config.json records the training under
// "finetune" (an earlier record moves under its "previous").
#include "progress.h"
#include "safetensors_shards.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace basis {

class DecoderModel;

// `compression`: the model's "compression" section (which basis tensor each group has and its layers); null for a
// dense model. Atomic (output_folder.h): a failed or cancelled save leaves an earlier `out` as it was. Tensors are
// converted to float32 one at a time as the shards (safetensors_shards.h) are written, never all at once.
void saveFinetunedModel(const DecoderModel& model, const nlohmann::json& compression, const std::filesystem::path& out,
                        const nlohmann::json& record, const JobContext& job = {},
                        uint64_t shardBytes = kDefaultShardBytes);

} // namespace basis
