#pragma once
// Between YAML run configs (engine/config) and what the GUI's controls hold. Qt-free, so it is tested like
// the engine. Export starts from the config that was opened, so keys the GUI does not show survive a round trip.
#include "job_options.h"
#include "job_results.h"
#include "run_config.h"

#include <filesystem>
#include <string>
#include <vector>

namespace basis::ui {

struct StudioSettings {
    std::filesystem::path modelDir;
    CompressionSettings compression;
    CalibrateOptions calibration;
};

// Part labels are mapped through the config's *_name keys (q -> self_attn.q_proj) as `basis-cli run` does; a
// named dataset becomes its calibration file under data_dir. Problems that leave a control unset are returned
// in `warnings` (one line each) rather than thrown.
StudioSettings studioSettingsFromConfig(const RunConfig& config, std::vector<std::string>* warnings = nullptr);

// A config that `basis-cli run` reproduces the GUI's setting with. `base` (the config opened, or a default one)
// supplies everything the GUI does not edit: evaluations, saving paths, device, ...
RunConfig runConfigFromStudio(const StudioSettings& settings, const ModelConfig& model, RunConfig base = {});

} // namespace basis::ui
