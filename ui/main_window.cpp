#include "main_window.h"

#include "activation_place.h"
#include "memory_usage.h"

#include "about_dialog.h"
#include "calibration_panel.h"
#include "compression_panel.h"
#include "engine_controller.h"
#include "studio_document.h"
#include "dynamic_rank_view.h"
#include "evaluate_view.h"
#include "finetune_view.h"
#include "generate_view.h"
#include "job_progress.h"
#include "layers_model.h"
#include "layers_view.h"
#include "heatmap_view.h"
#include "log_dock.h"
#include "feature_space_plan.h"
#include "method_registry.h"
#include "model_summary_view.h"
#include "plan_summary_view.h"
#include "plan_text.h"
#include "spectra_view.h"
#include "start_page.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QFileInfo>
#include <QGroupBox>
#include <QIcon>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

// The icon is compiled into the static basis_ui library, whose resources must be registered by name (outside any
// namespace, as Q_INIT_RESOURCE requires).
static void initUiResources() { Q_INIT_RESOURCE(basis_ui); }

namespace basis::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    initUiResources();
    const QIcon icon(QStringLiteral(":/basis-studio/basis-studio.svg"));
    setWindowIcon(icon);
    if (QApplication::windowIcon().isNull())
        QApplication::setWindowIcon(icon);   // dialogs, the task bar
    setWindowTitle(tr("Basis Studio"));
    setAcceptDrops(true);
    m_engine = new EngineController(this);
    m_doc = m_engine->document();

    m_start = new StartPage;
    m_stack = new QStackedWidget;
    m_stack->addWidget(m_start);
    buildModelPage();
    setCentralWidget(m_stack);

    m_log = new LogDock(this);
    addDockWidget(Qt::BottomDockWidgetArea, m_log);
    m_progress = new JobProgress;
    statusBar()->addPermanentWidget(m_progress);
    m_lastJob = new QLabel;
    m_lastJob->setObjectName(QStringLiteral("lastJob"));
    m_lastJob->setFrameShape(QFrame::StyledPanel);   // apart from the status messages that run up to it
    m_lastJob->setContentsMargins(6, 0, 6, 0);
    m_lastJob->setToolTip(tr("The last job's wall time and the peak resident memory of the studio while it ran. RssAnon "
                             "(heap) cannot be evicted and decides whether a job fits; file-backed pages (weights kept "
                             "as stored, mapped statistics) are dropped and reread by the kernel under pressure."));
    statusBar()->addPermanentWidget(m_lastJob);

    buildActions();
    connectEngine();
    connect(m_start, &StartPage::builtinRequested, this, &MainWindow::openBuiltinModel);
    connect(m_start, &StartPage::openRequested, this, &MainWindow::chooseModel);
    connect(m_start, &StartPage::openDirRequested, this, &MainWindow::openModel);
    connect(m_start, &StartPage::demoRequested, this, &MainWindow::chooseDemo);
    connect(m_start, &StartPage::configRequested, this, &MainWindow::chooseConfig);
    connect(m_progress, &JobProgress::cancelRequested, m_engine, &EngineController::cancel);
    refreshRecent();
    updateActions();

    resize(1600, 1000);
    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
    if (!restoreState(settings.value(QStringLiteral("window/state")).toByteArray()))
        resizeDocks({m_log}, {160}, Qt::Vertical);   // first start: the log is a strip, the model gets the room
    statusBar()->showMessage(tr("Open a model folder to start."));
}

MainWindow::~MainWindow() { m_engine->shutdown(); }

void MainWindow::buildModelPage()
{
    m_modelSummary = new ModelSummaryView;
    m_calibration = new CalibrationPanel;
    m_compression = new CompressionPanel;
    m_summary = new PlanSummaryView;

    auto box = [](const QString& title, QWidget* content) {
        auto* b = new QGroupBox(title);
        auto* l = new QVBoxLayout(b);
        l->addWidget(content);
        return b;
    };
    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->addWidget(box(tr("Model"), m_modelSummary));
    leftLayout->addWidget(box(tr("Calibration"), m_calibration));
    leftLayout->addStretch(1);

    m_compressButton = new QPushButton(tr("Co&mpress"));
    m_compressButton->setToolTip(tr("Compress a copy of the model with these settings on the engine thread (Ctrl+R)."));
    m_compressStatus = new QLabel(tr("Not compressed yet."));
    m_compressStatus->setWordWrap(true);
    auto* middle = new QWidget;
    auto* middleLayout = new QVBoxLayout(middle);
    middleLayout->addWidget(box(tr("Compression"), m_compression), 1);
    middleLayout->addWidget(m_compressButton);
    middleLayout->addWidget(m_compressStatus);

    auto* right = box(tr("Live counts"), m_summary);

    auto* splitter = new QSplitter;
    splitter->setChildrenCollapsible(false);
    auto* leftScroll = new QScrollArea;
    leftScroll->setWidget(left);
    leftScroll->setWidgetResizable(true);
    leftScroll->setFrameShape(QFrame::NoFrame);
    splitter->addWidget(leftScroll);
    splitter->addWidget(middle);
    splitter->addWidget(right);
    splitter->setSizes({420, 460, 720});
    splitter->setStretchFactor(2, 1);

    m_tabs = new QTabWidget;
    m_tabs->addTab(splitter, tr("&Compression"));
    m_layers = new LayersView;
    m_tabs->addTab(m_layers, tr("&Layers"));
    m_spectra = new SpectraView;
    m_tabs->addTab(buildSpectraTab(), tr("&Spectra"));
    m_heatmaps = new HeatmapView;
    m_tabs->addTab(m_heatmaps, tr("&Heatmaps"));
    buildMethodTabs();
    connect(m_spectra, &SpectraView::spectraWanted, this, &MainWindow::requestSpectra);
    buildEvaluateTabs();
    connectSweeps();
    buildFinetuneTab();
    buildDynamicRankTab();
    m_stack->addWidget(m_tabs);

    connect(m_compression, &CompressionPanel::settingsChanged, this, &MainWindow::updateLiveCounts);
    connect(m_calibration, &CalibrationPanel::calibrateRequested, this, &MainWindow::calibrate);
    connect(m_compressButton, &QPushButton::clicked, this, &MainWindow::compress);
}

void MainWindow::buildActions()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Open the &built-in stories260K"), this, &MainWindow::openBuiltinModel);
    file->addAction(tr("&Open model folder…"), QKeySequence::Open, this, &MainWindow::chooseModel);
    m_recentMenu = file->addMenu(tr("Open &recent"));
    file->addAction(tr("Make a &demo model (random weights)…"), this, &MainWindow::chooseDemo);
    file->addSeparator();
    file->addAction(tr("Open YAML &config…"), QKeySequence(tr("Ctrl+Shift+O")), this, &MainWindow::chooseConfig);
    m_exportAction = file->addAction(tr("&Export settings as YAML…"), QKeySequence(tr("Ctrl+E")), this, &MainWindow::chooseExport);
    m_saveAction = file->addAction(tr("&Save compressed model…"), QKeySequence::Save, this, &MainWindow::chooseSaveCompressed);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* model = menuBar()->addMenu(tr("&Model"));
    m_calibrateAction = model->addAction(tr("&Calibrate"), QKeySequence(tr("Ctrl+K")), this, &MainWindow::calibrate);
    m_compressAction = model->addAction(tr("Co&mpress"), QKeySequence(tr("Ctrl+R")), this, &MainWindow::compress);
    buildEvaluateActions(model);
    m_cancelAction = model->addAction(tr("C&ancel job"), QKeySequence(Qt::Key_Escape), m_engine, &EngineController::cancel);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->addAction(m_log->toggleViewAction());

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Basis Studio"), this, &MainWindow::showAbout);
}

void MainWindow::showAbout()
{
    AboutDialog dialog(this);
    dialog.exec();
}

void MainWindow::connectEngine()
{
    connect(m_engine, &EngineController::jobStarted, this, [this](const QString& title) {
        m_progress->start(title);
        updateActions();
    });
    connect(m_engine, &EngineController::progress, m_progress, &JobProgress::setProgress);
    connect(m_engine, &EngineController::jobFinished, this, &MainWindow::onJobFinished);
    connect(m_engine, &EngineController::jobMeasured, this,
            [this](const QString& title, double seconds, qint64 peakAnon, qint64 peakFile) {
                const QString text = tr("%1: %2 s, peak RssAnon %3, file-backed %4")
                                         .arg(title)
                                         .arg(seconds, 0, 'f', 2)
                                         .arg(QString::fromStdString(formatGigabytes(peakAnon)),
                                              QString::fromStdString(formatGigabytes(peakFile)));
                m_lastJob->setText(text);
                log(Severity::Info, text);
            });
    connect(m_engine, &EngineController::message, this,
            [this](int severity, const QString& text) { log(Severity(severity), text); });
    connect(m_doc, &StudioDocument::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(m_doc, &StudioDocument::calibrated, this, [this](const CalibrationSummary& s) {
        const QString what = tr("Calibrated on %1 tokens (%2 samples)%3 in %4 s.")
                                 .arg(formatCount(s.tokens))
                                 .arg(s.samples)
                                 .arg(s.reused ? tr(", cache reused") : QString())
                                 .arg(s.seconds, 0, 'f', 2);
        m_calibration->setStatus(what, tr("Cache: %1").arg(QString::fromStdString(s.cacheDir.string())));
        log(Severity::Info, what);
        m_spectraRequested.clear();
        updateLiveCounts();   // says the spectra are coming; they are requested when this job has finished
        if (m_compressAfterCalibration) {
            m_engine->compress(compressOptions(*m_compressAfterCalibration));   // queued behind this job, before any spectra
            m_compressAfterCalibration.reset();
        }
    });
    connect(m_doc, &StudioDocument::spectraReady, this, &MainWindow::updateLiveCounts);
    connect(m_doc, &StudioDocument::compressed, this, [this](const CompressionSummary& s) {
        showLiveCounts();   // an allocator's ranks are known now
        double energy = 0;
        for (const GroupSummary& g : s.groups)
            energy += g.energy;
        // Each method described by the settings it reads; the whitened energy only where the method has one.
        const CompressionMethod& m = method(s.settings.method);
        const bool byRatio = m.uses(setting::Ratio);
        const QString how = byRatio && s.settings.budget > 0
                                ? tr("exact budget %1 % (%2 allocator), g = %3")
                                      .arg(s.settings.budget)
                                      .arg(QString::fromStdString(s.settings.allocator))
                                      .arg(s.settings.groupSize)
                            : byRatio ? tr("ratio %1 %, g = %2").arg(s.settings.ratio).arg(s.settings.groupSize)
                            : m.uses(setting::Bits) ? tr("%1 bits, rank %2").arg(s.settings.quant.bits).arg(s.settings.quant.rank)
                                                    : tr("a rank per projection, policy %1")
                                                          .arg(QString::fromStdString(s.settings.featureSpace.policy));
        // A quantizer keeps (almost) every parameter and saves bytes: its line counts bytes as stored.
        const bool bytes = m.uses(setting::Bits);
        const int64_t before = bytes ? s.plan.modelBytesBefore : s.modelBefore;
        const int64_t after = bytes ? s.plan.modelBytesAfter : s.modelAfter;
        QString what = tr("Compressed (%1, %2): %3%4 in %5 s")
                           .arg(QString::fromStdString(s.settings.method), how,
                                beforeAfterText(before, after, 100.0 * double(before - after) / double(before)),
                                bytes ? tr(" bytes as stored (%1 bits per weight)").arg(s.plan.bitsPerWeight(), 0, 'f', 3)
                                      : QString())
                           .arg(s.seconds, 0, 'f', 2);
        what += byRatio && !s.groups.empty()
                    ? tr("; mean energy kept %1.").arg(formatPercent(100.0 * energy / double(s.groups.size())))
                    : QStringLiteral(".");
        m_compressStatus->setText(what);
        m_layers->model()->setCompression(s);
        log(Severity::Info, what);
    });
}

void MainWindow::log(Severity severity, const QString& text)
{
    m_log->add(severity, text);
    if (severity == Severity::Error)
        m_lastError = text;
    if (severity != Severity::Info)
        statusBar()->showMessage(text, 8000);
}

void MainWindow::onJobFinished(const QString& title, bool ok)
{
    Q_UNUSED(title)
    m_progress->finish();
    if (!ok && m_compressAfterCalibration) {
        m_compressAfterCalibration.reset();
        log(Severity::Warning, tr("Compress: not started, the calibration did not finish."));
    }
    requestSpectra();
    requestFeatureSpace();
    updateActions();
    // The engine emits modelLoaded inside the load job, before its jobFinished: only now is the engine idle and are
    // the run buttons enabled, so only now has the window settled (a test or a user may act on it at once).
    if (m_loadFinishing || (m_loading && !ok)) {
        const bool loaded = m_loadFinishing;
        m_loading = m_loadFinishing = false;
        if (!loaded)
            m_pendingConfig.reset();
        emit modelSettled(loaded);
    }
}

void MainWindow::onModelLoaded(const ModelSummary& summary)
{
    m_modelSpec = m_loadingSpec;
    m_loadingSpec.clear();
    m_compressAfterCalibration.reset();
    m_spectraRequested.clear();
    m_live.setModel(summary.config);
    m_modelSummary->setSummary(summary);
    m_calibration->setModel(summary.dir, summary.config.maxPositions);
    m_compression->setModel(summary.config, m_live.table());
    m_compressStatus->setText(tr("Not compressed yet."));
    m_stack->setCurrentWidget(m_tabs);
    statusBar()->clearMessage();
    setWindowTitle(tr("%1 – Basis Studio").arg(QString::fromStdString(summary.dir.filename().string())));
    log(Severity::Info, tr("Loaded %1: %2, %3 parameters.")
                            .arg(QString::fromStdString(summary.dir.string()), QString::fromStdString(summary.config.modelType),
                                 formatCount(summary.parameters)));
    if (summary.synthetic)
        log(Severity::Warning, tr("%1 has RANDOM weights (demo model): its perplexity and text mean nothing.")
                                   .arg(QString::fromStdString(summary.dir.filename().string())));
    applyPendingConfig();
    m_loadFinishing = true;   // settled when this job's jobFinished arrives (onJobFinished)
    updateActions();
}

void MainWindow::updateLiveCounts()
{
    showLiveCounts();
    featureSettingsChanged();
}

void MainWindow::showLiveCounts()
{
    if (!m_live.hasModel())
        return;
    CompressionSettings settings = m_compression->settings();
    // Ranks by energy are the engine's to resolve (eigendecompositions of the statistics); once its feature-space
    // job has answered for this very setting, its ranks are counted here like a ranks file's.
    const auto& resolved = m_doc->featureSpace();
    if (resolved && method(settings.method).featureSpace() && settings.featureSpace.ranks.empty() &&
        sameFeatureSpaceRequest(resolved->settings, settings))
        settings = resolved->settings;
    // Likewise an allocator's ranks (read off the spectra, or measured by the loss allocator): once the engine has
    // compressed this very setting, the counts are its ranks, not the uniform allocation counted before.
    const auto& compressed = m_doc->compression();
    if (compressed && settings.budget > 0 && settings.allocator != "uniform" && settings.groupRanks.empty() &&
        sameAllocatorRequest(compressed->requested, settings))
        settings = compressed->settings;
    const LiveResult& r = m_live.update(settings);
    if (r.ok) {
        const auto energies = m_doc->isCalibrated() ? m_doc->energy().energies(r.plan) : std::nullopt;
        const QString status = !m_doc->isCalibrated() ? tr("calibrate to see what each group keeps")
                                              : tr("computing the spectra for group size %1…").arg(r.plan.settings.groupSize);
        m_summary->setPlan(r.plan, energies ? &*energies : nullptr, status);
        m_layers->model()->setPlan(r.plan, energies ? &*energies : nullptr);
        m_spectra->setPlan(r.plan, m_doc->isCalibrated() ? &m_doc->energy() : nullptr);
        m_heatmaps->setPlan(r.plan, m_doc->isCalibrated() ? &m_doc->energy() : nullptr);
        if (m_doc->isCalibrated() && !energies)
            requestSpectra();
    } else {
        m_layers->model()->setPlan(CompressionPlan{});   // no stale rows for a setting the engine refuses
        m_spectra->setPlan(CompressionPlan{}, nullptr);
        m_heatmaps->setPlan(CompressionPlan{}, nullptr);
        m_summary->setError(r.error);
    }
    m_summary->setNote((r.warning.isEmpty() ? QString() : r.warning + QStringLiteral("\n")) +
                       tr("Counted by the engine's planCompression in %1 µs; no weights touched.").arg(r.micros, 0, 'f', 0));
}

void MainWindow::requestSpectra()
{
    if (!m_doc->isCalibrated() || m_engine->isBusy() || !m_live.last().ok)
        return;
    // Private parts are read at group size 1, shared ones at the setting's.
    // The Spectra tab overlays other group sizes too.
    std::vector<int64_t> wanted = m_spectra->missingGroupSizes();
    wanted.insert(wanted.begin(), {int64_t(1), m_live.last().plan.settings.groupSize});
    std::vector<int64_t> sizes;
    for (int64_t g : wanted)
        if (!m_doc->energy().has(g) && m_spectraRequested.insert(g).second)
            sizes.push_back(g);
    if (!sizes.empty())
        m_engine->computeSpectra(sizes);
}

void MainWindow::updateActions()
{
    const bool busy = m_engine->isBusy();
    const bool model = m_doc->hasModel();
    m_exportAction->setEnabled(model);
    m_calibrateAction->setEnabled(model && !busy);
    m_compressAction->setEnabled(model && !busy);
    m_compressButton->setEnabled(model && !busy);
    m_calibration->setBusy(busy || !model);
    m_cancelAction->setEnabled(busy);
    m_saveAction->setEnabled(m_doc->hasCompressed() && !busy);
    for (QAction* a : m_runActions)
        a->setEnabled(model && !busy);
    m_evaluate->setBusy(busy || !model);
    m_generate->setBusy(busy || !model);
    m_finetune->setBusy(busy, model);
    m_dynamicRank->setBusy(busy || !model);
}

void MainWindow::calibrate()
{
    if (!m_doc->hasModel() || m_engine->isBusy())
        return;
    const CalibrateOptions setup = m_calibration->setup();
    if (setup.text.empty()) {
        log(Severity::Error, tr("Calibrate: choose a text file first."));
        return;
    }
    const QString preset = m_calibration->preset();
    if (!preset.isEmpty() && !QFileInfo::exists(QString::fromStdString(setup.text.string()))) {
        log(Severity::Error, tr("Calibrate: the %1 preset's train split %2 does not exist; choose the data folder that "
                                "holds it, or a text file.")
                                 .arg(preset, QString::fromStdString(setup.text.string())));
        return;
    }
    if (!calibrationFits(setup))
        return;
    m_engine->calibrate(setup);
}

bool MainWindow::calibrationFits(const CalibrateOptions& setup)
{
    // Every full chunk when samples is 0: counted from the file's size at about 4 bytes a token (English text).
    int64_t samples = setup.samples;
    std::error_code error;
    if (samples <= 0) {
        const auto bytes = std::filesystem::file_size(setup.text, error);
        samples = error ? 1 : std::max<int64_t>(1, int64_t(bytes) / 4 / std::max<int64_t>(setup.context, 1));
    }
    const auto& model = *m_doc->model();
    const int64_t element = model.dtype == "bfloat16" ? 2 : 4;
    const bool streamed = !setup.cacheDir.empty();
    // The engine's rule for where the activations go (activation_store.h), on the figure the check uses.
    const qint64 available = availableMemory();
    const bool onDisk = streamed && activationsOnDisk(parseActivationPlace(setup.activations),
                                                      calibrationActivationBytes(model.config, samples, setup.context, element),
                                                      available);
    const MemoryNeed need = calibrationNeed(model.config, m_live.table(), samples, setup.context, setup.batch, element,
                                            streamed, onDisk);
    return fitsInMemory(tr("Calibrate"), need, tr("Fewer samples or a shorter context need less."));
}

qint64 MainWindow::availableMemory() const
{
    return m_availableOverride > 0 ? m_availableOverride : availableMemoryBytes();
}

bool MainWindow::fitsInMemory(const QString& job, const MemoryNeed& need, const QString& advice)
{
    const qint64 available = availableMemory();
    const std::string refusal = memoryRefusal(job.toStdString(), need, available);
    if (refusal.empty())
        return true;
    log(Severity::Error, QString::fromStdString(refusal) + tr(". Not started. ") + advice);
    return false;
}

void MainWindow::compress()
{
    if (!m_doc->hasModel() || m_engine->isBusy())
        return;
    if (!m_live.last().ok) {
        log(Severity::Error, tr("Compress: %1").arg(m_live.last().error));
        return;
    }
    const CompressionSettings settings = m_compression->settings();
    // The studio keeps the compressed copy in memory beside the loaded model (the command line writes as it goes).
    const MemoryNeed need = compressionNeed(m_live.last().plan, m_doc->model()->dtype == "bfloat16" ? 2 : 4,
                                            /*streamed=*/false, basis::method(settings.method).needsStatistics());
    if (!fitsInMemory(tr("Compress"), need,
                      tr("basis-cli compress writes the folder group by group and needs only the largest group's "
                         "share (see the README on models bigger than memory).")))
        return;
    if (basis::method(settings.method).needsStatistics() && !m_doc->isCalibrated()) {
        // One click does both: calibrate with the panel's setting (by default the built-in TinyStories text), then
        // compress once the statistics are there (the `calibrated` handler posts it).
        const CalibrateOptions setup = m_calibration->setup();
        if (setup.text.empty() || !QFileInfo::exists(QString::fromStdString(setup.text.string()))) {
            log(Severity::Error, tr("Compress: %1 needs calibration, and the Calibration panel has no text to read; "
                                    "choose one.").arg(QString::fromStdString(settings.method)));
            return;
        }
        if (!calibrationFits(setup))
            return;
        log(Severity::Info, tr("Compress: calibrating first on %1.").arg(QString::fromStdString(setup.text.string())));
        m_compressAfterCalibration = settings;
        m_engine->calibrate(setup);
        return;
    }
    m_engine->compress(compressOptions(settings));
}

CompressOptions MainWindow::compressOptions(const CompressionSettings& settings) const
{
    CompressOptions o;
    o.settings = settings;
    // The compressed copy lives where the calibration passes run (the panel's device), and the update's
    // statistics are the calibration text's through the compressed model, as `basis-cli compress --update` does.
    const CalibrateOptions calibration = m_calibration->setup();
    o.device = calibration.device;
    // Without statistics (svd) the update still reads the panel's text, cut as the panel says; a config's
    // update_text and update cache apply as in `basis-cli run`.
    if (!m_doc->isCalibrated())
        o.updateCalibration = calibration;
    o.updateText = m_baseConfig.updateText;
    if (!m_baseConfig.buildUpdateCalib)
        o.updateCacheDir = m_baseConfig.updateCalibPath;
    return o;
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    // Cancel a running job and join the engine thread before the widgets go away.
    if (m_engine->isBusy())
        m_log->add(Severity::Info, tr("Closing: cancelling the running job."));
    m_engine->shutdown();
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    event->accept();
}

} // namespace basis::ui
