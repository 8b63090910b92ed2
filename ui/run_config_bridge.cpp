#include "run_config_bridge.h"

#include "datasets.h"
#include "error.h"

namespace basis::ui {

StudioSettings studioSettingsFromConfig(const RunConfig& c, std::vector<std::string>* warnings)
{
    StudioSettings s;
    s.modelDir = c.modelPath;
    s.compression.method = parseMethod(c.method);
    s.compression.ratio = c.compressionRatio;
    s.compression.groupSize = c.groupSize;
    auto resolve = [&](const std::vector<std::string>& labels) {
        std::vector<std::string> parts;
        for (const auto& l : labels) {
            auto it = c.projectionNames.find(l);
            parts.push_back(it != c.projectionNames.end() ? it->second : l);
        }
        return parts;
    };
    s.compression.shared = resolve(c.sharePart);
    s.compression.privateParts = resolve(c.privatePart);
    s.compression.update = c.update;

    CalibrateOptions& cal = s.calibration;
    if (!c.calibrationText.empty()) {
        cal.text = c.calibrationText;
    } else if (!c.datasetName.empty()) {
        try {
            cal.text = datasetFile(c.datasetName, "calibration", c.dataDir);
            cal.dataset = canonicalDatasetName(c.datasetName);
            cal.dataDir = c.dataDir;
        } catch (const Error& e) {
            if (warnings)
                warnings->push_back(e.what());
        }
    }
    cal.samples = c.calibrationSize;
    cal.context = c.contextLength;
    cal.sampling = c.sampling;
    cal.seed = c.seed;
    cal.batch = c.calibBatchSize;
    cal.bos = c.bos;
    if (!c.calibPath.empty())
        cal.cacheDir = c.calibPath;
    return s;
}

RunConfig runConfigFromStudio(const StudioSettings& s, const ModelConfig& model, RunConfig c)
{
    c.modelType = model.modelType;
    c.modelPath = s.modelDir.string();
    if (c.modelName.empty())
        c.modelName = s.modelDir.filename().string();
    c.method = methodName(s.compression.method);
    c.compressionRatio = s.compression.ratio;
    c.groupSize = s.compression.groupSize;
    // The GUI names parts by their short names, which planCompression accepts without *_name keys.
    c.projectionNames.clear();
    c.sharePart = s.compression.shared;
    c.privatePart = s.compression.privateParts;
    c.update = s.compression.update;

    const CalibrateOptions& cal = s.calibration;
    if (!cal.dataset.empty()) {
        c.datasetName = cal.dataset;
        c.dataDir = cal.dataDir.string();
        c.calibrationText.clear();
    } else if (!cal.text.empty()) {
        c.calibrationText = cal.text.string();
        c.datasetName.clear();
    }
    c.calibrationSize = cal.samples;
    c.contextLength = cal.context;
    c.sampling = cal.sampling;
    c.seed = cal.seed;
    c.calibBatchSize = cal.batch;
    c.bos = cal.bos;
    c.calibPath = cal.cacheDir.string();
    return c;
}

} // namespace basis::ui
