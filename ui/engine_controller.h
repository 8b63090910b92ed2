#pragma once
// The GUI thread's handle on the engine: starts the engine thread, moves an EngineWorker onto it, posts
// requests to it as queued calls and re-emits its signals on the GUI thread. Destroying it (or shutdown())
// cancels the running job and joins the thread.
#include "engine_metatypes.h"

#include <QObject>
#include <QThread>

namespace basis::ui {

class EngineWorker;

class EngineController : public QObject {
    Q_OBJECT
public:
    explicit EngineController(QObject* parent = nullptr);
    ~EngineController() override;

    void loadModel(const QString& dir);
    void makeDemoModel(const QString& preset, const QString& dir, const QString& tokenizerDir = {});
    void calibrate(const CalibrationSetup& setup);
    void compress(const CompressionSettings& settings);
    void computeSpectra(const std::vector<int64_t>& groupSizes);
    void evaluatePpl(const PplSetup& setup);
    void measureThroughput(const ThroughputSetup& setup);
    void evaluateTasks(const TasksSetup& setup);
    void generate(const GenerateSetup& setup);
    void saveCompressed(const QString& dir);

    void cancel();      // the running job, if any; thread-safe flag, returns at once
    void shutdown();    // cancel, stop the thread's loop and wait for it; idempotent
    bool isBusy() const { return m_busy; }
    bool isRunning() const { return m_thread.isRunning(); }

signals:
    void jobStarted(const QString& title);
    void progress(qint64 done, qint64 total, const QString& what);
    void jobFinished(const QString& title, bool ok);
    void message(int severity, const QString& text);
    void modelLoaded(const basis::ui::ModelSummary& summary);
    void calibrated(const basis::ui::CalibrationSummary& summary);
    void compressed(const basis::ui::CompressionSummary& summary);
    void spectraReady(const basis::ui::SpectraSummary& spectra);
    void pplEvaluated(const basis::ui::PplSummary& summary);
    void throughputMeasured(const basis::ui::ThroughputSummary& summary);
    void tasksEvaluated(const basis::ui::TasksSummary& summary);
    void generationUpdated(const basis::ui::GenerationOutput& output);
    void compressedSaved(const QString& dir);

private:
    template <typename Fn> void post(Fn fn);

    QThread m_thread;
    EngineWorker* m_worker = nullptr;   // lives on m_thread; deleted there when its loop ends
    bool m_busy = false;
};

} // namespace basis::ui
