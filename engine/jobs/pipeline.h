#pragma once
// The headless pipeline of a YAML run: calibrate (or reuse a matching cache), compress, update, save, evaluate,
// and write an lm-evaluation-harness-shaped results file.
#include "progress.h"
#include "run_config.h"

#include <functional>
#include <nlohmann/json.hpp>

namespace basis {

struct PipelineHooks {
    JobContext job;                                            // progress of the current stage, cancellation
    std::function<void(const std::string& stage)> onStage;     // "load", "calibrate", "compress", ...
};

// Runs everything the config asks for. Errors are basis::Error prefixed with the stage ("stage compress: ...").
// Returns the results JSON (also written atomically to the results path when there is one).
nlohmann::json runPipeline(const RunConfig& config, const PipelineHooks& hooks = {});

} // namespace basis
