#include "engine_controller.h"

#include "sweep.h"

#include <QElapsedTimer>

#include <memory>

namespace basis::ui {

EngineController::EngineController(QObject* parent) : EngineChannel(parent), m_document(new StudioDocument(this)) {}

void EngineController::loadModel(const QString& dir, const RunSetup& setup)
{
    EngineChannel::run(
        tr("Load model"), [d = dir.toStdString(), setup](Workspace& w, const JobContext& j) { return w.load(d, setup, j); },
        [doc = m_document](const ModelSummary& s) { doc->setModel(s); });
}

void EngineController::makeDemoModel(const QString& preset, const QString& dir, const QString& tokenizerDir)
{
    EngineChannel::run(
        tr("Make demo model"),
        [p = preset.toStdString(), d = dir.toStdString(), t = tokenizerDir.toStdString()](Workspace& w, const JobContext& j) {
            return w.makeDemoModel(p, d, t, j);
        },
        [doc = m_document](const ModelSummary& s) { doc->setModel(s); });
}

void EngineController::calibrate(const CalibrateOptions& options)
{
    EngineChannel::run(tr("Calibrate"), [options](Workspace& w, const JobContext& j) { return w.calibrate(options, j); },
                       [doc = m_document](const CalibrationSummary& s) { doc->setCalibration(s); });
}

void EngineController::compress(const CompressOptions& options)
{
    EngineChannel::run(tr("Compress"), [options](Workspace& w, const JobContext& j) { return w.compress(options, j); },
                       [doc = m_document](const CompressionSummary& s) { doc->setCompression(s); });
}

void EngineController::computeSpectra(const std::vector<int64_t>& groupSizes)
{
    EngineChannel::run(tr("Spectra"), [groupSizes](Workspace& w, const JobContext& j) { return w.computeSpectra(groupSizes, j); },
                       [doc = m_document](const SpectraSummary& s) { doc->addSpectra(s); });
}

void EngineController::featureSpace(const CompressionSettings& settings)
{
    EngineChannel::run(QStringLiteral("Feature-space spectra"),
                       [settings](Workspace& w, const JobContext& j) { return w.featureSpace(settings, j); },
                       [doc = m_document](const FeatureSpaceSummary& s) { doc->setFeatureSpace(s); });
}

void EngineController::search(const SearchOptions& options)
{
    post(QStringLiteral("Rank search"), [this, options, doc = m_document](Workspace& w, const JobContext& j) {
        const SearchSummary s = w.search(options, j, [&](const SearchTrial& t) { onGui([doc, t] { doc->addSearchTrial(t); }); });
        onGui([doc, s] { doc->setSearch(s); });
    });
}

void EngineController::evaluatePpl(const PerplexityJobOptions& options)
{
    EngineChannel::run(tr("Perplexity"), [options](Workspace& w, const JobContext& j) { return w.perplexity(options, j); },
                       [doc = m_document](const PerplexitySummary& s) { doc->addPerplexity(s); });
}

void EngineController::measureThroughput(const ThroughputJobOptions& options)
{
    EngineChannel::run(tr("Throughput"), [options](Workspace& w, const JobContext& j) { return w.throughput(options, j); },
                       [doc = m_document](const ThroughputSummary& s) { doc->addThroughput(s); });
}

void EngineController::rankMasks(const RankMasksJobOptions& options)
{
    EngineChannel::run(tr("Rank masks"), [options](Workspace& w, const JobContext& j) { return w.rankMasks(options, j); },
                       [doc = m_document](const RankMasksSummary& s) { doc->setRankMasks(s); });
}

void EngineController::evaluateTasks(const TasksJobOptions& options)
{
    EngineChannel::run(tr("Zero-shot tasks"), [options](Workspace& w, const JobContext& j) { return w.tasks(options, j); },
                       [doc = m_document](const TasksSummary& s) { doc->addTasks(s); });
}

void EngineController::generate(const GenerateJobOptions& options)
{
    post(tr("Generate"), [this, options, doc = m_document](Workspace& w, const JobContext& j) {
        // Streamed outputs are throttled to one per 50 ms; the final one of each model always goes.
        auto sinceLast = std::make_shared<QElapsedTimer>();
        sinceLast->start();
        w.generate(options, j, [&](const GenerationOutput& out) {
            if (out.finished || sinceLast->elapsed() >= 50) {
                sinceLast->restart();
                onGui([doc, out] { doc->updateGeneration(out); });
            }
        });
    });
}

void EngineController::finetune(const FinetuneJobOptions& options)
{
    post(tr("Fine-tune"), [this, options, doc = m_document](Workspace& w, const JobContext& j) {
        // Steps stream to the plot, throttled to one per 50 ms; the first, the last and evaluation steps always go.
        auto sinceLast = std::make_shared<QElapsedTimer>();
        sinceLast->start();
        const FinetuneSummary s = w.finetune(options, j, [&](const TrainStep& step) {
            if (step.evalPpl || step.step == 1 || step.step == step.steps || sinceLast->elapsed() >= 50) {
                sinceLast->restart();
                onGui([doc, step] { doc->addTrainStep(step); });
            }
        });
        onGui([doc, s] { doc->setFinetuned(s); });
    });
}

void EngineController::sweep(const RunConfig& config)
{
    post(tr("Sweep"), [this, config, doc = m_document](Workspace&, const JobContext& j) {
        SweepHooks hooks;
        hooks.job = j;
        hooks.onRun = [&](size_t i, size_t n, const SweepPoint& run, const nlohmann::json* record, bool resumed) {
            const QString id = QString::fromStdString(run.id);
            std::optional<nlohmann::json> copy;
            if (record)
                copy = *record;
            onGui([doc, i, n, id, copy, resumed] { doc->addSweepRun(int(i), int(n), id, copy ? &*copy : nullptr, resumed); });
        };
        const SweepOutcome out = runSweep(config, hooks);
        onGui([doc, out] {
            doc->setSweepFinished(int(out.ran), int(out.resumed), QString::fromStdString(out.jsonl.string()));
        });
    });
}

void EngineController::saveCompressed(const QString& dir)
{
    EngineChannel::run(
        tr("Save compressed model"), [d = dir.toStdString()](Workspace& w, const JobContext& j) { w.saveCompressed(d, {}, j); },
        [doc = m_document, dir] { doc->setSaved(dir); });
}

} // namespace basis::ui
