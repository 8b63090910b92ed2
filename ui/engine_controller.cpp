#include "engine_controller.h"

#include "engine_worker.h"

#include <QMetaObject>

namespace basis::ui {

EngineController::EngineController(QObject* parent) : QObject(parent)
{
    registerEngineMetaTypes();
    m_thread.setObjectName("engine");
    m_worker = new EngineWorker;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);

    // The worker lives on another thread, so these connections are queued: handlers run on the GUI thread.
    connect(m_worker, &EngineWorker::jobStarted, this, [this](const QString& title) {
        m_busy = true;
        emit jobStarted(title);
    });
    connect(m_worker, &EngineWorker::jobFinished, this, [this](const QString& title, bool ok) {
        m_busy = false;
        emit jobFinished(title, ok);
    });
    connect(m_worker, &EngineWorker::progress, this, &EngineController::progress);
    connect(m_worker, &EngineWorker::message, this, &EngineController::message);
    connect(m_worker, &EngineWorker::modelLoaded, this, &EngineController::modelLoaded);
    connect(m_worker, &EngineWorker::calibrated, this, &EngineController::calibrated);
    connect(m_worker, &EngineWorker::compressed, this, &EngineController::compressed);
    connect(m_worker, &EngineWorker::spectraReady, this, &EngineController::spectraReady);
    connect(m_worker, &EngineWorker::pplEvaluated, this, &EngineController::pplEvaluated);
    connect(m_worker, &EngineWorker::throughputMeasured, this, &EngineController::throughputMeasured);
    connect(m_worker, &EngineWorker::tasksEvaluated, this, &EngineController::tasksEvaluated);
    connect(m_worker, &EngineWorker::generationUpdated, this, &EngineController::generationUpdated);
    connect(m_worker, &EngineWorker::compressedSaved, this, &EngineController::compressedSaved);
    m_thread.start();
}

EngineController::~EngineController() { shutdown(); }

// A queued call: the request is an event on the engine thread's loop, run after the jobs before it.
template <typename Fn> void EngineController::post(Fn fn)
{
    if (m_thread.isRunning())
        QMetaObject::invokeMethod(m_worker, std::move(fn), Qt::QueuedConnection);
}

void EngineController::loadModel(const QString& dir)
{
    post([w = m_worker, dir] { w->loadModel(dir); });
}

void EngineController::makeDemoModel(const QString& preset, const QString& dir, const QString& tokenizerDir)
{
    post([w = m_worker, preset, dir, tokenizerDir] { w->makeDemoModel(preset, dir, tokenizerDir); });
}

void EngineController::calibrate(const CalibrationSetup& setup)
{
    post([w = m_worker, setup] { w->calibrate(setup); });
}

void EngineController::compress(const CompressionSettings& settings)
{
    post([w = m_worker, settings] { w->compress(settings); });
}

void EngineController::computeSpectra(const std::vector<int64_t>& groupSizes)
{
    post([w = m_worker, groupSizes] { w->computeSpectra(groupSizes); });
}

void EngineController::evaluatePpl(const PplSetup& setup)
{
    post([w = m_worker, setup] { w->evaluatePpl(setup); });
}

void EngineController::measureThroughput(const ThroughputSetup& setup)
{
    post([w = m_worker, setup] { w->measureThroughput(setup); });
}

void EngineController::evaluateTasks(const TasksSetup& setup)
{
    post([w = m_worker, setup] { w->evaluateTasks(setup); });
}

void EngineController::generate(const GenerateSetup& setup)
{
    post([w = m_worker, setup] { w->generate(setup); });
}

void EngineController::saveCompressed(const QString& dir)
{
    post([w = m_worker, dir] { w->saveCompressed(dir); });
}

void EngineController::cancel()
{
    if (m_thread.isRunning())
        m_worker->cancel();
}

void EngineController::shutdown()
{
    if (!m_thread.isRunning())
        return;
    m_worker->cancel();
    m_thread.requestInterruption();   // the worker drops jobs still queued and cancels at its next progress report
    m_thread.quit();
    m_thread.wait();
    m_busy = false;
}

} // namespace basis::ui
