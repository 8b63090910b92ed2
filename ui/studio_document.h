#pragma once
// The studio's state, which the views observe: the loaded model, its calibration, the compressed model, the
// spectra, and each evaluation as it arrives. Engine jobs deliver their results here on the GUI thread
// (engine_controller.h); MainWindow only wires views to these signals. Values are the engine's own result structs.
#include "energy_table.h"
#include "workspace.h"

#include <QObject>
#include <QString>

#include <optional>

namespace basis::ui {

class StudioDocument : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    const std::optional<ModelSummary>& model() const { return m_model; }
    const std::optional<CalibrationSummary>& calibration() const { return m_calibration; }
    const std::optional<CompressionSummary>& compression() const { return m_compression; }
    const EnergyTable& energy() const { return m_energy; }
    // The feature-space view of the last setting asked for (Workspace::featureSpace); reset with the statistics.
    const std::optional<FeatureSpaceSummary>& featureSpace() const { return m_featureSpace; }
    bool hasModel() const { return m_model.has_value(); }
    bool isCalibrated() const { return m_calibration.has_value(); }
    bool hasCompressed() const { return m_compression.has_value(); }

    // A new model forgets its calibration, spectra and compressed copy, as the engine's workspace does.
    void setModel(const ModelSummary& s);
    void setCalibration(const CalibrationSummary& s);   // forgets the spectra of the previous statistics
    void setCompression(const CompressionSummary& s);
    void addSpectra(const SpectraSummary& s);
    void setFeatureSpace(const FeatureSpaceSummary& s);
    void addSearchTrial(const SearchTrial& t) { emit searchTrial(t); }
    void setSearch(const SearchSummary& s) { emit searchFinished(s); }
    void addPerplexity(const PerplexitySummary& s) { emit pplEvaluated(s); }
    void addThroughput(const ThroughputSummary& s) { emit throughputMeasured(s); }
    void addTasks(const TasksSummary& s) { emit tasksEvaluated(s); }
    void setRankMasks(const RankMasksSummary& s) { emit rankMasksReady(s); }
    void updateGeneration(const GenerationOutput& s) { emit generationUpdated(s); }
    void setSaved(const QString& dir) { emit compressedSaved(dir); }
    void addTrainStep(const TrainStep& s) { emit trainStepped(s); }
    // The healed model replaced the workspace's compressed copy (or became one, for a dense model).
    void setFinetuned(const FinetuneSummary& s) { emit finetuned(s); }
    // A sweep's runs: before each (record null) and after it; then the sweep's end.
    void addSweepRun(int index, int total, const QString& id, const nlohmann::json* record, bool resumed)
    {
        emit sweepRun(index, total, id, record, resumed);
    }
    void setSweepFinished(int ran, int resumed, const QString& results) { emit sweepFinished(ran, resumed, results); }

signals:
    void modelLoaded(const basis::ModelSummary& summary);
    void calibrated(const basis::CalibrationSummary& summary);
    void compressed(const basis::CompressionSummary& summary);
    void spectraReady(const basis::SpectraSummary& spectra);
    void featureSpaceReady(const basis::FeatureSpaceSummary& summary);
    // Each trial of a rank search as it is made (or read back from its log), then the search's result.
    void searchTrial(const basis::SearchTrial& trial);
    void searchFinished(const basis::SearchSummary& summary);
    void pplEvaluated(const basis::PerplexitySummary& summary);
    void throughputMeasured(const basis::ThroughputSummary& summary);
    void tasksEvaluated(const basis::TasksSummary& summary);
    // The masks of a dynamic-rank strategy over a prompt (the Dynamic rank tab).
    void rankMasksReady(const basis::RankMasksSummary& summary);
    // Streamed (at most every 50 ms per model) while a model generates; once more with finished set.
    void generationUpdated(const basis::GenerationOutput& output);
    void compressedSaved(const QString& dir);
    // Each optimizer step of a fine-tuning run (at most every 50 ms, and every evaluation step), then the result.
    void trainStepped(const basis::TrainStep& step);
    void finetuned(const basis::FinetuneSummary& summary);
    // `record` is the run's results record once it has finished (null before it starts); read it in the slot.
    void sweepRun(int index, int total, const QString& id, const nlohmann::json* record, bool resumed);
    void sweepFinished(int ran, int resumed, const QString& results);

private:
    std::optional<ModelSummary> m_model;
    std::optional<CalibrationSummary> m_calibration;
    std::optional<CompressionSummary> m_compression;
    EnergyTable m_energy;
    std::optional<FeatureSpaceSummary> m_featureSpace;
};

} // namespace basis::ui
