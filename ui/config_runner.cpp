#include "config_runner.h"

#include "calibration_panel.h"
#include "compression_panel.h"
#include "config_jobs.h"
#include "engine_controller.h"
#include "finetune_view.h"
#include "studio_document.h"
#include "generate_view.h"
#include "main_window.h"
#include "method_registry.h"

#include <QTimer>

namespace basis::ui {

ConfigRunner::ConfigRunner(MainWindow* window) : QObject(window), m_window(window)
{
    EngineController* engine = window->engine();
    StudioDocument* doc = engine->document();
    // Each step waits for its own result; any failed job (its error is in the log) ends the run.
    connect(doc, &StudioDocument::calibrated, this, [this] { stepDone(Wait::Calibrated); });
    connect(doc, &StudioDocument::compressed, this, [this] { stepDone(Wait::Compressed); });
    connect(doc, &StudioDocument::finetuned, this, [this] { stepDone(Wait::Finetuned); });
    connect(doc, &StudioDocument::pplEvaluated, this, [this] { stepDone(Wait::Ppl); });
    connect(doc, &StudioDocument::throughputMeasured, this, [this] { stepDone(Wait::Throughput); });
    connect(doc, &StudioDocument::tasksEvaluated, this, [this] { stepDone(Wait::Tasks); });
    connect(doc, &StudioDocument::generationUpdated, this, [this](const GenerationOutput& out) {
        if (out.finished && (out.model.variant == "compressed" || !m_window->hasCompressed()))
            stepDone(Wait::Generated);
    });
    connect(engine, &EngineController::jobFinished, this, [this](const QString& title, bool ok) {
        if (!ok && m_waiting)
            fail(tr("%1 failed (see the log)").arg(title));
    });
    m_idle = new QTimer(this);
    m_idle->setInterval(100);
    connect(m_idle, &QTimer::timeout, this, &ConfigRunner::settle);
}

void ConfigRunner::start()
{
    MainWindow* w = m_window;
    EngineController* engine = w->engine();
    const RunConfig& c = w->currentConfig();
    const CompressionSettings settings = w->compressionPanel()->settings();
    if (basis::method(settings.method).needsStatistics())
        m_steps.push_back({tr("calibrate"), Wait::Calibrated, [w, engine] { engine->calibrate(w->calibrationPanel()->setup()); }});
    m_steps.push_back({tr("compress"), Wait::Compressed, [w, engine, settings] { engine->compress(w->compressOptions(settings)); }});
    // lora_args: the compressed model is measured, then healed with the Fine-tune tab's settings (the config's, as
    // applied); the evaluations below then measure the healed model, as `basis-cli run` does.
    if (c.loraRequested) {
        for (const PplEvaluation& e : c.evaluations) {
            PerplexityJobOptions s = perplexityOptionsFrom(c, e);
            s.compressed = true;
            m_steps.push_back({tr("perplexity"), Wait::Ppl, [engine, s] { engine->evaluatePpl(s); }});
        }
        m_steps.push_back({tr("fine-tune"), Wait::Finetuned, [this, w, engine] {
                               try {
                                   const FinetuneJobOptions o = w->finetuneView()->options();
                                   w->finetuneView()->startRun();
                                   engine->finetune(o);   // queued like the other steps (the window's busy check would drop it)
                               } catch (const std::exception& e) {
                                   fail(QString::fromUtf8(e.what()));
                               }
                           }});
    }
    // The config's evaluations as `basis-cli run` reads them (config_jobs.h), on the dense and the compressed model.
    for (const PplEvaluation& e : c.evaluations)
        for (bool compressed : {false, true}) {
            PerplexityJobOptions s = perplexityOptionsFrom(c, e);
            s.compressed = compressed;
            m_steps.push_back({tr("perplexity"), Wait::Ppl, [engine, s] { engine->evaluatePpl(s); }});
        }
    for (const ThroughputEvaluation& t : c.throughput)
        for (bool compressed : {false, true}) {
            ThroughputJobOptions s = throughputOptionsFrom(t);
            s.compressed = compressed;
            m_steps.push_back({tr("throughput"), Wait::Throughput, [engine, s] { engine->measureThroughput(s); }});
        }
    for (const TasksEvaluation& t : c.tasks)
        for (bool compressed : {false, true}) {
            TasksJobOptions s = tasksOptionsFrom(t);
            s.compressed = compressed;
            m_steps.push_back({tr("zero-shot tasks"), Wait::Tasks, [engine, s] { engine->evaluateTasks(s); }});
        }
    m_steps.push_back({tr("generate"), Wait::Generated, [w, engine] {
                           w->generateView()->clearOutputs();
                           engine->generate(w->generateView()->setup());
                       }});
    next();
}

void ConfigRunner::next()
{
    if (m_done)
        return;
    if (m_next == m_steps.size()) {
        m_waiting = false;
        m_idle->start();
        return;
    }
    m_waiting = true;
    m_steps[m_next].post();
}

void ConfigRunner::stepDone(Wait what)
{
    if (!m_waiting || m_done || m_next >= m_steps.size() || m_steps[m_next].wait != what)
        return;
    ++m_next;
    next();
}

void ConfigRunner::fail(const QString& error)
{
    if (m_done)
        return;
    m_done = true;
    m_idle->stop();
    emit finished(false, error);
}

void ConfigRunner::settle()
{
    // Idle for three ticks in a row: jobs the window queued itself (spectra) have finished too.
    m_idleTicks = m_window->engine()->isBusy() ? 0 : m_idleTicks + 1;
    if (m_idleTicks < 3 || m_done)
        return;
    m_done = true;
    m_idle->stop();
    emit finished(true, {});
}

} // namespace basis::ui
