#pragma once
// The studio's jobs: each is one Workspace call posted on the engine channel, its result delivered to the
// document. A new job is one method here (no signal, slot or metatype of its own).
#include "engine_channel.h"
#include "run_config.h"
#include "studio_document.h"

namespace basis::ui {

class EngineController : public EngineChannel {
    Q_OBJECT
public:
    explicit EngineController(QObject* parent = nullptr);

    StudioDocument* document() const { return m_document; }

    // The studio keeps the loaded weights on the CPU unless told otherwise (the Calibration panel's device is where
    // the passes and the compression run).
    void loadModel(const QString& dir, const RunSetup& setup = RunSetup{"cpu", "float32", 0});
    void makeDemoModel(const QString& preset, const QString& dir, const QString& tokenizerDir = {});
    void calibrate(const CalibrateOptions& options);
    void compress(const CompressOptions& options);   // factorize, then refit when settings.update
    void computeSpectra(const std::vector<int64_t>& groupSizes);
    void featureSpace(const CompressionSettings& settings);   // ranks, utilization and spectra of a feature-space setting
    void search(const SearchOptions& options);                // the surgical rank search, its trials streamed
    void evaluatePpl(const PerplexityJobOptions& options);
    void measureThroughput(const ThroughputJobOptions& options);
    void rankMasks(const RankMasksJobOptions& options);   // the Dynamic rank tab's heatmaps
    void evaluateTasks(const TasksJobOptions& options);
    void generate(const GenerateJobOptions& options);
    void saveCompressed(const QString& dir);
    void finetune(const FinetuneJobOptions& options);
    // A sweep (engine/jobs/sweep.h) of `config`'s sweep: section, on a workspace of its own (the studio's model
    // and compressed copy stay as they are); each run's record reaches the document as it finishes.
    void sweep(const RunConfig& config);

private:
    StudioDocument* m_document;
};

} // namespace basis::ui
