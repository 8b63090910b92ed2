// MainWindow: the Evaluate and Generate tabs, their actions, and saving the compressed model.
#include "main_window.h"

#include "config_jobs.h"
#include "engine_controller.h"
#include "studio_document.h"
#include "eval_results_model.h"
#include "evaluate_view.h"
#include "generate_view.h"
#include "log_dock.h"
#include "rank_strategy.h"

#include <QAction>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QSettings>
#include <QTabWidget>

namespace basis::ui {

namespace {
QString describe(const CompressionSettings& s)
{
    return QStringLiteral("%1, ratio %2 %, g = %3")
        .arg(QString::fromStdString(s.method))
        .arg(s.ratio)
        .arg(s.groupSize);
}
// What a run under a dynamic-rank strategy spent, for the log line (empty for a run of the model as stored).
QString rankNote(const std::optional<RankRunStatistics>& rank, int64_t promptTokens)
{
    if (!rank)
        return {};
    const RankSettings& r = rank->settings;
    QString text = QObject::tr(" Under %1%2: %3 % of the rank channels computed")
                       .arg(rankLabel(rankStrategyName(r.strategy), r.budget, r.energy),
                            promptTokens > 0 ? QObject::tr(" (first %1 tokens of each window at full rank, not scored)")
                                                   .arg(promptTokens)
                                             : QString())
                       .arg(100.0 * rank->meanShare, 0, 'f', 1);
    if (rank->projectionMultiplyAdds > 0)
        text += QObject::tr(", %1x fewer projection multiply-adds per token")
                    .arg(rank->baselineProjectionMultiplyAdds / rank->projectionMultiplyAdds, 0, 'f', 2);
    bool measured = !rank->projections.empty();
    for (const RankSlotStatistics& p : rank->projections)
        measured = measured && p.energyMeasured;
    if (measured)
        text += QObject::tr(", %1 % of the energy kept").arg(100.0 * rank->energyKept, 0, 'f', 2);
    return text + QLatin1Char('.');
}

} // namespace

void MainWindow::buildEvaluateTabs()
{
    m_evaluate = new EvaluateView;
    m_generate = new GenerateView;
    m_tabs->addTab(m_evaluate, tr("&Evaluate"));
    m_tabs->addTab(m_generate, tr("&Generate"));
    connect(m_evaluate, &EvaluateView::pplRequested, this, &MainWindow::evaluatePerplexity);
    connect(m_evaluate, &EvaluateView::throughputRequested, this, &MainWindow::measureThroughput);
    connect(m_evaluate, &EvaluateView::tasksRequested, this, &MainWindow::evaluateTasks);
    connect(m_evaluate, &EvaluateView::message, this, [this](int severity, const QString& text) { log(Severity(severity), text); });
    connect(m_generate, &GenerateView::generateRequested, this, &MainWindow::generate);

    connect(m_doc, &StudioDocument::modelLoaded, this, [this](const ModelSummary& s) {
        m_evaluate->setMaxContext(s.config.maxPositions);
        m_evaluate->setCompressedAvailable(false);
        m_generate->setCompressedAvailable(false);
    });
    connect(m_doc, &StudioDocument::compressed, this, [this](const CompressionSummary& s) {
        m_evaluate->setCompressedAvailable(true);
        m_generate->setCompressedAvailable(true, describe(s.settings));
        updateActions();
    });
    connect(m_doc, &StudioDocument::pplEvaluated, this, [this](const PerplexitySummary& s) {
        m_evaluate->addPpl(s);
        const PplResult& r = s.result;
        log(Severity::Info, tr("Perplexity of the %1 model on %2: %3 (%4 tokens, %5 windows of %6, %7) in %8 s.")
                                .arg(QString::fromStdString(s.model.variant), QString::fromStdString(s.source))
                                .arg(r.ppl, 0, 'f', 4)
                                .arg(r.tokens)
                                .arg(r.windows)
                                .arg(r.context)
                                .arg(QString::fromStdString(protocolName(r.protocol)))
                                .arg(r.seconds, 0, 'f', 2) +
                                (r.layerwise ? tr(" A layer at a time over the windows (the weights exceed the memory "
                                                  "available): the model read %1 time(s).").arg(r.chunks)
                                             : QString()) +
                                rankNote(s.rank, s.promptTokens));
    });
    connect(m_doc, &StudioDocument::throughputMeasured, this, [this](const ThroughputSummary& s) {
        m_evaluate->addThroughput(s);
        log(Severity::Info, tr("Throughput of the %1 model: prefill %2 tokens/s, decode %3 tokens/s, first token after %4 ms.")
                                .arg(QString::fromStdString(s.model.variant))
                                .arg(s.result.prefillTokensPerSecond, 0, 'f', 0)
                                .arg(s.result.decodeTokensPerSecond, 0, 'f', 0)
                                .arg(s.result.timeToFirstTokenSeconds * 1000, 0, 'f', 1) +
                                rankNote(s.rank, 0));
    });
    connect(m_doc, &StudioDocument::tasksEvaluated, this, [this](const TasksSummary& s) {
        m_evaluate->addTasks(s);
        auto pm = [](double v, const std::optional<double>& e) {
            return QString::number(v, 'f', 4) + (e ? QStringLiteral(" ± ") + QString::number(*e, 'f', 4) : QString());
        };
        const McResult& r = s.result;
        log(Severity::Info, tr("%1 on the %2 model: acc %3%4 over %5 items (%6 choices scored, %7 truncated) in %8 s.")
                                .arg(QString::fromStdString(s.task), QString::fromStdString(s.model.variant),
                                     pm(r.acc, r.accStderr),
                                     r.reportsAccNorm ? tr(", acc_norm %1").arg(pm(r.accNorm, r.accNormStderr)) : QString())
                                .arg(r.items)
                                .arg(r.requests)
                                .arg(r.truncated)
                                .arg(r.seconds, 0, 'f', 2));
    });
    connect(m_doc, &StudioDocument::generationUpdated, m_generate, &GenerateView::showOutput);
    connect(m_doc, &StudioDocument::compressedSaved, this,
            [this](const QString& dir) { log(Severity::Info, tr("Saved the compressed model to %1.").arg(dir)); });
}

void MainWindow::buildEvaluateActions(QMenu* model)
{
    auto add = [&](const QString& text, const QKeySequence& key, void (MainWindow::*slot)()) {
        QAction* a = model->addAction(text, key, this, slot);
        a->setToolTip(QStringLiteral("%1 (%2)").arg(a->text().remove(QLatin1Char('&')), key.toString(QKeySequence::NativeText)));
        m_runActions << a;
        return a;
    };
    model->addSeparator();
    // Run the tab's form and show the tab, so the result is where the user looks.
    add(tr("&Evaluate perplexity"), QKeySequence(Qt::Key_F5), &MainWindow::evaluatePerplexity);
    add(tr("Measure &throughput"), QKeySequence(Qt::SHIFT | Qt::Key_F5), &MainWindow::measureThroughput);
    add(tr("Evaluate &zero-shot task"), QKeySequence(Qt::CTRL | Qt::Key_F5), &MainWindow::evaluateTasks);
    add(tr("&Generate"), QKeySequence(Qt::CTRL | Qt::Key_Return), &MainWindow::generate);
    model->addSeparator();
}

void MainWindow::applyConfigToEvaluate(const RunConfig& c)
{
    if (!c.dataDir.empty())
        m_evaluate->setDataDir(QString::fromStdString(c.dataDir));
    if (c.evaluations.empty())
        return;
    const PerplexityJobOptions s = perplexityOptionsFrom(c, c.evaluations.front());
    try {
        m_evaluate->setPplForm(s);
    } catch (const std::exception& ex) {   // an unknown dataset name: the form keeps its choice
        log(Severity::Warning, tr("Evaluate: %1").arg(QString::fromUtf8(ex.what())));
    }
    applyConfigToDynamicRank(s.rank);
}

void MainWindow::evaluatePerplexity()
{
    if (!hasModel() || m_engine->isBusy())
        return;
    m_tabs->setCurrentWidget(m_evaluate);
    for (const PerplexityJobOptions& s : m_evaluate->pplSetups()) {
        if (s.dataset.empty() && s.text.empty()) {
            log(Severity::Error, tr("Perplexity: choose a dataset preset or a text file."));
            return;
        }
        PerplexityJobOptions run = s;
        run.rank = evaluateRank(s.compressed);   // the Dynamic rank tab's strategy, when it applies
        m_engine->evaluatePpl(run);   // queued: dense then compressed run one after the other
    }
}

void MainWindow::measureThroughput()
{
    if (!hasModel() || m_engine->isBusy())
        return;
    m_tabs->setCurrentWidget(m_evaluate);
    for (ThroughputJobOptions s : m_evaluate->throughputSetups()) {
        s.rank = evaluateRank(s.compressed);
        m_engine->measureThroughput(s);
    }
}

void MainWindow::evaluateTasks()
{
    if (!hasModel() || m_engine->isBusy())
        return;
    m_tabs->setCurrentWidget(m_evaluate);
    for (const TasksJobOptions& s : m_evaluate->tasksSetups()) {
        if (s.data.empty()) {
            log(Severity::Error, tr("Zero-shot tasks: choose a JSONL task file."));
            return;
        }
        m_engine->evaluateTasks(s);   // queued: dense then compressed
    }
}

void MainWindow::generate()
{
    if (!hasModel() || m_engine->isBusy())
        return;
    m_tabs->setCurrentWidget(m_generate);
    m_generate->clearOutputs();
    m_engine->generate(m_generate->setup());
}

bool MainWindow::saveCompressed(const QString& dir)
{
    if (!m_doc->hasCompressed()) {
        log(Severity::Error, tr("Save compressed model: nothing to save yet; compress first (Ctrl+R)."));
        return false;
    }
    m_engine->saveCompressed(dir);
    return true;
}

void MainWindow::chooseSaveCompressed()
{
    if (!m_doc->hasCompressed()) {
        saveCompressed({});   // says why
        return;
    }
    QSettings settings;
    const QString dir = QFileDialog::getSaveFileName(this, tr("Save the compressed model as a new folder"),
                                                     settings.value(QStringLiteral("folders/saved")).toString());
    if (dir.isEmpty())
        return;
    settings.setValue(QStringLiteral("folders/saved"), QFileInfo(dir).absolutePath());
    // The save replaces the folder whole: never a folder that is not a model, and a model only when confirmed.
    const QDir target(dir);
    if (target.exists() && !target.isEmpty()) {
        if (!QFileInfo::exists(target.filePath(QStringLiteral("config.json")))) {
            log(Severity::Error, tr("Save compressed model: %1 exists and is not a model folder; choose a new name.").arg(dir));
            return;
        }
        if (QMessageBox::question(this, tr("Replace model folder"),
                                  tr("%1 holds a model. Replace it with the compressed model?").arg(dir)) != QMessageBox::Yes)
            return;
    }
    saveCompressed(dir);
}

} // namespace basis::ui

namespace basis::ui {

bool MainWindow::hasModel() const { return m_doc->hasModel(); }
bool MainWindow::hasCompressed() const { return m_doc->hasCompressed(); }
const EnergyTable& MainWindow::energyTable() const { return m_doc->energy(); }

} // namespace basis::ui
