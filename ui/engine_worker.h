#pragma once
// The object that lives on the engine thread and owns all LibTorch state (through EngineSession). Requests
// arrive as queued slot calls, results and progress leave as signals; cancel() is the one thread-safe call.
#include "engine_metatypes.h"

#include <QObject>
#include <QString>

#include <functional>
#include <memory>

namespace basis::ui {

class EngineWorker : public QObject {
    Q_OBJECT
public:
    explicit EngineWorker(QObject* parent = nullptr);
    ~EngineWorker() override;

    // Called from the GUI thread while a job runs here: the engine polls the token between layers and batches.
    void cancel();

public slots:
    void loadModel(const QString& dir);
    void makeDemoModel(const QString& preset, const QString& dir, const QString& tokenizerDir);
    void calibrate(const basis::ui::CalibrationSetup& setup);
    void compress(const basis::CompressionSettings& settings);
    void computeSpectra(const std::vector<int64_t>& groupSizes);
    void evaluatePpl(const basis::ui::PplSetup& setup);
    void measureThroughput(const basis::ui::ThroughputSetup& setup);
    void evaluateTasks(const basis::ui::TasksSetup& setup);
    void generate(const basis::ui::GenerateSetup& setup);
    void saveCompressed(const QString& dir);

signals:
    void jobStarted(const QString& title);
    void progress(qint64 done, qint64 total, const QString& what);
    // Always follows jobStarted: ok is false after an error or a cancel.
    void jobFinished(const QString& title, bool ok);
    void message(int severity, const QString& text);   // Severity as int
    void modelLoaded(const basis::ui::ModelSummary& summary);
    void calibrated(const basis::ui::CalibrationSummary& summary);
    void compressed(const basis::ui::CompressionSummary& summary);
    void spectraReady(const basis::ui::SpectraSummary& spectra);
    void pplEvaluated(const basis::ui::PplSummary& summary);
    void throughputMeasured(const basis::ui::ThroughputSummary& summary);
    void tasksEvaluated(const basis::ui::TasksSummary& summary);
    // Streamed (at most every 50 ms per model) while a model generates; once more with finished set.
    void generationUpdated(const basis::ui::GenerationOutput& output);
    void compressedSaved(const QString& dir);

private:
    void runJob(const QString& title, const std::function<void(const JobContext&)>& body);

    std::unique_ptr<EngineSession> m_session;
    CancelToken m_cancel;
};

} // namespace basis::ui
