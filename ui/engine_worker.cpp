// A Qt translation unit: it reaches LibTorch only through engine_session.h, which has no torch types.
#include "engine_worker.h"

#include "error.h"

#include <QElapsedTimer>
#include <QThread>

#include <exception>

namespace basis::ui {

void registerEngineMetaTypes()
{
    qRegisterMetaType<basis::CompressionSettings>();
    qRegisterMetaType<ModelSummary>();
    qRegisterMetaType<CalibrationSetup>();
    qRegisterMetaType<CalibrationSummary>();
    qRegisterMetaType<CompressionSummary>();
    qRegisterMetaType<SpectraSummary>();
    qRegisterMetaType<PplSetup>();
    qRegisterMetaType<PplSummary>();
    qRegisterMetaType<ThroughputSetup>();
    qRegisterMetaType<ThroughputSummary>();
    qRegisterMetaType<TasksSetup>();
    qRegisterMetaType<TasksSummary>();
    qRegisterMetaType<GenerateSetup>();
    qRegisterMetaType<GenerationOutput>();
}

EngineWorker::EngineWorker(QObject* parent) : QObject(parent), m_session(std::make_unique<EngineSession>()) {}

// Runs on the engine thread (deleteLater after the thread's loop ends), so torch state dies where it lived.
EngineWorker::~EngineWorker() = default;

void EngineWorker::cancel() { m_cancel.cancel(); }

void EngineWorker::runJob(const QString& title, const std::function<void(const JobContext&)>& body)
{
    if (QThread::currentThread()->isInterruptionRequested())
        return;   // shutting down: jobs still queued are dropped
    m_cancel.reset();
    emit jobStarted(title);
    // Progress is throttled: engines may report thousands of steps, and every signal is an event for the GUI.
    QElapsedTimer sinceLast;
    sinceLast.start();
    bool first = true;
    JobContext job;
    job.cancel = &m_cancel;
    job.progress = [&](int64_t done, int64_t total, const std::string& what) {
        if (QThread::currentThread()->isInterruptionRequested())
            m_cancel.cancel();
        if (first || done >= total || sinceLast.elapsed() >= 50) {
            first = false;
            sinceLast.restart();
            emit progress(done, total, QString::fromStdString(what));
        }
    };
    bool ok = false;
    try {
        body(job);
        ok = true;
    } catch (const Cancelled&) {
        emit message(int(Severity::Info), title + ": cancelled");
    } catch (const std::exception& e) {
        // basis::Error carries a complete message; LibTorch's c10::Error is a std::exception too.
        emit message(int(Severity::Error), title + ": " + QString::fromStdString(e.what()));
    }
    emit jobFinished(title, ok);
}

void EngineWorker::loadModel(const QString& dir)
{
    runJob(tr("Load model"), [&](const JobContext& job) {
        emit modelLoaded(m_session->loadModel(dir.toStdString(), job));
    });
}

void EngineWorker::makeDemoModel(const QString& preset, const QString& dir, const QString& tokenizerDir)
{
    runJob(tr("Make demo model"), [&](const JobContext& job) {
        emit modelLoaded(m_session->makeDemoModel(preset.toStdString(), dir.toStdString(), tokenizerDir.toStdString(), job));
    });
}

void EngineWorker::calibrate(const CalibrationSetup& setup)
{
    runJob(tr("Calibrate"), [&](const JobContext& job) {
        auto log = [this](Severity s, const std::string& text) { emit message(int(s), QString::fromStdString(text)); };
        emit calibrated(m_session->calibrate(setup, job, log));
    });
}

void EngineWorker::compress(const CompressionSettings& settings)
{
    runJob(tr("Compress"), [&](const JobContext& job) { emit compressed(m_session->compress(settings, job)); });
}

void EngineWorker::computeSpectra(const std::vector<int64_t>& groupSizes)
{
    runJob(tr("Spectra"), [&](const JobContext& job) { emit spectraReady(m_session->computeSpectra(groupSizes, job)); });
}

void EngineWorker::evaluatePpl(const PplSetup& setup)
{
    runJob(tr("Perplexity"), [&](const JobContext& job) { emit pplEvaluated(m_session->evaluatePerplexity(setup, job)); });
}

void EngineWorker::measureThroughput(const ThroughputSetup& setup)
{
    runJob(tr("Throughput"), [&](const JobContext& job) { emit throughputMeasured(m_session->measureThroughput(setup, job)); });
}

void EngineWorker::evaluateTasks(const TasksSetup& setup)
{
    runJob(tr("Zero-shot tasks"), [&](const JobContext& job) { emit tasksEvaluated(m_session->evaluateTasks(setup, job)); });
}

void EngineWorker::generate(const GenerateSetup& setup)
{
    runJob(tr("Generate"), [&](const JobContext& job) {
        QElapsedTimer sinceLast;
        sinceLast.start();
        m_session->generate(setup, job, [&](const GenerationOutput& out) {
            if (out.finished || sinceLast.elapsed() >= 50) {
                sinceLast.restart();
                emit generationUpdated(out);
            }
        });
    });
}

void EngineWorker::saveCompressed(const QString& dir)
{
    runJob(tr("Save compressed model"), [&](const JobContext& job) {
        m_session->saveCompressed(dir.toStdString(), job);
        emit compressedSaved(dir);
    });
}

} // namespace basis::ui
