// MainWindow: the Evaluate tab's sweeps (the Sweep dialog, the run on the engine thread, each record into the
// table and the Pareto view) and loading a clicked run's settings into the compression controls.
#include "main_window.h"

#include "calibration_panel.h"
#include "compression_panel.h"
#include "eval_results_model.h"
#include "config_jobs.h"
#include "engine_controller.h"
#include "evaluate_view.h"
#include "log_dock.h"
#include "studio_document.h"
#include "sweep_dialog.h"

#include <QDir>
#include <QStandardPaths>
#include <QTabWidget>

namespace basis::ui {

void MainWindow::connectSweeps()
{
    connect(m_evaluate, &EvaluateView::sweepRequested, this, [this] {
        if (!hasModel() || m_engine->isBusy())
            return;
        QString error;
        const RunConfig base = sweepBaseConfig(&error);
        if (!error.isEmpty()) {
            log(Severity::Error, tr("Sweep: %1").arg(error));
            return;
        }
        SweepSpec start = m_lastSweep;
        if (start.methods.empty()) {
            start.methods = {m_compression->settings().method};
            start.budgets = {20, 30, 40, 50};
            start.groupSizes = {1, 2};
            start.allocators = {"uniform", "greedy"};
            const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
            start.results = QDir(dir).filePath(QStringLiteral("sweeps/results.jsonl")).toStdString();
        }
        SweepDialog dialog(base, start, this);
        if (dialog.exec() == QDialog::Accepted)
            runSweep(dialog.spec());
    });
    connect(m_evaluate, &EvaluateView::runChosen, this, &MainWindow::loadRunSettings);
    connect(m_doc, &StudioDocument::sweepRun, this,
            [this](int i, int n, const QString& id, const nlohmann::json* record, bool resumed) {
                if (!record) {
                    log(Severity::Info, tr("Sweep run %1/%2: %3.").arg(i + 1).arg(n).arg(id));
                    return;
                }
                m_evaluate->addSweepRecord(*record);
                if (resumed)
                    log(Severity::Info, tr("Sweep run %1/%2: %3 read back from the results file.").arg(i + 1).arg(n).arg(id));
            });
    connect(m_doc, &StudioDocument::sweepFinished, this, [this](int ran, int resumed, const QString& file) {
        log(Severity::Info, tr("Sweep finished: %1 run(s) made, %2 read back; results in %3 (CSV beside it).")
                                .arg(ran)
                                .arg(resumed)
                                .arg(file));
    });
}

RunConfig MainWindow::sweepBaseConfig(QString* error) const
{
    const std::filesystem::path modelDir =
        m_modelSpec.empty() ? std::filesystem::absolute(m_doc->model()->dir) : std::filesystem::path(m_modelSpec);
    const CalibrateOptions calibration = m_calibration->setup();
    RunConfig c = runConfigFrom(modelDir, m_doc->model()->config, calibration, m_compression->settings(), m_baseConfig);
    if (calibration.text.empty() && error)
        *error = tr("choose a calibration text first (the sweep calibrates once on it)");
    // The Evaluate tab's perplexity form is the sweep's evaluation (its dataset or file, context, stride, protocol).
    c.evaluations.clear();
    c.throughput.clear();
    c.tasks.clear();
    const std::vector<PerplexityJobOptions> ppl = m_evaluate->pplSetups();
    if (!ppl.empty()) {
        PplEvaluation e;
        e.dataset = ppl.front().dataset;
        e.text = ppl.front().text.string();
        e.context = ppl.front().context;
        e.stride = ppl.front().stride;
        e.protocol = ppl.front().protocol;
        if (!ppl.front().dataset.empty())
            c.dataDir = ppl.front().dataDir.string();
        c.evaluations.push_back(e);
    }
    if (c.evaluations.empty() || (c.evaluations.front().dataset.empty() && c.evaluations.front().text.empty()))
        if (error && error->isEmpty())
            *error = tr("choose the perplexity text of the Evaluate tab first (every run is evaluated on it)");
    c.saveUntrainedModel = false;
    c.saveUpdatedModel = false;
    c.loraRequested = false;
    return c;
}

void MainWindow::runSweep(const SweepSpec& spec)
{
    QString error;
    RunConfig c = sweepBaseConfig(&error);
    if (!error.isEmpty()) {
        log(Severity::Error, tr("Sweep: %1").arg(error));
        return;
    }
    c.sweep = spec;
    m_lastSweep = spec;
    m_tabs->setCurrentWidget(m_evaluate);
    log(Severity::Info, tr("Sweep: results in %1.").arg(QString::fromStdString(spec.results)));
    m_engine->sweep(c);
}

void MainWindow::loadRunSettings(const EvalResult& run)
{
    if (run.model.variant == "dense" || !hasModel())
        return;
    CompressionSettings s = m_compression->settings();
    s.method = run.model.method;
    s.ratio = run.model.ratio > 0 ? run.model.ratio : s.ratio;
    s.budget = run.model.budget;
    s.allocator = run.model.budget > 0 && !run.model.allocator.empty() ? run.model.allocator : "uniform";
    if (run.model.groupSize > 0)
        s.groupSize = run.model.groupSize;
    try {
        m_compression->setSettings(s);
        log(Severity::Info, tr("Loaded the settings of that run into the compression controls."));
    } catch (const std::exception& e) {
        log(Severity::Error, tr("That run's settings do not fit this model: %1").arg(QString::fromStdString(e.what())));
    }
}

} // namespace basis::ui
