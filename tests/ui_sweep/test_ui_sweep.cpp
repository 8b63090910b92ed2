// Sweeps in the studio on the real stories260K, offscreen. The Sweep dialog's controls decide the runs; a sweep
// through the window writes the results file and puts every run into the Evaluate table with the perplexity the
// file records, and the Pareto view draws one series per method (and group size) with the dense point; clicking a
// point loads that run's settings into the compression controls; the x axis switches to MB; the budget mode and the
// allocator of the compression panel change what the engine compresses; the headless plot of the results file
// writes a picture with those series.
#include "calibration_panel.h"
#include "compression_panel.h"
#include "error.h"
#include "engine_controller.h"
#include "eval_results_model.h"
#include "evaluate_view.h"
#include "main_window.h"
#include "pareto_export.h"
#include "pareto_plot.h"
#include "studio_document.h"
#include "sweep.h"
#include "sweep_dialog.h"
#include "ui_test_support.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <set>

using namespace basis;
using namespace basis::ui;

namespace {

const std::string kStories = "models/stories260K/hf";
const std::string kCalib = "data/tinystories-valid/calib.txt";
const std::string kEval = "data/tinystories-valid/eval.txt";
using uitest::shared;

void select(QComboBox* combo, const QString& data)
{
    const int i = combo->findData(data);
    QVERIFY2(i >= 0, qPrintable(data));
    combo->setCurrentIndex(i);
}

void check(QListWidget* list, const QString& method, bool on)
{
    for (int i = 0; i < list->count(); ++i)
        if (list->item(i)->data(Qt::UserRole).toString() == method)
            list->item(i)->setCheckState(on ? Qt::Checked : Qt::Unchecked);
}

} // namespace

class TestUiSweep : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        uitest::sandboxSettings("test_ui_sweep");
        BASIS_UI_REQUIRE_SHARED(kStories);
        QVERIFY(m_dir.isValid());
        QFile eval(shared(kEval));
        QVERIFY(eval.open(QIODevice::ReadOnly));
        QByteArray head = eval.read(12000);
        head.truncate(head.lastIndexOf('\n') + 1);
        m_text = m_dir.filePath(QStringLiteral("eval_head.txt"));
        QFile out(m_text);
        QVERIFY(out.open(QIODevice::WriteOnly) && out.write(head) == head.size());
        out.close();
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1600, 1000);
        m_window->show();
        QSignalSpy settled(m_window.get(), &MainWindow::modelSettled);
        m_window->openModel(shared(kStories));
        QVERIFY(settled.wait(60000));
        QVERIFY(settled.first().first().toBool());
        m_window->calibrationPanel()->textEdit()->setText(shared(kCalib));
        m_window->calibrationPanel()->samplesSpin()->setValue(8);
        m_window->calibrationPanel()->contextSpin()->setValue(128);
        EvaluateView* view = m_window->evaluateView();
        select(view->sourceCombo(), QStringLiteral("file"));
        view->textEdit()->setText(m_text);
        view->contextSpin()->setValue(128);
        view->strideSpin()->setValue(128);
    }

    // Methods, budgets, ratios, group sizes and allocators of the dialog are the sweep's runs.
    void dialogControlsDecideTheRuns()
    {
        QString error;
        const RunConfig base = m_window->sweepBaseConfig(&error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        SweepSpec start;
        start.methods = {"basis-sharing"};
        start.budgets = {30};
        start.groupSizes = {2};
        start.results = m_dir.filePath(QStringLiteral("a.jsonl")).toStdString();
        SweepDialog d(base, start);
        QCOMPARE(d.runIds(), (QStringList{"dense", "basis-sharing budget 30 g2 uniform"}));
        d.budgetsEdit()->setText(QStringLiteral("30, 45"));
        d.allocatorCheck(QStringLiteral("greedy"))->setChecked(true);
        d.groupSizesEdit()->setText(QStringLiteral("1 2"));
        check(d.methodList(), QStringLiteral("svd-llm"), true);
        d.ratiosEdit()->setText(QStringLiteral("20"));
        d.denseCheck()->setChecked(false);
        const QStringList ids = d.runIds();
        QCOMPARE(ids.size(), 2 * 2 * 2 + 2 + 2 * 2 + 1);   // bs: budgets x allocators x g, ratio x g; svd-llm: g = 1
        QVERIFY(ids.contains(QStringLiteral("basis-sharing budget 45 g1 greedy")));
        QVERIFY(ids.contains(QStringLiteral("svd-llm ratio 20 g1")));
        QVERIFY(!ids.contains(QStringLiteral("dense")));
        QVERIFY2(d.countLabel()->text().contains(QStringLiteral("15 run")), qPrintable(d.countLabel()->text()));
        if (const QString dir = qEnvironmentVariable("BASIS_SCREENSHOT_DIR"); !dir.isEmpty()) {
            d.resize(760, 560);
            d.show();
            QTest::qWait(100);
            QVERIFY(d.grab().save(dir + QStringLiteral("/sweep_dialog.png")));
        }
        d.budgetsEdit()->setText(QStringLiteral("30, lots"));
        QString why;
        QVERIFY(d.runIds(&why).isEmpty());
        QVERIFY2(why.contains(QStringLiteral("'lots'")), qPrintable(why));
        d.budgetsEdit()->setText(QStringLiteral("130"));
        QVERIFY(d.runIds(&why).isEmpty());
        QVERIFY2(why.contains(QStringLiteral("budget")), qPrintable(why));
    }

    // A sweep through the window: the file's records are the table's rows, and the plot has a series per method.
    void sweepFillsTheTableAndThePlot()
    {
        SweepSpec s;
        s.methods = {"basis-sharing", "svd-llm"};
        s.budgets = {40};
        s.groupSizes = {2};
        s.allocators = {"uniform", "greedy"};
        s.results = m_dir.filePath(QStringLiteral("sweep.jsonl")).toStdString();
        QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
        QSignalSpy done(m_window->document(), &StudioDocument::sweepFinished);
        m_window->runSweep(s);
        QVERIFY(uitest::waitJobs(finished, 1, 300000));
        QVERIFY2(finished.first().at(1).toBool(), qPrintable(m_window->lastError()));
        QCOMPARE(done.count(), 1);
        const auto records = readSweepResults(s.results);
        QCOMPARE(int(records.size()), 5);   // dense, bs g2 uniform/greedy, svd-llm uniform/greedy
        const auto& rows = m_window->evaluateView()->results()->results();
        QCOMPARE(int(rows.size()), 5);
        for (size_t i = 0; i < records.size(); ++i) {
            QCOMPARE(rows[i].ppl, records[i]["results"].begin().value()["ppl,none"].get<double>());
            QCOMPARE(rows[i].model.parameters, records[i]["parameters"]["model_after"].get<int64_t>());
        }
        QCOMPARE(rows[2].model.allocator, std::string("greedy"));
        QCOMPARE(rows[2].model.budget, 40.0);
        ParetoPlot* plot = m_window->evaluateView()->pareto();
        QCOMPARE(plot->seriesNames(), (QStringList{"basis-sharing g2", "svd-llm", "dense"}));

        // Hover names the run, a click loads its settings (svd-llm, budget 40, greedy).
        m_window->showTab(QStringLiteral("evaluate"));
        const QPointF at = plot->pixelOf(rows[4]);
        QVERIFY2(plot->pointTextAt(at).contains(QStringLiteral("budget 40 % (greedy)")), qPrintable(plot->pointTextAt(at)));
        QTest::mouseClick(plot->plot(), Qt::LeftButton, Qt::NoModifier, at.toPoint());
        const CompressionSettings loaded = m_window->compressionPanel()->settings();
        QCOMPARE(loaded.method, std::string("svd-llm"));
        QCOMPARE(loaded.budget, 40.0);
        QCOMPARE(loaded.allocator, std::string("greedy"));

        // The x axis in MB: the same run drawn at its size as stored.
        select(m_window->evaluateView()->plotXCombo(), QStringLiteral("mb"));
        QCOMPARE(plot->xAxis(), ParetoPlot::XAxis::SizeMB);
        const QPointF mb = plot->pixelOf(rows[4]);
        QCOMPARE(plot->plot()->xAxis->pixelToCoord(mb.x()), double(rows[4].model.bytes) / 1e6);
        QVERIFY(rows[4].model.bytes > 0 && rows[4].model.bytes < rows[0].model.bytes);
        select(m_window->evaluateView()->plotXCombo(), QStringLiteral("kept"));

        // Open results… reads the same file again (every record a row), and a broken file is refused by name and line.
        EvaluateView* view = m_window->evaluateView();
        QString error;
        QVERIFY2(view->openSweepResults(QString::fromStdString(s.results), &error), qPrintable(error));
        QCOMPARE(view->results()->rowCount(), 10);
        const QString broken = m_dir.filePath(QStringLiteral("broken.jsonl"));
        QFile b(broken);
        QVERIFY(b.open(QIODevice::WriteOnly) && b.write("{\"run_id\": \"x\"}\nnot json\n") > 0);
        b.close();
        QVERIFY(!view->openSweepResults(broken, &error));
        QVERIFY2(error.contains(QStringLiteral("broken.jsonl:2")), qPrintable(error));
        QCOMPARE(view->results()->rowCount(), 10);

        // A second evaluation (the dense model at context 64): the evaluation box lists both and picks what is drawn.
        view->contextSpin()->setValue(64);
        view->strideSpin()->setValue(64);
        select(view->pplModelCombo(), QStringLiteral("dense"));
        QTRY_VERIFY_WITH_TIMEOUT(!m_window->engine()->isBusy(), 60000);   // the run waits for an idle engine
        m_window->evaluatePerplexity();
        QTRY_COMPARE_WITH_TIMEOUT(view->results()->rowCount(), 11, 60000);
        view->contextSpin()->setValue(128);
        view->strideSpin()->setValue(128);
        QComboBox* evaluations = view->plotEvaluationCombo();
        QCOMPARE(evaluations->count(), 2);
        QVERIFY(plot->evaluation().contains(QStringLiteral("context 128")));   // the one with the most runs
        const int other = evaluations->findText(QStringLiteral("context 64"), Qt::MatchContains);
        QVERIFY(other >= 0);
        evaluations->setCurrentIndex(other);
        emit evaluations->activated(other);
        QVERIFY(plot->evaluation().contains(QStringLiteral("context 64")));
        QCOMPARE(plot->seriesNames(), (QStringList{"dense"}));
        view->results()->clear();
        for (const auto& rec : records)
            view->addSweepRecord(rec);

        // The headless plot of that file: the same series, a picture that is not blank.
        PlotRequest r;
        r.results = QString::fromStdString(s.results);
        r.out = m_dir.filePath(QStringLiteral("pareto.png"));
        const PlotOutcome o = plotResultsFile(r);
        QCOMPARE(o.series, (QStringList{"basis-sharing g2", "svd-llm", "dense"}));
        QCOMPARE(o.points, 5);
        QImage img(r.out);
        QVERIFY(!img.isNull() && img.width() >= 1600);
        std::set<QRgb> colours;
        for (int y = 0; y < img.height(); y += 7)
            for (int x = 0; x < img.width(); x += 7)
                colours.insert(img.pixel(x, y));
        QVERIFY2(colours.size() > 20, "the plot is blank");
        r.out = m_dir.filePath(QStringLiteral("pareto.svg"));
        plotResultsFile(r);
        QFile svg(r.out);
        QVERIFY(svg.open(QIODevice::ReadOnly) && svg.readAll().contains("<svg"));
        r.evaluation = QStringLiteral("no such evaluation");
        bool refused = false;
        try {
            plotResultsFile(r);
        } catch (const basis::Error& e) {
            refused = QString::fromUtf8(e.what()).contains(QStringLiteral("not an evaluation of"));
        }
        QVERIFY(refused);
    }

    // The compression panel's size mode and allocator reach the engine.
    void budgetControlsReachTheCompression()
    {
        CompressionPanel* p = m_window->compressionPanel();
        select(p->methodCombo(), QStringLiteral("basis-sharing"));
        p->groupSpin()->setValue(2);
        p->ratioSpin()->setValue(30);
        select(p->sizeModeCombo(), QStringLiteral("ratio"));
        QVERIFY(!p->allocatorCombo()->isEnabled());
        QCOMPARE(p->settings().budget, 0.0);
        select(p->sizeModeCombo(), QStringLiteral("budget"));
        QVERIFY(p->allocatorCombo()->isEnabled());
        select(p->allocatorCombo(), QStringLiteral("uniform"));
        QCOMPARE(p->settings().budget, 30.0);

        // The window refuses to start while a job (the spectra it asks for after a compression) runs: wait for idle.
        auto idle = [&] {
            QElapsedTimer t;
            t.start();
            while (m_window->engine()->isBusy() && t.elapsed() < 120000)
                QTest::qWait(50);
            return !m_window->engine()->isBusy();
        };
        std::vector<CompressionSummary> got;
        connect(m_window->document(), &StudioDocument::compressed, this, [&](const CompressionSummary& s) { got.push_back(s); });
        auto compressOnce = [&] {
            const size_t before = got.size();
            QVERIFY(idle());
            m_window->compress();   // the first one calibrates first, then compresses
            QElapsedTimer t;
            t.start();
            while (got.size() == before && t.elapsed() < 180000)
                QTest::qWait(50);
            QCOMPARE(got.size(), before + 1);
        };
        compressOnce();
        // Exactly 30 % of the target projections removed (within one rank step), where the ratio rule gives 29.4 %.
        QVERIFY2(std::abs(got[0].plan.removedPercentOfTarget() - 30.0) < 0.25,
                 qPrintable(QString::number(got[0].plan.removedPercentOfTarget())));
        select(p->allocatorCombo(), QStringLiteral("greedy"));
        compressOnce();
        QCOMPARE(int(got.size()), 2);
        QCOMPARE(got[1].settings.allocator, std::string("greedy"));
        // The live counts now show the ranks the greedy allocator chose, not the uniform allocation.
        const LiveResult& live = m_window->liveCounts().last();
        QVERIFY2(live.ok, qPrintable(live.error));
        QCOMPARE(live.plan.targetAfter, got[1].plan.targetAfter);
        std::vector<int64_t> liveRanks, chosenRanks;
        for (const auto& part : live.plan.parts)
            for (const auto& g : part.groups)
                liveRanks.push_back(g.k);
        for (const auto& part : got[1].plan.parts)
            for (const auto& g : part.groups)
                chosenRanks.push_back(g.k);
        QCOMPARE(liveRanks, chosenRanks);
        if (const QString dir = qEnvironmentVariable("BASIS_SCREENSHOT_DIR"); !dir.isEmpty()) {
            m_window->showTab(QStringLiteral("compression"));
            QTest::qWait(200);
            QVERIFY(m_window->grab().save(dir + QStringLiteral("/compression_budget.png")));
        }
        std::vector<int64_t> a, b;
        for (const auto& part : got[0].plan.parts)
            for (const auto& g : part.groups)
                a.push_back(g.k);
        for (const auto& part : got[1].plan.parts)
            for (const auto& g : part.groups)
                b.push_back(g.k);
        QVERIFY2(a != b, "the greedy allocator chose the uniform ranks");
        QVERIFY(std::abs(got[1].plan.removedPercentOfTarget() - 30.0) < 0.25);
    }

    void screenshot()
    {
        m_window->showTab(QStringLiteral("evaluate"));
        QTest::qWait(200);
        const QString out = qEnvironmentVariable("BASIS_SCREENSHOT_DIR");
        if (!out.isEmpty())
            QVERIFY(m_window->grab().save(out + QStringLiteral("/evaluate_sweep.png")));
    }

    void cleanupTestCase() { m_window.reset(); }

private:
    std::unique_ptr<MainWindow> m_window;
    QTemporaryDir m_dir;
    QString m_text;
};

QTEST_MAIN(TestUiSweep)
#include "test_ui_sweep.moc"
