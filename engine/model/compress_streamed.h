#pragma once
// Compression that writes as it goes (issue 12): each group is factorized, its channels ordered, its tensors
// written into the output's shards and freed before the next group, so memory holds the model as stored (memory-
// mapped) and one group's work, never the compressed copy. The folder is the one saveCompressedModel writes from
// an in-memory compression: the same tensors bit for bit, the same config.json, in shards of at most `shardBytes`.
#include "compress.h"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace basis {

class DecoderModel;
struct CompressionSettings;

// True for the plans compressIntoFolder writes: the shared-basis layout (basis-sharing, svd-llm, svd) without the
// update step (which refits coefficients on the whole compressed model). Others compress in memory.
bool compressesStreamed(const CompressionSettings& settings);

// compressModel, orderChannelsByImportance (with `orderStats`) and saveCompressedModel in one pass. `model` is left
// dense. The output is assembled beside `out` and swapped in (output_folder.h); a failure or a cancellation leaves
// an earlier `out` as it was. Refused (basis::Error) for a plan compressesStreamed() does not take.
CompressionResult compressIntoFolder(DecoderModel& model, const CalibrationStats* stats, const CalibrationStats* orderStats,
                                     const CompressionPlan& plan, const std::filesystem::path& out,
                                     const nlohmann::json& extra, uint64_t shardBytes, const JobContext& job = {});

} // namespace basis
