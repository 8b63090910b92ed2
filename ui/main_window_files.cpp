// MainWindow: opening models and configs (dialogs, recent list, drag and drop), exporting YAML, tabs.
#include "main_window.h"

#include "studio_document.h"

#include "calibration_panel.h"
#include "compression_panel.h"
#include "demo_model_dialog.h"
#include "engine_controller.h"
#include "error.h"
#include "log_dock.h"
#include "method_registry.h"
#include "model_location.h"
#include "resources.h"
#include "recent_models.h"
#include "config_jobs.h"
#include "datasets.h"
#include "start_page.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMimeData>
#include <QSaveFile>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

namespace basis::ui {

namespace {
QString lastFolder(const char* key)
{
    return QSettings().value(QStringLiteral("folders/") + key).toString();
}
void rememberFolder(const char* key, const QString& path)
{
    QSettings().setValue(QStringLiteral("folders/") + key, QFileInfo(path).absolutePath());
}
} // namespace

void MainWindow::openModel(const QString& spec)
{
    // The engine's resolver, as the CLI and the YAML pipeline use it: builtin:NAME, a folder, or a Hub name in the
    // local Hugging Face cache. Only the file system is read here.
    ModelLocation location;
    try {
        location = locateModel(spec.toStdString());
    } catch (const Error& e) {
        log(Severity::Error, tr("Open model: %1").arg(QString::fromStdString(e.what())));
        emit modelSettled(false);
        return;
    }
    const QString dir = QString::fromStdString(location.folder.string());
    if (!QFileInfo(dir).isDir()) {
        log(Severity::Error, tr("Open model: %1 is not a folder.").arg(dir));
        emit modelSettled(false);
        return;
    }
    if (location.kind != ModelLocation::Kind::Local)
        log(Severity::Info, tr("Model %1").arg(QString::fromStdString(location.description)));
    m_loadingSpec = location.kind == ModelLocation::Kind::Local ? std::string() : location.spec;
    RecentModels::add(dir);
    refreshRecent();
    m_loading = true;
    statusBar()->showMessage(tr("Loading %1…").arg(dir));
    // The weights stay on the CPU; the Calibration panel's device is where the passes and the compression run.
    m_engine->loadModel(dir, RunSetup{"cpu", "float32", 0});
}

void MainWindow::openBuiltinModel() { openModel(QStringLiteral("builtin:stories260k")); }

void MainWindow::makeDemoModel(const QString& preset, const QString& dir, const QString& tokenizerDir)
{
    m_loading = true;
    m_loadingSpec.clear();
    m_engine->makeDemoModel(preset, dir, tokenizerDir);
}

bool MainWindow::openConfig(const QString& file, const QString& modelOverride)
{
    LoadedConfig loaded;
    try {
        loaded = loadRunConfig(file.toStdString());
        resolvePaths(loaded.config, std::filesystem::absolute(file.toStdString()).parent_path());
    } catch (const Error& e) {
        log(Severity::Error, QString::fromStdString(e.what()));
        return false;
    }
    for (const ConfigMessage& m : loaded.warnings)
        log(m.level == ConfigMessage::Level::Error ? Severity::Error : Severity::Warning, QString::fromStdString(m.text));
    RunConfig c = loaded.config;
    if (!modelOverride.isEmpty())
        c.modelPath = std::filesystem::absolute(modelOverride.toStdString()).string();
    log(Severity::Info, tr("Opened config %1.").arg(file));
    m_pendingConfig = c;
    std::error_code ec;   // a missing model path is reported by the load, not here
    std::filesystem::path folder = c.modelPath;
    try {
        folder = resolveModelFolder(c.modelPath);
    } catch (const Error&) {
    }
    const bool sameModel = m_doc->hasModel() && std::filesystem::equivalent(m_doc->model()->dir, folder, ec);
    if (sameModel)
        applyPendingConfig();
    else
        openModel(QString::fromStdString(c.modelPath));
    return true;
}

void MainWindow::applyPendingConfig()
{
    if (!m_pendingConfig || !m_doc->hasModel())
        return;
    const RunConfig c = *m_pendingConfig;
    m_pendingConfig.reset();
    std::vector<std::string> warnings;
    try {
        // The engine's reading of the config (config_jobs.h), as `basis-cli run` reads it.
        CalibrateOptions calibration = calibrateOptionsFrom(c);
        if (!calibration.dataset.empty()) {
            // The panel shows a preset by its train file.
            try {
                calibration.text = datasetFile(calibration.dataset, "calibration", calibration.dataDir);
                calibration.dataset = canonicalDatasetName(calibration.dataset);
            } catch (const Error& e) {
                warnings.push_back(e.what());
                calibration.dataset.clear();
                calibration.dataDir.clear();
            }
        }
        m_compression->setSettings(compressOptionsFrom(c).settings);
        m_calibration->setSetup(calibration);
        m_baseConfig = c;
        applyConfigToEvaluate(c);
        if (c.loraRequested)
            applyConfigToFinetune(c);
    } catch (const Error& e) {
        log(Severity::Error, tr("Config does not fit this model: %1").arg(QString::fromStdString(e.what())));
    }
    for (const std::string& w : warnings)
        log(Severity::Warning, QString::fromStdString(w));
}

bool MainWindow::exportConfig(const QString& file)
{
    if (!m_doc->hasModel())
        return false;
    // builtin:NAME and Hub names mean the same model on every machine: the export keeps them, not this one's folder.
    const std::filesystem::path modelDir =
        m_modelSpec.empty() ? std::filesystem::absolute(m_doc->model()->dir) : std::filesystem::path(m_modelSpec);
    const CompressionSettings compression = m_compression->settings();
    CalibrateOptions calibration = m_calibration->setup();
    if (calibration.text.empty() && basis::method(compression.method).needsStatistics()) {
        // basis-cli run refuses such a file; better to say so now than to write it.
        log(Severity::Error, tr("Export settings: choose a calibration text first (%1 needs calibration).")
                                 .arg(QString::fromStdString(compression.method)));
        return false;
    }
    if (m_calibration->cacheIsAutomatic())
        calibration.cacheDir.clear();   // a folder in this user's cache means nothing in a shared config
    std::error_code ec;
    if (!calibration.dataDir.empty() && std::filesystem::equivalent(calibration.dataDir, builtinDataDir(), ec))
        calibration.dataDir.clear();    // the built-in texts: found without a data_dir on every machine
    const RunConfig c = runConfigFrom(modelDir, m_doc->model()->config, calibration, compression, m_baseConfig);
    QSaveFile out(file);
    const std::string yaml =
        writeRunConfig(c, "Written by Basis Studio; `basis-cli run --config " + QFileInfo(file).fileName().toStdString() +
                              "` reproduces this setting.");
    if (!out.open(QIODevice::WriteOnly) || out.write(yaml.data(), qint64(yaml.size())) != qint64(yaml.size()) ||
        !out.commit()) {
        log(Severity::Error, tr("Export settings: cannot write %1: %2").arg(file, out.errorString()));
        return false;
    }
    log(Severity::Info, tr("Exported the settings to %1.").arg(file));
    return true;
}

void MainWindow::chooseModel()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face model folder"), lastFolder("models"));
    if (dir.isEmpty())
        return;
    rememberFolder("models", dir);
    openModel(dir);
}

void MainWindow::chooseConfig()
{
    const QString f = QFileDialog::getOpenFileName(this, tr("Open a YAML config"), lastFolder("configs"),
                                                   tr("YAML (*.yaml *.yml);;All files (*)"));
    if (f.isEmpty())
        return;
    rememberFolder("configs", f);
    openConfig(f);
}

void MainWindow::chooseExport()
{
    const QString f = QFileDialog::getSaveFileName(this, tr("Export settings as YAML"), lastFolder("configs"),
                                                   tr("YAML (*.yaml *.yml)"));
    if (f.isEmpty())
        return;
    rememberFolder("configs", f);
    exportConfig(f);
}

void MainWindow::chooseDemo()
{
    DemoModelDialog dialog(this);
    if (dialog.exec() == QDialog::Accepted)
        makeDemoModel(dialog.preset(), dialog.folder(), dialog.tokenizerFolder());
}

void MainWindow::refreshRecent()
{
    const QStringList dirs = RecentModels::list();
    m_start->setRecent(dirs);
    m_recentMenu->clear();
    for (const QString& d : dirs)
        m_recentMenu->addAction(d, this, [this, d] { openModel(d); });
    m_recentMenu->setEnabled(!dirs.isEmpty());
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile()) {
            event->acceptProposedAction();
            return;
        }
}

void MainWindow::dropEvent(QDropEvent* event)
{
    // A folder is a model; a .yaml file is a config.
    for (const QUrl& url : event->mimeData()->urls()) {
        const QFileInfo info(url.toLocalFile());
        if (info.isDir()) {
            openModel(info.filePath());
        } else if (info.suffix() == QLatin1String("yaml") || info.suffix() == QLatin1String("yml")) {
            openConfig(info.filePath());
        } else {
            log(Severity::Warning, tr("Dropped %1: drop a model folder or a YAML config.").arg(info.filePath()));
            continue;
        }
        event->acceptProposedAction();
        return;
    }
}

QStringList MainWindow::tabNames() const
{
    QStringList names;
    for (int i = 0; i < m_tabs->count(); ++i)
        names << m_tabs->tabText(i).remove(QLatin1Char('&')).toLower();
    return names;
}

bool MainWindow::showTab(const QString& name)
{
    const int i = int(tabNames().indexOf(name.toLower()));
    if (i < 0 || !m_doc->hasModel())
        return false;
    m_tabs->setCurrentIndex(i);
    return true;
}

} // namespace basis::ui
