#pragma once
// Global rank allocators under an exact budget that read the model (issue 16). The uniform allocator needs
// nothing but the config and lives in the planner (rank_budget.h); the greedy one reads each group's spectrum,
// of S W_G (whitened, the methods that calibrate) or of W_G (plain svd), and fixes CompressionSettings::groupRanks.
#include "calibration.h"
#include "compression_plan.h"
#include "progress.h"

namespace basis {

class DecoderModel;

// `s` with groupRanks filled when its allocator is greedy (unchanged for uniform or when ranks are already given).
// Throws basis::Error when the statistics a whitened method needs are missing or a part weight names no
// compressed part.
CompressionSettings resolveAllocatedRanks(const DecoderModel& model, const CalibrationStats* stats,
                                          const CompressionSettings& s, const JobContext& job = {});

} // namespace basis
