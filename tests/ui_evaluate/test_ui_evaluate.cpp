// The Evaluate and Generate tabs on the real stories260K model, offscreen: a perplexity run through the view
// appends a row whose PPL is the engine's own for the same settings; a compressed model adds its rows and its
// point; the table exports to CSV and JSON and reads back equal; the plot exports to PNG and PDF; the Generate
// tab shows the dense model's greedy continuation exactly as generateGreedy decodes it. A zero-shot task run
// (20 hellaswag items; without ../shared 20 generic items made of the built-in TinyStories paragraphs) appends acc
// and acc_norm equal to evaluateMultipleChoice's; a bad task file is an error
// naming file and line, and no row. The calibration panel's tinystories preset reads calib.txt.
#include "calibration_panel.h"
#include "compression_panel.h"
#include "engine_controller.h"
#include "studio_document.h"
#include "eval_results_model.h"
#include "evaluate_view.h"
#include "generate_view.h"
#include "log_dock.h"
#include "datasets.h"
#include "main_window.h"
#include "pareto_plot.h"
#include "reference.h"
#include "ui_test_support.h"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <memory>

using namespace basis;
using namespace basis::ui;

namespace {

const std::string kStories = "models/stories260K/hf";
const std::string kEval = "data/tinystories-valid/eval.txt";
const std::string kHellaswag = "data/hellaswag/hellaswag_val_2000.jsonl";

using uitest::shared;

bool waitJobs(QSignalSpy& finished, int count, int timeoutMs = 120000)
{
    return uitest::waitJobs(finished, count, timeoutMs);
}

// A generic multiple-choice file from the built-in eval.txt: context = a paragraph's first half, choices = its own
// second half (gold) and the next paragraph's.
std::filesystem::path storiesTaskFile(const QString& file, int items)
{
    QFile in(QString::fromStdString(basis::test::embeddedPath("data/tinystories-valid/eval.txt").string()));
    if (!in.open(QIODevice::ReadOnly))
        return {};
    std::vector<std::pair<std::string, std::string>> halves;
    while (!in.atEnd() && int(halves.size()) < items + 1) {
        const std::string line = in.readLine().trimmed().toStdString();
        const auto cut = line.find(' ', line.size() / 2);
        if (line.size() > 40 && cut != std::string::npos)
            halves.emplace_back(line.substr(0, cut), line.substr(cut + 1));
    }
    QFile out(file);
    if (!out.open(QIODevice::WriteOnly))
        return {};
    for (int i = 0; i < items; ++i) {
        const nlohmann::json doc = {{"context", halves[size_t(i)].first},
                                    {"choices", {halves[size_t(i)].second, halves[size_t(i) + 1].second}},
                                    {"label", 0}};
        out.write(QByteArray::fromStdString(doc.dump() + "\n"));
    }
    return file.toStdString();
}

void select(QComboBox* combo, const QString& data)
{
    const int i = combo->findData(data);
    QVERIFY2(i >= 0, qPrintable(data));
    combo->setCurrentIndex(i);
}

} // namespace

class TestUiEvaluate : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void settledMeansIdle();
    void perplexityRowEqualsEngine();
    void compressedRowsAndPlot();
    void tasksRowsEqualEngine();
    void badTaskFileNamesLineAndAddsNoRow();
    void exportRoundTrip();
    void datasetPresetErrorNamesFile();
    void generateShowsGreedyText();
    void calibrationPresetReadsCalibTxt();
    void cleanupTestCase();

private:
    std::unique_ptr<MainWindow> m_window;
    QTemporaryDir m_dir;
    QString m_text;   // the start of eval.txt: enough windows to mean something, quick to score
    bool m_busyWhenSettled = true, m_runnableWhenSettled = false;
};

void TestUiEvaluate::initTestCase()
{
    uitest::sandboxSettings("test_ui_evaluate");
    BASIS_UI_REQUIRE_SHARED(kStories);
    BASIS_UI_REQUIRE_SHARED(kEval);
    QVERIFY(m_dir.isValid());
    QFile eval(shared(kEval));
    QVERIFY(eval.open(QIODevice::ReadOnly));
    QByteArray head = eval.read(16000);
    head.truncate(head.lastIndexOf('\n') + 1);   // whole lines only
    m_text = m_dir.filePath(QStringLiteral("eval_head.txt"));
    QFile out(m_text);
    QVERIFY(out.open(QIODevice::WriteOnly) && out.write(head) == head.size());
    out.close();

    m_window = std::make_unique<MainWindow>();
    m_window->resize(1600, 1000);
    m_window->show();
    QSignalSpy settled(m_window.get(), &MainWindow::modelSettled);
    // What the window shows at the very moment it says it has settled: a test (or a user) acts on exactly that.
    connect(m_window.get(), &MainWindow::modelSettled, this, [this] {
        m_busyWhenSettled = m_window->engine()->isBusy();
        m_runnableWhenSettled = m_window->evaluateView()->pplButton()->isEnabled() &&
                                m_window->calibrationPanel()->runButton()->isEnabled();
    }, Qt::SingleShotConnection);
    m_window->openModel(shared(kStories));
    QVERIFY(settled.wait(60000));
    QVERIFY(settled.first().first().toBool());
}

void TestUiEvaluate::settledMeansIdle()
{
    // modelSettled used to come from the modelLoaded signal, which the engine thread emits inside the load job,
    // before its jobFinished: the window still counted the load as running and had disabled every run button.
    // Whether a test's QSignalSpy::wait also processed the queued jobFinished before returning depended on timing.
    QVERIFY2(!m_busyWhenSettled, "the load job was still running when the window said it had settled");
    QVERIFY2(m_runnableWhenSettled, "run buttons were disabled when the window said it had settled");
    QVERIFY(m_window->evaluateView()->pplButton()->isEnabled());
}

void TestUiEvaluate::perplexityRowEqualsEngine()
{
    EvaluateView* view = m_window->evaluateView();
    select(view->sourceCombo(), QStringLiteral("file"));
    view->textEdit()->setText(m_text);
    view->contextSpin()->setValue(128);
    view->strideSpin()->setValue(64);
    select(view->pplModelCombo(), QStringLiteral("dense"));
    QVERIFY(view->pplButton()->isEnabled());

    QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
    QTest::mouseClick(view->pplButton(), Qt::LeftButton);
    QVERIFY(waitJobs(finished, 1));
    QVERIFY(finished.first().at(1).toBool());
    QCOMPARE(view->results()->rowCount(), 1);
    const EvalResult& row = view->results()->results().front();
    QCOMPARE(row.kind, QStringLiteral("perplexity"));
    QCOMPARE(QString::fromStdString(row.model.variant), QStringLiteral("dense"));
    QCOMPARE(row.keptPercent(), 100.0);

    const double reference = uitest::referencePerplexity(uitest::sharedPath(kStories), m_text.toStdString(), 128, 64,
                                                         "window-mean");
    qInfo("PPL through the Evaluate tab %.10f, evaluatePerplexity directly %.10f", row.ppl, reference);
    // Same code, same thread count: the numbers agree to rounding of a different run of the same kernels.
    QVERIFY2(std::abs(row.ppl - reference) <= 1e-9 * reference, qPrintable(QString::number(row.ppl - reference)));
    // The table shows it (3 decimals).
    const QModelIndex cell = view->results()->index(0, EvalResultsModel::Ppl);
    QCOMPARE(cell.data().toString(), QString::number(reference, 'f', 3));
}

void TestUiEvaluate::compressedRowsAndPlot()
{
    // Plain SVD needs no calibration: quick to reach a compressed model.
    CompressionSettings s = m_window->compressionPanel()->settings();
    s.method = "svd";
    s.ratio = 30;
    s.groupSize = 1;
    m_window->compressionPanel()->setSettings(s);
    QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
    m_window->compress();
    QVERIFY(waitJobs(finished, 1));
    QVERIFY(finished.at(0).at(1).toBool());
    QVERIFY(m_window->hasCompressed());

    EvaluateView* view = m_window->evaluateView();
    QCOMPARE(view->pplModelCombo()->currentData().toString(), QStringLiteral("both"));   // offered once it exists
    QTest::mouseClick(view->pplButton(), Qt::LeftButton);
    QVERIFY(waitJobs(finished, 3));
    select(view->throughputModelCombo(), QStringLiteral("both"));
    QTest::mouseClick(view->throughputButton(), Qt::LeftButton);
    QVERIFY(waitJobs(finished, 5));
    for (const QList<QVariant>& f : finished)
        QVERIFY2(f.at(1).toBool(), qPrintable(f.at(0).toString()));

    const auto& rows = view->results()->results();
    QCOMPARE(int(rows.size()), 5);
    QCOMPARE(rows[1].model.variant, std::string("dense"));
    QCOMPARE(rows[2].model.variant, std::string("compressed"));
    QCOMPARE(rows[2].model.method, std::string("svd"));
    QCOMPARE(rows[2].model.ratio, 30.0);
    QVERIFY(rows[2].model.parameters < rows[2].model.denseParameters);
    QVERIFY(rows[2].keptPercent() > 50 && rows[2].keptPercent() < 100);
    QCOMPARE(rows[1].ppl, rows[0].ppl);   // the dense model again: the same number
    QVERIFY(std::isfinite(rows[2].ppl) && rows[2].ppl > rows[1].ppl);
    for (int i : {3, 4}) {
        QCOMPARE(rows[size_t(i)].kind, QStringLiteral("throughput"));
        QVERIFY(rows[size_t(i)].prefillTokensPerSecond > 0 && rows[size_t(i)].decodeTokensPerSecond > 0);
        QVERIFY(!rows[size_t(i)].hasPpl());
    }
    qInfo("dense %.4f, svd 30 %% %.4f (%.1f %% kept); throughput dense prefill %.0f decode %.0f tok/s, compressed %.0f / %.0f",
          rows[1].ppl, rows[2].ppl, rows[2].keptPercent(), rows[3].prefillTokensPerSecond, rows[3].decodeTokensPerSecond,
          rows[4].prefillTokensPerSecond, rows[4].decodeTokensPerSecond);

    // Hovering the compressed point names it.
    ParetoPlot* plot = view->pareto();
    m_window->showTab(QStringLiteral("evaluate"));
    const QPointF at = plot->pixelOf(rows[2].keptPercent(), rows[2].ppl);
    QVERIFY2(plot->pointTextAt(at + QPointF(3, -2)).contains(QStringLiteral("svd ratio 30 %")),
             qPrintable(plot->pointTextAt(at)));
    QVERIFY(plot->pointTextAt(at + QPointF(200, 200)).isEmpty() ||
            !plot->pointTextAt(at + QPointF(200, 200)).contains(QStringLiteral("svd")));
}

void TestUiEvaluate::tasksRowsEqualEngine()
{
    // HellaSwag from ../shared when it is there; else a generic task made of the built-in TinyStories paragraphs
    // (each paragraph's second half against the next one's), so the task rows are tested in a fresh clone too.
    const bool hellaswag = std::filesystem::exists(uitest::sharedPath(kHellaswag));
    const std::string taskName = hellaswag ? "hellaswag" : "generic";
    const std::filesystem::path taskFile =
        hellaswag ? uitest::sharedPath(kHellaswag) : storiesTaskFile(m_dir.filePath(QStringLiteral("stories_task.jsonl")), 20);
    QVERIFY(!taskFile.empty());
    EvaluateView* view = m_window->evaluateView();
    select(view->taskCombo(), QString::fromStdString(taskName));
    view->taskFileEdit()->setText(QString::fromStdString(taskFile.string()));
    view->taskLimitSpin()->setValue(20);
    select(view->tasksModelCombo(), QStringLiteral("both"));
    const int before = view->results()->rowCount();
    QVERIFY(view->table()->isColumnHidden(EvalResultsModel::Acc));   // no task run yet: no empty columns
    QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
    QTest::mouseClick(view->tasksButton(), Qt::LeftButton);
    QVERIFY(waitJobs(finished, 2));
    for (const QList<QVariant>& f : finished)
        QVERIFY2(f.at(1).toBool(), qPrintable(f.at(0).toString()));
    QCOMPARE(view->results()->rowCount(), before + 2);
    const EvalResult& dense = view->results()->results()[size_t(before)];
    const EvalResult& compressed = view->results()->results()[size_t(before) + 1];
    QCOMPARE(dense.kind, QStringLiteral("tasks"));
    QCOMPARE(dense.model.variant, std::string("dense"));
    QCOMPARE(compressed.model.variant, std::string("compressed"));
    QVERIFY(dense.evaluation.contains(QString::fromStdString(taskName) + QStringLiteral(", 20 items")));
    QVERIFY(!dense.hasPpl());

    const uitest::ReferenceTasks ref = uitest::referenceTasks(uitest::sharedPath(kStories), taskName, taskFile, 20);
    qInfo("%s x 20 through the Evaluate tab: acc %.4f ± %.4f, acc_norm %.4f ± %.4f; evaluateMultipleChoice "
          "directly: acc %.4f ± %.4f, acc_norm %.4f ± %.4f; svd copy acc %.4f, acc_norm %.4f", taskName.c_str(),
          dense.acc, dense.accStderr, dense.accNorm, dense.accNormStderr, ref.acc, ref.accStderr, ref.accNorm,
          ref.accNormStderr, compressed.acc, compressed.accNorm);
    QCOMPARE(ref.items, int64_t(20));
    QCOMPARE(dense.acc, ref.acc);
    QCOMPARE(dense.accNorm, ref.accNorm);
    QCOMPARE(dense.accStderr, ref.accStderr);
    QCOMPARE(dense.accNormStderr, ref.accNormStderr);
    QVERIFY(std::isfinite(compressed.acc) && std::isfinite(compressed.accNorm));
    // The table shows value ± standard error, in columns that appear once a task row exists.
    QVERIFY(!view->table()->isColumnHidden(EvalResultsModel::Acc) && !view->table()->isColumnHidden(EvalResultsModel::AccNorm));
    const int row = before;
    QCOMPARE(view->results()->index(row, EvalResultsModel::Acc).data().toString(),
             QStringLiteral("%1 ± %2").arg(ref.acc, 0, 'f', 4).arg(ref.accStderr, 0, 'f', 4));
    QCOMPARE(view->results()->index(row, EvalResultsModel::AccNorm).data().toString(),
             QStringLiteral("%1 ± %2").arg(ref.accNorm, 0, 'f', 4).arg(ref.accNormStderr, 0, 'f', 4));
}

void TestUiEvaluate::badTaskFileNamesLineAndAddsNoRow()
{
    const QString bad = m_dir.filePath(QStringLiteral("bad_task.jsonl"));
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("{\"context\": \"The sky is\", \"choices\": [\"blue\", \"green\"], \"label\": 0}\n"
            "{\"context\": \"Grass is\", \"choices\": [\"blue\", \"green\"], \"label\": 5}\n");
    f.close();
    EvaluateView* view = m_window->evaluateView();
    select(view->taskCombo(), QStringLiteral("generic"));
    view->taskFileEdit()->setText(bad);
    view->taskLimitSpin()->setValue(0);
    select(view->tasksModelCombo(), QStringLiteral("dense"));
    const int before = view->results()->rowCount();
    const int errorsBefore = m_window->logDock()->count(Severity::Error);
    QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
    QTest::mouseClick(view->tasksButton(), Qt::LeftButton);
    QVERIFY(waitJobs(finished, 1));
    QVERIFY(!finished.first().at(1).toBool());
    QCOMPARE(view->results()->rowCount(), before);
    QCOMPARE(m_window->logDock()->count(Severity::Error), errorsBefore + 1);
    QTreeWidget* log = m_window->logDock()->list();
    const QString last = log->topLevelItem(log->topLevelItemCount() - 1)->text(2);
    qInfo("log: %s", qPrintable(last));
    QVERIFY2(last.contains(bad + QStringLiteral(":2")) && last.contains(QStringLiteral("label")), qPrintable(last));
}

void TestUiEvaluate::exportRoundTrip()
{
    EvaluateView* view = m_window->evaluateView();
    const auto& rows = view->results()->results();
    QVERIFY(rows.size() >= 2);
    QString error;
    const QString json = m_dir.filePath(QStringLiteral("results.json"));
    const QString csv = m_dir.filePath(QStringLiteral("results.csv"));
    QVERIFY2(view->exportJson(json, &error), qPrintable(error));
    QVERIFY2(view->exportCsv(csv, &error), qPrintable(error));

    // JSON reads back into equal rows (full precision).
    QFile jf(json);
    QVERIFY(jf.open(QIODevice::ReadOnly));
    EvalResultsModel back;
    QVERIFY2(back.loadJson(jf.readAll(), &error), qPrintable(error));
    QCOMPARE(back.results().size(), rows.size());
    auto same = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
    for (size_t i = 0; i < rows.size(); ++i) {
        const EvalResult &a = rows[i], &b = back.results()[i];
        QCOMPARE(b.kind, a.kind);
        QCOMPARE(b.model.variant, a.model.variant);
        QCOMPARE(b.model.method, a.model.method);
        QCOMPARE(b.model.ratio, a.model.ratio);
        QCOMPARE(b.model.groupSize, a.model.groupSize);
        QCOMPARE(b.model.parameters, a.model.parameters);
        QCOMPARE(b.model.denseParameters, a.model.denseParameters);
        QCOMPARE(b.evaluation, a.evaluation);
        QVERIFY(same(b.ppl, a.ppl));
        QVERIFY(same(b.prefillTokensPerSecond, a.prefillTokensPerSecond));
        QVERIFY(same(b.decodeTokensPerSecond, a.decodeTokensPerSecond));
        QVERIFY(same(b.acc, a.acc) && same(b.accStderr, a.accStderr));
        QVERIFY(same(b.accNorm, a.accNorm) && same(b.accNormStderr, a.accNormStderr));
    }
    QVERIFY(std::any_of(rows.begin(), rows.end(), [](const EvalResult& r) { return std::isfinite(r.acc); }));
    QVERIFY(!back.loadJson("{\"rows\": []}", &error));
    QVERIFY(error.contains(QStringLiteral("results")));

    // CSV: a header, then one line per row whose numbers parse back to the same doubles.
    QFile cf(csv);
    QVERIFY(cf.open(QIODevice::ReadOnly | QIODevice::Text));
    QStringList lines = QString::fromUtf8(cf.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), int(rows.size()) + 1);
    const QStringList header = lines.takeFirst().split(QLatin1Char(','));
    QCOMPARE(header.first(), QStringLiteral("kind"));
    const int pplColumn = int(header.indexOf(QStringLiteral("ppl")));
    const int paramColumn = int(header.indexOf(QStringLiteral("parameters")));
    QVERIFY(pplColumn > 0 && paramColumn > 0);
    for (size_t i = 0; i < rows.size(); ++i) {
        // The evaluation column is quoted (it holds commas): split around it.
        const QString line = lines[int(i)];
        const int open = int(line.indexOf(QLatin1Char('"'))), close = int(line.lastIndexOf(QLatin1Char('"')));
        QVERIFY(open > 0 && close > open);
        QCOMPARE(line.mid(open + 1, close - open - 1), rows[i].evaluation);
        const QStringList before = line.left(open).split(QLatin1Char(','));
        const QStringList after = line.mid(close + 2).split(QLatin1Char(','));
        QCOMPARE(before.at(paramColumn).toLongLong(), qlonglong(rows[i].model.parameters));
        const QString ppl = after.at(0);   // ppl follows evaluation
        QCOMPARE(header.at(pplColumn - 1), QStringLiteral("evaluation"));
        if (rows[i].hasPpl())
            QCOMPARE(ppl.toDouble(), rows[i].ppl);
        else
            QVERIFY(ppl.isEmpty());
    }

    // The plot as PNG and PDF.
    const QString png = m_dir.filePath(QStringLiteral("pareto.png")), pdf = m_dir.filePath(QStringLiteral("pareto.pdf"));
    QVERIFY2(view->pareto()->savePng(png, &error), qPrintable(error));
    QVERIFY2(view->pareto()->savePdf(pdf, &error), qPrintable(error));
    QFile p(png), d(pdf);
    QVERIFY(p.open(QIODevice::ReadOnly) && d.open(QIODevice::ReadOnly));
    QVERIFY(p.read(8).startsWith("\x89PNG"));
    QVERIFY(d.read(5).startsWith("%PDF"));
    QVERIFY(!QFile::exists(pdf + QStringLiteral(".part")));
    QVERIFY(!view->exportCsv(m_dir.filePath(QStringLiteral("no/such/folder/x.csv")), &error));
    QVERIFY(error.contains(QStringLiteral("x.csv")));
}

void TestUiEvaluate::datasetPresetErrorNamesFile()
{
    EvaluateView* view = m_window->evaluateView();
    select(view->sourceCombo(), QStringLiteral("tinystories"));
    view->setDataDir(m_dir.path());   // holds no tinystories-valid/
    select(view->pplModelCombo(), QStringLiteral("dense"));
    const int before = view->results()->rowCount();
    QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
    QSignalSpy messages(m_window->engine(), &EngineController::message);
    QTest::mouseClick(view->pplButton(), Qt::LeftButton);
    QVERIFY(waitJobs(finished, 1));
    QVERIFY(!finished.first().at(1).toBool());
    QCOMPARE(view->results()->rowCount(), before);
    bool named = false;
    for (const QList<QVariant>& m : messages)
        named = named || (m.at(0).toInt() == int(Severity::Error) && m.at(1).toString().contains(QStringLiteral("tinystories")) &&
                          m.at(1).toString().contains(m_dir.path()));
    QVERIFY2(named, "the error names the dataset and the folder looked in");
}

void TestUiEvaluate::generateShowsGreedyText()
{
    GenerateView* view = m_window->generateView();
    view->setPrompt(QStringLiteral("Once upon a time, there was a little"));
    view->maxTokensSpin()->setValue(40);
    QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
    QTest::mouseClick(view->generateButton(), Qt::LeftButton);
    QVERIFY(waitJobs(finished, 1));
    QVERIFY(finished.first().at(1).toBool());
    const std::string reference = uitest::referenceGeneration(uitest::sharedPath(kStories),
                                                              "Once upon a time, there was a little", 40);
    qInfo("dense continuation: %s", reference.c_str());
    QVERIFY(!reference.empty());
    QCOMPARE(view->denseText(), QString::fromStdString(reference));
    // The SVD copy from compressedRowsAndPlot continues the same prompt beside it.
    QVERIFY(!view->compressedText().isEmpty());
}

void TestUiEvaluate::calibrationPresetReadsCalibTxt()
{
    const std::string kCalib = "data/tinystories-valid/calib.txt";
    BASIS_UI_REQUIRE_SHARED(kCalib);
    CalibrationPanel* panel = m_window->calibrationPanel();
    QCOMPARE(panel->deviceCombo()->currentData().toString(), QStringLiteral("cpu"));
    QVERIFY(!panel->deviceCombo()->toolTip().isEmpty());

    // A data folder without the preset's file: the log names the file, and no job starts.
    panel->setDataDir(m_dir.path());
    panel->setPreset(QStringLiteral("tinystories"));
    panel->samplesSpin()->setValue(4);
    panel->contextSpin()->setValue(64);
    QVERIFY(panel->samplesSpin()->toolTip().contains(QStringLiteral("4 × 64 tokens = 256 tokens")));
    const int errorsBefore = m_window->logDock()->count(Severity::Error);
    QSignalSpy started(m_window->engine(), &EngineController::jobStarted);
    m_window->calibrate();
    QCOMPARE(m_window->logDock()->count(Severity::Error), errorsBefore + 1);
    QTreeWidget* log = m_window->logDock()->list();
    const QString last = log->topLevelItem(log->topLevelItemCount() - 1)->text(2);
    QVERIFY2(last.contains(QDir(m_dir.path()).filePath(QStringLiteral("tinystories-valid/calib.txt"))), qPrintable(last));
    QTest::qWait(50);
    QCOMPARE(started.count(), 0);

    // The data folder that ships with the program: tinystories resolves to its calib.txt, and the calibration reads it.
    panel->setDataDir(QString::fromStdString(basis::test::embeddedPath("data").string()));
    const CalibrateOptions setup = panel->setup();
    QCOMPARE(setup.text, basis::datasetPath("tinystories", "train", basis::test::embeddedPath("data")));
    QCOMPARE(QString::fromStdString(setup.text.filename().string()), QStringLiteral("calib.txt"));
    QVERIFY(std::filesystem::equivalent(setup.text, uitest::sharedPath(kCalib)));
    std::filesystem::remove_all(setup.cacheDir);   // a fresh run, not a cache from an earlier test run
    QSignalSpy calibrated(m_window->document(), &StudioDocument::calibrated);
    QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
    QTest::mouseClick(panel->runButton(), Qt::LeftButton);
    QVERIFY(waitJobs(finished, 1));
    QVERIFY(finished.first().at(1).toBool());
    QCOMPARE(calibrated.count(), 1);
    const auto summary = calibrated.first().first().value<CalibrationSummary>();
    const int64_t reference = uitest::referenceCalibrationTokens(uitest::sharedPath(kStories), setup.text, 4, 64);
    qInfo("calibrated on tinystories' calib.txt: %lld tokens (%lld samples); calibrateFromText directly: %lld",
          (long long)summary.tokens, (long long)summary.samples, (long long)reference);
    QCOMPARE(summary.samples, int64_t(4));
    QCOMPARE(summary.tokens, reference);
    QCOMPARE(summary.tokens, int64_t(4 * 64));
    std::filesystem::remove_all(setup.cacheDir);
}

void TestUiEvaluate::cleanupTestCase()
{
    if (m_window)
        m_window->close();
    m_window.reset();
}

QTEST_MAIN(TestUiEvaluate)
#include "test_ui_evaluate.moc"
