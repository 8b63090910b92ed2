// MainWindow: the Fine-tune tab. A run trains the workspace's compressed copy (or the loaded model, as a dense
// control) on the engine thread; the healed model then is the one Evaluate and Generate call "compressed", and its
// rows carry what was trained (ModelVariant::healed).
#include "main_window.h"

#include "config_jobs.h"
#include "engine_controller.h"
#include "evaluate_view.h"
#include "finetune_view.h"
#include "generate_view.h"
#include "studio_document.h"

#include <QTabWidget>

namespace basis::ui {

void MainWindow::buildFinetuneTab()
{
    m_finetune = new FinetuneView;
    m_tabs->addTab(m_finetune, tr("Fine-&tune"));
    connect(m_finetune, &FinetuneView::trainRequested, this, &MainWindow::finetune);
    connect(m_finetune, &FinetuneView::cancelRequested, m_engine, &EngineController::cancel);
    connect(m_doc, &StudioDocument::modelLoaded, m_finetune, &FinetuneView::setModel);
    connect(m_doc, &StudioDocument::compressed, this, [this](const CompressionSummary& s) {
        m_finetune->setCompressedAvailable(true, tr("%1, ratio %2 %, g = %3")
                                                     .arg(QString::fromStdString(s.settings.method))
                                                     .arg(s.settings.ratio)
                                                     .arg(s.settings.groupSize));
    });
    connect(m_doc, &StudioDocument::trainStepped, m_finetune, &FinetuneView::addStep);
    connect(m_doc, &StudioDocument::finetuned, this, [this](const FinetuneSummary& s) {
        m_finetune->showResult(s);
        const QString what = QString::fromStdString(s.record.value("train", std::string()));
        m_finetune->setCompressedAvailable(true, tr("healed by %1; a second run trains it further").arg(what));
        m_evaluate->setCompressedAvailable(true);
        m_generate->setCompressedAvailable(true, tr("healed (%1)").arg(what));
        const TrainResult& r = s.result;
        log(Severity::Info, tr("Fine-tuned (%1): %2 steps, %3 tokens in %4 s (%5 tokens/s)%6.")
                                .arg(what)
                                .arg(r.steps)
                                .arg(r.tokens)
                                .arg(r.seconds, 0, 'f', 1)
                                .arg(r.tokensPerSecond, 0, 'f', 0)
                                .arg(r.pplBefore && r.pplAfter ? tr(", evaluation PPL %1 → %2")
                                                                     .arg(*r.pplBefore, 0, 'f', 3)
                                                                     .arg(*r.pplAfter, 0, 'f', 3)
                                                               : QString()));
        updateActions();
    });
}

void MainWindow::applyConfigToFinetune(const RunConfig& c)
{
    FinetuneJobOptions o = finetuneOptionsFrom(c);
    if (o.train.epochs > 0 && o.train.steps == 0 && o.train.tokens == 0)
        log(Severity::Warning, tr("Fine-tune: the config's budget is %1 epochs; the form runs the token budget it shows "
                                  "(basis_studio.finetune_steps or finetune_tokens set it exactly)")
                                   .arg(o.train.epochs));
    m_finetune->setOptions(o);
}

void MainWindow::finetune()
{
    if (!hasModel() || m_engine->isBusy())
        return;
    FinetuneJobOptions o;
    try {
        o = m_finetune->options();
    } catch (const std::exception& e) {
        log(Severity::Error, QString::fromUtf8(e.what()));
        return;
    }
    m_tabs->setCurrentWidget(m_finetune);
    m_finetune->startRun();
    m_engine->finetune(o);
}

} // namespace basis::ui
