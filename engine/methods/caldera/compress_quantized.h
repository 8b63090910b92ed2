#pragma once
// compressModel for the "quantized-lowrank" layout (caldera, rtn, gptq): every compressed projection of every
// layer replaced by Q + L R (caldera.h), one eigendecomposition of H per layer and input site shared by the
// projections that read it, progress per projection, cancel between steps.
#include "compress.h"

namespace basis {

// Called by compressModel, which refuses a missing `stats` for methods that need them; null for rtn (statistics()
// None): the errors are then unwhitened (H = I).
CompressionResult compressQuantizedModel(DecoderModel& model, const CalibrationStats* stats, const CompressionPlan& plan,
                                         const JobContext& job);

} // namespace basis
