#pragma once
// The main window: a start page until a model is loaded, then the model's tabs; the log dock; the job
// progress in the status bar. All model work goes to the engine thread through EngineController.
#include "energy_table.h"
#include "severity.h"
#include "workspace.h"
#include "live_counts.h"
#include "memory_estimate.h"
#include "run_config.h"

#include <QMainWindow>

#include <optional>
#include <set>

class QAction;
class QLabel;
class QMenu;
class QPushButton;
class QStackedWidget;
class QTabWidget;

namespace basis::ui {

class CalibrationPanel;
class CompressionPanel;
class DynamicRankView;
class EngineController;
class StudioDocument;
class EvaluateView;
struct EvalResult;
class FinetuneView;
class FeatureSpectraView;
class UtilizationView;
class QuantErrorsView;
class RankSearchView;
class GenerateView;
class HeatmapView;
class JobProgress;
class LayersView;
class LogDock;
class ModelSummaryView;
class PlanSummaryView;
class SpectraView;
class StartPage;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // A folder, builtin:stories260k or a Hugging Face name org/name[@revision] in the local cache (model_location.h).
    void openModel(const QString& spec);
    void openBuiltinModel();   // builtin:stories260k, the real pretrained model that ships with the program
    // Reads a YAML run config; opens its model (or `modelOverride`) when that is not the one loaded, then sets the
    // controls. Errors go to the log; returns false when the file could not be read.
    bool openConfig(const QString& file, const QString& modelOverride = {});
    bool exportConfig(const QString& file);
    void makeDemoModel(const QString& preset, const QString& dir, const QString& tokenizerDir = {});
    void calibrate();
    void compress();
    // Settings and device of a compression from the panels (the one place the studio makes CompressOptions).
    CompressOptions compressOptions(const CompressionSettings& settings) const;
    // Evaluate and Generate tabs (main_window_evaluate.cpp): run their forms on the engine thread.
    void evaluatePerplexity();
    void measureThroughput();
    void evaluateTasks();
    void generate();
    // The Dynamic rank tab (main_window_dynamic_rank.cpp): the masks of its prompt under its strategy.
    void showRankMasks();
    // The strategy the Evaluate runs of that model use: the Dynamic rank tab's when "apply to Evaluate" is ticked
    // and the model is factorized (the compressed copy, or a compressed folder opened), else none (as stored).
    RankJobOptions evaluateRank(bool compressed) const;
    // The Fine-tune tab (main_window_finetune.cpp): trains the compressed copy (or the loaded model) on the engine thread.
    void finetune();
    // Sweeps (main_window_sweep.cpp): the studio's settings as a sweep's base (model, calibration, parts, the
    // Evaluate tab's perplexity form; `error` says what is missing), a sweep of them, and a run's settings loaded
    // into the compression controls (a click on the Pareto view).
    RunConfig sweepBaseConfig(QString* error = nullptr) const;
    void runSweep(const SweepSpec& spec);
    void loadRunSettings(const EvalResult& run);
    bool saveCompressed(const QString& dir);   // false (and a log line) when there is nothing to save
    bool hasCompressed() const;
    const RunConfig& currentConfig() const { return m_baseConfig; }   // the config last applied

    // Tab by its title without '&', case-insensitive ("compression", "layers"); false when there is none.
    bool showTab(const QString& name);
    QStringList tabNames() const;

    EngineController* engine() const { return m_engine; }
    StudioDocument* document() const { return m_doc; }
    CompressionPanel* compressionPanel() const { return m_compression; }
    QPushButton* compressButton() const { return m_compressButton; }
    QLabel* compressStatus() const { return m_compressStatus; }
    StartPage* startPage() const { return m_start; }
    CalibrationPanel* calibrationPanel() const { return m_calibration; }
    PlanSummaryView* planSummary() const { return m_summary; }
    ModelSummaryView* modelSummary() const { return m_modelSummary; }
    LogDock* logDock() const { return m_log; }
    LayersView* layersView() const { return m_layers; }
    SpectraView* spectraView() const { return m_spectra; }
    HeatmapView* heatmapView() const { return m_heatmaps; }
    FeatureSpectraView* featureSpectraView() const { return m_featureSpectra; }   // the Spectra tab of feature-space methods
    UtilizationView* utilizationView() const { return m_utilization; }
    QuantErrorsView* quantErrorsView() const { return m_quantErrors; }
    RankSearchView* rankSearchView() const { return m_search; }
    EvaluateView* evaluateView() const { return m_evaluate; }
    GenerateView* generateView() const { return m_generate; }
    FinetuneView* finetuneView() const { return m_finetune; }
    DynamicRankView* dynamicRankView() const { return m_dynamicRank; }
    const LiveCounts& liveCounts() const { return m_live; }
    bool hasModel() const;
    const EnergyTable& energyTable() const;
    // The last error written to the log (empty when none): the screenshot mode prints it and exits non-zero.
    QString lastError() const { return m_lastError; }
    // The status bar's figures of the last job: "Compress: 3.21 s, peak RssAnon 0.91 GB, file-backed 0.30 GB".
    QLabel* lastJobLabel() const { return m_lastJob; }
    // The memory jobs are checked against before they start (memory_estimate.h); 0 (the default) reads the
    // machine's MemAvailable at each check. Tests set it to see a refusal.
    void setAvailableMemoryOverride(qint64 bytes) { m_availableOverride = bytes; }

signals:
    // A load finished (loaded, and any pending config applied) or failed: the window shows its final state.
    void modelSettled(bool loaded);

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildActions();
    void connectSweeps();
    void buildModelPage();
    void connectEngine();
    void onModelLoaded(const ModelSummary& summary);
    void onJobFinished(const QString& title, bool ok);
    void updateLiveCounts();   // showLiveCounts, then the feature-space views follow the setting
    void showLiveCounts();
    void requestSpectra();   // for the group sizes the current setting needs, when calibrated and idle
    // Views of the feature-space and quantizing methods (main_window_method_views.cpp): the Spectra tab's two
    // faces, the Utilization tab (their numbers asked of the engine for the current setting once it is idle), and
    // the Errors tab of caldera / rtn / gptq, and the Rank search tab.
    QWidget* buildSpectraTab();
    void buildMethodTabs();
    void featureSettingsChanged();
    void requestFeatureSpace();
    void buildSearchTab();
    void applyPendingConfig();
    void refreshRecent();
    void updateActions();
    void log(Severity severity, const QString& text);
    void chooseModel();
    void chooseConfig();
    void chooseExport();
    void chooseDemo();
    void showAbout();
    void buildEvaluateTabs();
    void buildFinetuneTab();
    void buildDynamicRankTab();
    void updateRankNote();
    // A config's first ppl entry with a rank_strategy sets the Dynamic rank tab's controls and ticks "apply to
    // Evaluate" (as `basis-cli run` evaluates that entry under it).
    void applyConfigToDynamicRank(const RankJobOptions& rank);
    void buildEvaluateActions(QMenu* model);
    void applyConfigToEvaluate(const RunConfig& c);
    void applyConfigToFinetune(const RunConfig& c);
    void chooseSaveCompressed();

    EngineController* m_engine = nullptr;
    StudioDocument* m_doc = nullptr;        // the engine's results: model, calibration, compression, spectra
    QStackedWidget* m_stack = nullptr;
    StartPage* m_start = nullptr;
    QTabWidget* m_tabs = nullptr;
    ModelSummaryView* m_modelSummary = nullptr;
    CalibrationPanel* m_calibration = nullptr;
    CompressionPanel* m_compression = nullptr;
    PlanSummaryView* m_summary = nullptr;
    LayersView* m_layers = nullptr;
    SpectraView* m_spectra = nullptr;
    HeatmapView* m_heatmaps = nullptr;
    QStackedWidget* m_spectraStack = nullptr;   // SpectraView, or FeatureSpectraView for a feature-space method
    FeatureSpectraView* m_featureSpectra = nullptr;
    UtilizationView* m_utilization = nullptr;
    QuantErrorsView* m_quantErrors = nullptr;
    RankSearchView* m_search = nullptr;
    bool m_searching = false;                   // a rank search is posted or running
    bool m_featureSpaceWanted = false;          // the setting changed since its feature-space numbers were asked for
    bool m_featureSpaceInFlight = false;        // posted, its jobFinished not yet arrived
    QPushButton* m_compressButton = nullptr;
    QLabel* m_compressStatus = nullptr;
    LogDock* m_log = nullptr;
    JobProgress* m_progress = nullptr;
    QMenu* m_recentMenu = nullptr;
    QAction* m_exportAction = nullptr;
    QAction* m_calibrateAction = nullptr;
    QAction* m_compressAction = nullptr;
    QAction* m_cancelAction = nullptr;
    EvaluateView* m_evaluate = nullptr;
    GenerateView* m_generate = nullptr;
    FinetuneView* m_finetune = nullptr;
    DynamicRankView* m_dynamicRank = nullptr;
    QAction* m_saveAction = nullptr;
    QList<QAction*> m_runActions;           // evaluate, throughput, generate: need a model and an idle engine

    LiveCounts m_live;
    std::set<int64_t> m_spectraRequested;   // group sizes asked for since that calibration
    bool m_loading = false;
    QString m_lastError;
    QLabel* m_lastJob = nullptr;
    qint64 m_availableOverride = 0;
    // Logs the refusal and returns false when `need` does not fit in the memory available; `advice` follows it.
    bool fitsInMemory(const QString& job, const MemoryNeed& need, const QString& advice);
    // MemAvailable, or the override tests set (setAvailableMemoryOverride).
    qint64 availableMemory() const;
    bool calibrationFits(const CalibrateOptions& setup);
    bool m_loadFinishing = false;           // modelLoaded arrived; its job's jobFinished has not yet
    std::string m_loadingSpec, m_modelSpec; // builtin:/Hub name of the model being loaded and of the loaded one
    std::optional<CompressionSettings> m_compressAfterCalibration;   // Compress clicked before calibrating
    // A config waiting for its model to load, and the one last applied (export keeps its other keys).
    std::optional<RunConfig> m_pendingConfig;
    RunConfig m_baseConfig;
    SweepSpec m_lastSweep;   // what the Sweep dialog opens with
};

} // namespace basis::ui
