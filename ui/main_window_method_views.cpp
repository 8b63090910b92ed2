// MainWindow's views of the feature-space and quantizing methods. For a feature-space method the Spectra tab shows
// the output and input spectra of one projection instead of Basis Sharing's whitened singular values, and the
// Utilization tab r / min(m, d) per layer and part: one engine job (Workspace::featureSpace) asked for whenever the
// setting changes and the engine is idle (only the latest setting). The Errors tab shows the last compression's
// per-iteration errors of caldera / rtn / gptq, and the Rank search tab runs Workspace::search
// with its trials streamed to the document.
#include "main_window.h"

#include "compression_panel.h"
#include "engine_controller.h"
#include "error.h"
#include "feature_spectra_view.h"
#include "method_registry.h"
#include "quant_errors_view.h"
#include "rank_search_view.h"
#include "spectra_view.h"
#include "studio_document.h"
#include "utilization_view.h"

#include <QDir>
#include <QFileInfo>
#include <QSpinBox>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTabWidget>

namespace basis::ui {

namespace {
const QString kFeatureSpaceJob = QStringLiteral("Feature-space spectra");   // EngineController::featureSpace's title
}

QWidget* MainWindow::buildSpectraTab()
{
    m_spectra = new SpectraView;
    m_featureSpectra = new FeatureSpectraView;
    m_spectraStack = new QStackedWidget;
    m_spectraStack->addWidget(m_spectra);
    m_spectraStack->addWidget(m_featureSpectra);
    connect(m_doc, &StudioDocument::featureSpaceReady, this, [this](const FeatureSpaceSummary& s) {
        m_featureSpectra->setSummary(&s);
        m_utilization->setSummary(&s);
        showLiveCounts();   // energy ranks resolved: exact live counts
    });
    // Connected before connectEngine()'s onJobFinished, which asks for the next setting: the flag is down by then.
    connect(m_engine, &EngineController::jobFinished, this, [this](const QString& title) {
        if (title == kFeatureSpaceJob)
            m_featureSpaceInFlight = false;
    });
    return m_spectraStack;
}

void MainWindow::buildMethodTabs()
{
    m_utilization = new UtilizationView;
    m_tabs->addTab(m_utilization, tr("&Utilization"));
    m_quantErrors = new QuantErrorsView;
    m_tabs->addTab(m_quantErrors, tr("E&rrors"));
    connect(m_doc, &StudioDocument::compressed, m_quantErrors, &QuantErrorsView::setCompression);
    buildSearchTab();
}

void MainWindow::buildSearchTab()
{
    m_search = new RankSearchView;
    m_tabs->addTab(m_search, tr("Rank searc&h"));
    connect(m_doc, &StudioDocument::searchTrial, m_search, &RankSearchView::addTrial);
    connect(m_doc, &StudioDocument::searchFinished, m_search, &RankSearchView::setResult);
    connect(m_doc, &StudioDocument::modelLoaded, this, [this](const ModelSummary& s) {
        // Ranks files of a model go next to each other in the studio's data folder, not into the model's folder.
        const QString base = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
        m_search->setDefaultFolder(QDir(base).filePath(QStringLiteral("search/") +
                                                       QString::fromStdString(s.dir.filename().string())));
        m_search->startLayerSpin()->setMaximum(int(std::max<int64_t>(0, s.config.layers - 1)));
        m_search->clearTrials();
    });
    connect(m_search, &RankSearchView::startRequested, this, [this](const SearchOptions& o) {
        if (!m_doc->hasModel() || m_engine->isBusy())
            return;
        QDir().mkpath(QFileInfo(QString::fromStdString(o.out.string())).absolutePath());
        m_search->clearTrials();
        m_searching = true;
        m_engine->search(o);
        m_search->setBusy(true, true);
    });
    connect(m_search, &RankSearchView::cancelRequested, m_engine, &EngineController::cancel);
    connect(m_search, &RankSearchView::applyRequested, this, [this](const QString& file, const QString& name) {
        CompressionSettings s = m_compression->settings();
        s.method = name.toStdString();
        s.featureSpace = FeatureSpaceSettings{};
        s.featureSpace.ranksFile = file.toStdString();
        try {
            m_compression->setSettings(s);
        } catch (const Error& e) {
            log(Severity::Error, tr("Rank search: %1").arg(QString::fromStdString(e.what())));
            return;
        }
        log(Severity::Info, tr("Rank search: %1 with the ranks file %2 in the Method box.").arg(name, file));
    });
    connect(m_engine, &EngineController::jobStarted, m_search, [this] { m_search->setBusy(true, m_searching); });
    connect(m_engine, &EngineController::jobFinished, m_search, [this](const QString& title) {
        if (title == QStringLiteral("Rank search"))
            m_searching = false;
        m_search->setBusy(m_engine->isBusy(), m_searching);
    });
}

void MainWindow::featureSettingsChanged()
{
    const CompressionSettings s = m_compression->settings();
    const CompressionMethod& m = method(s.method);
    m_spectraStack->setCurrentWidget(m.featureSpace() ? static_cast<QWidget*>(m_featureSpectra) : m_spectra);
    m_featureSpaceWanted = false;
    QString why;
    if (!m.featureSpace())
        why = tr("%1 is not a feature-space method: the utilization is that of utilized, hybrid, weight-svd and sfsd.")
                  .arg(QString::fromStdString(s.method));
    else if (s.shared.empty() && s.privateParts.empty())
        why = tr("Every part is dense: set at least one part to shared or private.");
    else if (m.needsStatistics() && !m_doc->isCalibrated())
        why = tr("Calibrate to see the spectra and ranks of %1: they are read off the calibration statistics.")
                  .arg(QString::fromStdString(s.method));
    if (!why.isEmpty()) {
        m_featureSpectra->setSummary(nullptr, why);
        m_utilization->setSummary(nullptr, why);
        return;
    }
    m_featureSpaceWanted = true;
    requestFeatureSpace();
}

void MainWindow::requestFeatureSpace()
{
    if (!m_featureSpaceWanted || !m_doc->hasModel() || m_engine->isBusy() || m_featureSpaceInFlight)
        return;
    m_featureSpaceWanted = false;
    m_featureSpaceInFlight = true;
    m_engine->featureSpace(m_compression->settings());
}

} // namespace basis::ui
