// The Dynamic rank tab on the real stories260K, compressed through the window by Basis Sharing at 20 %, g = 2
// (calibrated on calib.txt), offscreen. Every control lands in the RankJobOptions the engine reads, and changing it
// changes the masks the engine captures (mean k, kept sets); the masks the tab shows are exactly those of
// Workspace::rankMasks with the same options, and the heatmaps draw them cell for cell. With "apply to Evaluate"
// ticked, the Evaluate tab's perplexity row of the compressed model names the strategy and has exactly the
// perplexity of Workspace::perplexity with the same options; the Pareto point carries the strategy; throughput
// runs under it too; a YAML config's rank keys set the controls. Set BASIS_UI_SHOTS=DIR to keep screenshots of the tab (1600 x 1000).
#include "calibration_panel.h"
#include "compression_panel.h"
#include "dynamic_rank_view.h"
#include "engine_controller.h"
#include "eval_results_model.h"
#include "evaluate_view.h"
#include "main_window.h"
#include "pareto_plot.h"
#include "rank_mask_plots.h"
#include "rank_strategy.h"
#include "rank_strategy_box.h"
#include "studio_document.h"
#include "ui_test_support.h"
#include "workspace.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <memory>

using namespace basis;
using namespace basis::ui;

namespace {

const std::string kStories = "models/stories260K/hf";
const std::string kCalib = "data/tinystories-valid/calib.txt";
const std::string kEval = "data/tinystories-valid/eval.txt";

using uitest::shared;

bool waitJobs(QSignalSpy& finished, int count, int timeoutMs = 180000)
{
    return uitest::waitJobs(finished, count, timeoutMs, 100);
}

void select(QComboBox* combo, const QString& data)
{
    const int i = combo->findData(data);
    QVERIFY2(i >= 0, qPrintable(data));
    combo->setCurrentIndex(i);
}

void maybeShoot(QWidget* w, const QString& name)
{
    const QByteArray dir = qgetenv("BASIS_UI_SHOTS");
    if (dir.isEmpty())
        return;
    // Plots replot and headers resize on the event loop: let them before the grab.
    QCoreApplication::processEvents();
    for (QCustomPlot* p : w->findChildren<QCustomPlot*>())
        p->replot();
    QVERIFY(w->grab().save(QString::fromLocal8Bit(dir) + QLatin1Char('/') + name));
}

double meanK(const RankMasksSummary& s)
{
    double sum = 0;
    for (const RankMaskSummary& m : s.capture.masks)
        sum += m.meanK;
    return sum / double(s.capture.masks.size());
}

} // namespace

class TestUiDynamicRank : public QObject {
    Q_OBJECT
    std::unique_ptr<MainWindow> m_window;
    Workspace m_reference;   // the same model, calibration and compression, called directly (no window, no thread)
    QTemporaryDir m_dir;
    QString m_evalText;

    DynamicRankView* view() const { return m_window->dynamicRankView(); }
    RankStrategyBox* box() const { return view()->strategyBox(); }

    // Clicks Show masks and waits for its job; the tab's masks.
    const RankMasksSummary& showMasks()
    {
        QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
        [&] { QVERIFY(view()->runButton()->isEnabled()); }();
        QTest::mouseClick(view()->runButton(), Qt::LeftButton);
        [&] {
            QVERIFY(waitJobs(finished, 1));
            QVERIFY2(finished.first().at(1).toBool(), "the mask job failed");
            QVERIFY(view()->masks().has_value());
        }();
        return *view()->masks();
    }

    void setStrategy(const char* strategy, const char* limit = nullptr)
    {
        select(box()->strategyCombo(), QString::fromLatin1(strategy));
        if (limit)
            select(box()->limitCombo(), QString::fromLatin1(limit));
    }

private slots:
    void initTestCase()
    {
        uitest::sandboxSettings("test_ui_dynamic_rank");
        BASIS_UI_REQUIRE_SHARED(kStories);
        BASIS_UI_REQUIRE_SHARED(kCalib);
        BASIS_UI_REQUIRE_SHARED(kEval);
        QVERIFY(m_dir.isValid());
        QFile eval(shared(kEval));
        QVERIFY(eval.open(QIODevice::ReadOnly));
        QByteArray head = eval.read(12000);
        head.truncate(head.lastIndexOf('\n') + 1);   // whole lines only
        m_evalText = m_dir.filePath(QStringLiteral("eval_head.txt"));
        QFile out(m_evalText);
        QVERIFY(out.open(QIODevice::WriteOnly) && out.write(head) == head.size());
        out.close();

        m_window = std::make_unique<MainWindow>();
        m_window->resize(1600, 1000);
        m_window->show();
        MainWindow& w = *m_window;
        QSignalSpy settled(&w, &MainWindow::modelSettled);
        w.openModel(shared(kStories));
        QVERIFY(settled.wait(60000));
        QVERIFY(settled.first().first().toBool());
        QVERIFY(w.tabNames().contains(QStringLiteral("dynamic rank")));
        // No factorized model yet: nothing to run.
        QVERIFY(!view()->runButton()->isEnabled());

        // Basis Sharing 20 %, g = 2, calibrated on 32 chunks of 128 tokens of calib.txt, through the window.
        select(w.calibrationPanel()->sourceCombo(), QStringLiteral("file"));
        w.calibrationPanel()->textEdit()->setText(shared(kCalib));
        w.calibrationPanel()->samplesSpin()->setValue(32);
        w.calibrationPanel()->contextSpin()->setValue(128);
        select(w.compressionPanel()->methodCombo(), QStringLiteral("basis-sharing"));
        w.compressionPanel()->groupSpin()->setValue(2);
        w.compressionPanel()->ratioSlider()->setValue(20);
        QSignalSpy compressed(w.document(), &StudioDocument::compressed);
        w.compress();   // calibrates first
        QTRY_VERIFY_WITH_TIMEOUT(compressed.count() == 1 && !w.engine()->isBusy(), 120000);
        QVERIFY(view()->runButton()->isEnabled());

        // The reference: what the window posted, run directly.
        m_reference.load(uitest::sharedPath(kStories), RunSetup{"cpu", "float32", 0});
        m_reference.calibrate(w.calibrationPanel()->setup());
        m_reference.compress(w.compressOptions(w.compressionPanel()->settings()));
    }

    // Initial values are the engine's defaults; each control lands in the options.
    void controlsReachTheOptions()
    {
        const RankJobOptions defaults = RankMasksJobOptions{}.rank;
        RankJobOptions o = box()->options();
        QCOMPARE(o.strategy, defaults.strategy);
        QCOMPARE(o.energy, defaults.energy);
        QCOMPARE(o.budget, 0.0);
        QCOMPARE(o.promptTokens, defaults.promptTokens);
        QVERIFY(!box()->appliesToEvaluate());

        setStrategy("global-static");
        QVERIFY(!box()->limitCombo()->isEnabled());   // a fixed prefix: only a budget defines it
        QVERIFY(!box()->energySpin()->isEnabled());
        QVERIFY(box()->budgetSlider()->isEnabled());
        box()->budgetSlider()->setValue(30);
        o = box()->options();
        QCOMPARE(o.strategy, std::string("global-static"));
        QCOMPARE(o.budget, 0.3);
        QCOMPARE(o.energy, 0.0);

        setStrategy("prompt-adaptive", "energy");
        QVERIFY(box()->energySpin()->isEnabled() && !box()->budgetSlider()->isEnabled());
        box()->energySpin()->setValue(0.9);
        box()->promptTokensSpin()->setValue(32);
        o = box()->options();
        QCOMPARE(o.strategy, std::string("prompt-adaptive"));
        QCOMPARE(o.energy, 0.9);
        QCOMPARE(o.budget, 0.0);
        QCOMPARE(o.promptTokens, int64_t(32));

        setStrategy("baseline");
        QVERIFY(!box()->budgetSlider()->isEnabled() && !box()->energySpin()->isEnabled());
        o = box()->options();
        QCOMPARE(o.budget, 0.0);
        QCOMPARE(o.energy, 0.0);

        view()->promptEdit()->setPlainText(QStringLiteral("Tom had a red kite."));
        QCOMPARE(view()->masksOptions().text, std::string("Tom had a red kite."));
        QCOMPARE(view()->masksOptions().rank.strategy, std::string("baseline"));
    }

    // The strategy and its budget change what the engine computes: global-static keeps exactly k̄ = round(ρK) of
    // every projection, more at a larger ρ; per-token keeps more channels for a larger τ. Each capture is the
    // engine's own for the same options.
    void strategyAndBudgetChangeTheMasks()
    {
        view()->promptEdit()->setPlainText(QStringLiteral(
            "Once upon a time, there was a little girl named Lily. She loved to play in the park with her mom. "
            "One day, she saw a big red ball under a tree."));
        QVERIFY(m_window->showTab(QStringLiteral("dynamic rank")));

        setStrategy("baseline");
        const RankMasksSummary baseline = showMasks();
        QVERIFY(!baseline.capture.masks.empty());
        for (const RankMaskSummary& m : baseline.capture.masks)
            QCOMPARE(m.meanK, double(m.rank));

        setStrategy("global-static");
        box()->budgetSlider()->setValue(50);
        const RankMasksSummary half = showMasks();
        for (const RankMaskSummary& m : half.capture.masks) {
            QCOMPARE(m.meanK, double(rankBudget(0.5, m.rank)));
            QCOMPARE(m.prefixShare, 1.0);   // the stored order's first k̄ channels
        }
        box()->budgetSlider()->setValue(75);
        const RankMasksSummary threeQuarters = showMasks();
        for (const RankMaskSummary& m : threeQuarters.capture.masks)
            QCOMPARE(m.meanK, double(rankBudget(0.75, m.rank)));
        QVERIFY(meanK(threeQuarters) > meanK(half));

        setStrategy("per-token", "energy");
        box()->energySpin()->setValue(0.9);
        const RankMasksSummary tau90 = showMasks();
        box()->energySpin()->setValue(0.99);
        const RankMasksSummary tau99 = showMasks();
        qInfo("mean k: baseline %.2f, global-static rho 0.5 %.2f, 0.75 %.2f; per-token tau 0.9 %.2f, 0.99 %.2f (energy "
              "kept %.4f, %.4f)",
              meanK(baseline), meanK(half), meanK(threeQuarters), meanK(tau90), meanK(tau99),
              tau90.capture.rank.energyKept, tau99.capture.rank.energyKept);
        QVERIFY(meanK(tau99) > meanK(tau90));
        QVERIFY(tau90.capture.rank.energyKept >= 0.9 && tau99.capture.rank.energyKept >= 0.99);

        // What the tab shows is the engine's capture for the same options, token for token.
        RankMasksJobOptions o = view()->masksOptions();
        o.compressed = true;
        const RankMasksSummary ref = m_reference.rankMasks(o);
        QCOMPARE(ref.capture.masks.size(), tau99.capture.masks.size());
        QCOMPARE(ref.tokens, tau99.tokens);
        for (size_t i = 0; i < ref.capture.masks.size(); ++i) {
            QCOMPARE(tau99.capture.masks[i].keep, ref.capture.masks[i].keep);
            QCOMPARE(tau99.capture.masks[i].meanK, ref.capture.masks[i].meanK);
        }

        // The prompt itself reaches the engine: a different text, different tokens.
        view()->promptEdit()->setPlainText(QStringLiteral("Tom had a red kite."));
        QVERIFY(showMasks().tokens.size() < tau99.tokens.size());
    }

    // The heatmaps draw the capture: for the chosen layer and part every kept cell of the token map is coloured and
    // every dropped one grey; the layer map holds each channel's keep frequency; the statistics line states mean k,
    // energy kept and the contiguous share; hover texts name the cell.
    void heatmapsDrawTheMasks()
    {
        view()->promptEdit()->setPlainText(QStringLiteral(
            "Once upon a time, there was a little girl named Lily. She loved to play in the park with her mom. "
            "One day, she saw a big red ball under a tree."));
        setStrategy("per-token", "energy");
        box()->energySpin()->setValue(0.95);
        const RankMasksSummary& s = showMasks();
        QVERIFY(view()->partCombo()->count() > 0 && view()->layerCombo()->count() > 1);
        select(view()->partCombo(), QStringLiteral("q"));
        view()->layerCombo()->setCurrentIndex(1);
        const RankMaskSummary* m = view()->plots()->selected();
        QVERIFY(m);
        QCOMPARE(m->part, std::string("q"));
        QCOMPARE(m->layer, view()->layerCombo()->currentData().toLongLong());

        QCPColorMapData* kept = view()->plots()->keptMap()->data();
        QCPColorMapData* dropped = view()->plots()->droppedMap()->data();
        QCOMPARE(int64_t(kept->keySize()), m->rank);
        QCOMPARE(int64_t(kept->valueSize()), m->tokens);
        int64_t keptCells = 0, droppedCells = 0;
        for (int t = 0; t < kept->valueSize(); ++t)
            for (int j = 0; j < kept->keySize(); ++j) {
                const bool keep = m->keep[size_t(t) * size_t(m->rank) + size_t(j)];
                QCOMPARE(std::isfinite(kept->cell(j, t)), keep);
                QCOMPARE(std::isfinite(dropped->cell(j, t)), !keep);
                keptCells += keep;
                droppedCells += !keep;
            }
        QVERIFY(keptCells > 0 && droppedCells > 0);   // τ = 0.95 drops some channels of some tokens
        QCOMPARE(double(keptCells) / double(m->tokens), m->meanK);

        QCPColorMapData* frequency = view()->plots()->frequencyMap()->data();
        for (const RankMaskSummary& other : s.capture.masks)
            if (other.part == "q")
                for (int64_t j = 0; j < other.rank; ++j)
                    QCOMPARE(frequency->cell(int(j), int(other.layer)), 100.0 * other.keepFrequency[size_t(j)]);

        const QString stats = view()->statisticsLabel()->text();
        QVERIFY2(stats.contains(QStringLiteral("per-token tau 0.95")), qPrintable(stats));
        QVERIFY2(stats.contains(QString::number(meanK(s), 'f', 2)), qPrintable(stats));
        QVERIFY2(stats.contains(QString::number(100.0 * s.capture.rank.energyKept, 'f', 2)), qPrintable(stats));
        QVERIFY2(stats.contains(QString::number(100.0 * s.capture.contiguousShare, 'f', 1)), qPrintable(stats));
        QVERIFY2(stats.contains(QString::number(m->meanK, 'f', 2)), qPrintable(stats));

        const QString cell = view()->plots()->tokenCellText(0, 1);
        QVERIFY2(cell.contains(tokenLabel(s.tokens[0])) && cell.contains(m->keep[0] ? QStringLiteral("kept") : QStringLiteral("dropped")),
                 qPrintable(cell));
        QVERIFY(view()->plots()->layerCellText(m->layer, 1).contains(QStringLiteral("kept by")));
        maybeShoot(m_window.get(), QStringLiteral("dynamic_rank.png"));

        setStrategy("prompt-adaptive", "budget");
        box()->budgetSlider()->setValue(50);
        showMasks();
        maybeShoot(m_window.get(), QStringLiteral("dynamic_rank_prompt_adaptive.png"));
    }

    // With "apply to Evaluate", the compressed model's perplexity row is the engine's perplexity under the same
    // strategy (prompt protocol), named by it; the strategy changes the number; unticked, runs are as stored.
    void evaluateRunsUnderTheStrategy()
    {
        EvaluateView* e = m_window->evaluateView();
        select(e->sourceCombo(), QStringLiteral("file"));
        e->textEdit()->setText(m_evalText);
        e->contextSpin()->setValue(128);
        e->strideSpin()->setValue(0);
        select(e->pplModelCombo(), QStringLiteral("compressed"));
        e->results()->clear();
        QVERIFY(e->rankNote()->text().isEmpty());

        box()->evaluateCheck()->setChecked(true);
        box()->promptTokensSpin()->setValue(32);
        QVERIFY(e->rankNote()->text().contains(QStringLiteral("prompt-adaptive rho 0.5")));
        struct Run {
            const char* strategy;
            const char* limit;
            int budgetPercent;
            double energy;
        };
        const Run runs[] = {{"baseline", nullptr, 0, 0}, {"global-static", nullptr, 50, 0},
                            {"prompt-adaptive", "budget", 50, 0}, {"per-token", "energy", 0, 0.95}};
        std::vector<double> ppl;
        for (const Run& r : runs) {
            setStrategy(r.strategy, r.limit);
            if (r.budgetPercent)
                box()->budgetSlider()->setValue(r.budgetPercent);
            if (r.energy > 0)
                box()->energySpin()->setValue(r.energy);
            QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
            m_window->evaluatePerplexity();
            QVERIFY(waitJobs(finished, 1));
            QVERIFY(finished.first().at(1).toBool());
            const EvalResult& row = e->results()->results().back();
            const QString label = RankStrategyBox::describe(box()->options());
            QCOMPARE(row.rank, label);
            QVERIFY2(row.evaluation.endsWith(QStringLiteral(", %1, prompt 32").arg(label)), qPrintable(row.evaluation));
            QCOMPARE(QString::fromStdString(row.model.variant), QStringLiteral("compressed"));

            PerplexityJobOptions o = e->pplSetups().front();
            o.rank = box()->options();
            const PerplexitySummary ref = m_reference.perplexity(o);
            qInfo("%s: PPL through the Evaluate tab %.10f, Workspace::perplexity %.10f; rank share %.3f, energy %.4f",
                  qPrintable(label), row.ppl, ref.result.ppl, row.rankShare, row.rankEnergy);
            QVERIFY2(std::abs(row.ppl - ref.result.ppl) <= 1e-9 * ref.result.ppl, qPrintable(QString::number(row.ppl - ref.result.ppl)));
            QVERIFY(ref.rank.has_value());
            QCOMPARE(row.rankShare, ref.rank->meanShare);
            ppl.push_back(row.ppl);
        }
        QVERIFY(ppl[1] != ppl[0] && ppl[2] != ppl[1] && ppl[3] != ppl[0]);   // each strategy changes the number

        // The plot: each run at the compressed model's parameters kept, labelled by its strategy.
        ParetoPlot* plot = e->pareto();
        plot->plot()->replot();
        const EvalResult& last = e->results()->results().back();
        const QString point = plot->pointTextAt(plot->pixelOf(last.keptPercent(), last.ppl));
        QVERIFY2(point.contains(QStringLiteral("per-token tau 0.95")) && point.contains(QStringLiteral("rank channels computed")),
                 qPrintable(point));
        maybeShoot(m_window.get(), QStringLiteral("dynamic_rank_evaluate.png"));

        // Throughput under the strategy: its own row, named by it.
        select(e->throughputModelCombo(), QStringLiteral("compressed"));
        e->promptLenSpin()->setValue(32);
        e->genLenSpin()->setValue(16);
        e->repeatsSpin()->setValue(1);
        QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
        m_window->measureThroughput();
        QVERIFY(waitJobs(finished, 1));
        QVERIFY(finished.first().at(1).toBool());
        const EvalResult& tp = e->results()->results().back();
        QCOMPARE(tp.kind, QStringLiteral("throughput"));
        QVERIFY2(tp.evaluation.endsWith(QStringLiteral(", per-token tau 0.95")), qPrintable(tp.evaluation));
        QVERIFY(std::isfinite(tp.decodeTokensPerSecond) && std::isfinite(tp.rankShare));

        // Unticked: the compressed model as stored, the usual protocol.
        box()->evaluateCheck()->setChecked(false);
        QVERIFY(e->rankNote()->text().isEmpty());
        QSignalSpy plain(m_window->engine(), &EngineController::jobFinished);
        m_window->evaluatePerplexity();
        QVERIFY(waitJobs(plain, 1));
        const EvalResult& stored = e->results()->results().back();
        QVERIFY(stored.rank.isEmpty());
        QVERIFY(!stored.evaluation.contains(QStringLiteral("prompt 32")));
        const PerplexitySummary ref = m_reference.perplexity(e->pplSetups().front());
        QVERIFY(std::abs(stored.ppl - ref.result.ppl) <= 1e-9 * ref.result.ppl);
    }

    // A YAML config's ppl entry with rank keys sets the controls (and ticks "apply to Evaluate"); the Evaluate run
    // then runs under them.
    void configRankKeysSetTheControls()
    {
        const QString yaml = m_dir.filePath(QStringLiteral("rank.yaml"));
        QFile f(yaml);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QStringLiteral("model_args:\n  group_size: 2\n  compression_ratio: 20\nbasis_studio:\n"
                               "  model_path: %1\n  calibration_text: %2\n  evaluate:\n"
                               "    - ppl: {text: %3, context: 128, rank_strategy: per-token, rank_energy: 0.9, prompt_tokens: 48}\n")
                    .arg(shared(kStories), shared(kCalib), m_evalText)
                    .toUtf8());
        f.close();
        box()->evaluateCheck()->setChecked(false);
        setStrategy("global-static");
        QVERIFY(m_window->openConfig(yaml));
        QTRY_VERIFY_WITH_TIMEOUT(box()->evaluateCheck()->isChecked(), 10000);
        const RankJobOptions o = box()->options();
        QCOMPARE(o.strategy, std::string("per-token"));
        QCOMPARE(o.energy, 0.9);
        QCOMPARE(o.budget, 0.0);
        QCOMPARE(o.promptTokens, int64_t(48));
        EvaluateView* e = m_window->evaluateView();
        QVERIFY(e->rankNote()->text().contains(QStringLiteral("per-token tau 0.9")));

        select(e->pplModelCombo(), QStringLiteral("compressed"));
        QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
        m_window->evaluatePerplexity();
        QVERIFY(waitJobs(finished, 1));
        QVERIFY(finished.first().at(1).toBool());
        const EvalResult& row = e->results()->results().back();
        QCOMPARE(row.rank, QStringLiteral("per-token tau 0.9"));
        QVERIFY2(row.evaluation.endsWith(QStringLiteral(", per-token tau 0.9, prompt 48")), qPrintable(row.evaluation));
    }

    void cleanupTestCase() { m_window.reset(); }
};

QTEST_MAIN(TestUiDynamicRank)
#include "test_ui_dynamic_rank.moc"
