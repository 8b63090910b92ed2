// The studio's "Refit coefficients after compression (update)" checkbox, clicked as a user does, against
// `basis-cli compress --update` with the same settings on the built-in stories260K: the saved weights are
// bit-identical, the perplexities equal, and config.json and the exported YAML say "update". Without the checkbox
// the weights differ (the control changes what the engine does). The compression also runs on the device the
// Calibration panel names (the CPU here: the device path itself is covered where a GPU exists).
#include "calibration_panel.h"
#include "compression_panel.h"
#include "engine_controller.h"
#include "evaluate_view.h"
#include "generate_view.h"
#include "json_io.h"
#include "log_dock.h"
#include "main_window.h"
#include "run_config.h"
#include "studio_document.h"
#include "ui_test_support.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>

#include <memory>

using namespace basis;
using namespace basis::ui;

namespace {

QByteArray slurp(const QString& file)
{
    QFile f(file);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool waitFor(QSignalSpy& spy, int count, int timeoutMs = 120000)   // inside QtTest's 300 s per function
{
    QElapsedTimer t;
    t.start();
    while (spy.count() < count && t.elapsed() < timeoutMs)
        spy.wait(200);
    return spy.count() >= count;
}

nlohmann::json readJson(const QString& file)
{
    const QByteArray data = slurp(file);
    return parseJson(file.toStdString(), data.constData(), size_t(data.size()));
}

// basis-cli with arguments; its --json last line.
nlohmann::json cli(const QStringList& args)
{
    QProcess p;
    p.start(QStringLiteral(BASIS_CLI_PATH), args);
    if (!p.waitForFinished(600000) || p.exitCode() != 0) {
        qWarning("basis-cli %s: exit %d\n%s", qPrintable(args.join(QLatin1Char(' '))), p.exitCode(),
                 p.readAllStandardError().constData());
        return {};
    }
    const QList<QByteArray> lines = p.readAllStandardOutput().trimmed().split('\n');
    return nlohmann::json::parse(lines.last().toStdString());
}

constexpr int kSamples = 24, kContext = 128;

} // namespace

class TestUiUpdate : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void updateCheckboxMakesTheModelTheCliMakes();
    void evaluateAndGenerateControlsReachTheEngine();
    void calibrationControlsReachTheEngine();
    void cleanupTestCase();

private:
    // Clicks Compress with the update checkbox as given and saves the result to `dir`.
    CompressionSummary compressAndSave(bool update, const QString& dir);

    void waitUntilIdle() const
    {
        QElapsedTimer idle;
        idle.start();
        while (m_window->engine()->isBusy() && idle.elapsed() < 60000)
            QTest::qWait(20);
    }
    // The studio's log, printed when a job a test waits for does not come: the reason is in it.
    void dumpLog(const char* what) const;

    std::unique_ptr<MainWindow> m_window;
    QTemporaryDir m_dir;
};

void TestUiUpdate::dumpLog(const char* what) const
{
    QTreeWidget* list = m_window->logDock()->list();
    qWarning("%s; the studio's log:", what);
    for (int i = 0; i < list->topLevelItemCount(); ++i)
        qWarning("  %s", qPrintable(list->topLevelItem(i)->text(list->columnCount() - 1)));
}

void TestUiUpdate::initTestCase()
{
    uitest::sandboxSettings("test_ui_update");
    QVERIFY(m_dir.isValid());
    m_window = std::make_unique<MainWindow>();
    m_window->resize(1600, 1000);
    m_window->show();
    QSignalSpy settled(m_window.get(), &MainWindow::modelSettled);
    m_window->openBuiltinModel();
    QVERIFY(settled.wait(60000));
    QVERIFY(settled.first().first().toBool());
    CalibrationPanel* cal = m_window->calibrationPanel();
    cal->samplesSpin()->setValue(kSamples);
    cal->contextSpin()->setValue(kContext);
    std::filesystem::remove_all(cal->setup().cacheDir);   // calibrated here, not by an earlier run
    CompressionPanel* c = m_window->compressionPanel();
    CompressionSettings s = c->settings();
    s.ratio = 30;
    s.groupSize = 2;
    c->setSettings(s);
}

CompressionSummary TestUiUpdate::compressAndSave(bool update, const QString& dir)
{
    m_window->compressionPanel()->updateCheck()->setChecked(update);
    QSignalSpy compressed(m_window->document(), &StudioDocument::compressed);
    QSignalSpy saved(m_window->document(), &StudioDocument::compressedSaved);
    QTest::mouseClick(m_window->compressButton(), Qt::LeftButton);   // calibrates first the first time
    if (!waitFor(compressed, 1)) {
        dumpLog("Compress did not finish");
        return {};
    }
    waitUntilIdle();
    m_window->saveCompressed(dir);
    if (!waitFor(saved, 1)) {
        dumpLog("Save did not finish");
        return {};
    }
    waitUntilIdle();   // the result's signal comes before its job's end; the next job starts once the engine is idle
    return compressed.first().first().value<CompressionSummary>();
}

void TestUiUpdate::updateCheckboxMakesTheModelTheCliMakes()
{
    const QString studioUpdate = m_dir.filePath(QStringLiteral("studio-update"));
    const QString studioPlain = m_dir.filePath(QStringLiteral("studio-plain"));
    const CompressionSummary withUpdate = compressAndSave(true, studioUpdate);
    QVERIFY2(withUpdate.refitted, "the checkbox ran the refit");
    QVERIFY(withUpdate.refitSeconds > 0);
    QCOMPARE(m_window->logDock()->count(Severity::Error), 0);

    // The same settings, headless.
    const std::filesystem::path calib = m_window->calibrationPanel()->setup().text;
    const QString cliUpdate = m_dir.filePath(QStringLiteral("cli-update"));
    const nlohmann::json made = cli({"compress", "--model", "builtin:stories260k", "--text", QString::fromStdString(calib.string()),
                                     "--samples", QString::number(kSamples), "--context", QString::number(kContext),
                                     "--ratio", "30", "--group-size", "2", "--update", "--out", cliUpdate, "--json"});
    QVERIFY(made.value("update", false));

    // Bit-identical weights: the safetensors files are the same bytes (header and data).
    const QByteArray a = slurp(studioUpdate + QStringLiteral("/model.safetensors"));
    const QByteArray b = slurp(cliUpdate + QStringLiteral("/model.safetensors"));
    QVERIFY(!a.isEmpty());
    QVERIFY2(a == b, "the studio's update and basis-cli compress --update saved different weights");

    // Both folders say what was done.
    for (const QString& dir : {studioUpdate, cliUpdate}) {
        const nlohmann::json c = readJson(dir + QStringLiteral("/config.json")).at("compression");
        QCOMPARE(c.value("update", false), true);
        // The update's statistics came from the calibration text (the tinystories preset's file) through the
        // compressed model; the record names it.
        const std::string updateText = c.at("calibration").value("update_text", std::string());
        QVERIFY2(updateText == "tinystories" || updateText == calib.string(), c.dump().c_str());
    }
    const QString yaml = m_dir.filePath(QStringLiteral("exported.yaml"));
    QVERIFY(m_window->exportConfig(yaml));
    const RunConfig exported = loadRunConfig(yaml.toStdString()).config;
    QVERIFY(exported.update);
    QCOMPARE(exported.calibrationSize, int64_t(kSamples));
    QCOMPARE(exported.contextLength, int64_t(kContext));

    // The same perplexity: the studio's compressed model and basis-cli on the CLI's folder.
    EvaluateView* eval = m_window->evaluateView();
    eval->sourceCombo()->setCurrentIndex(eval->sourceCombo()->findData(QStringLiteral("tinystories")));
    eval->contextSpin()->setValue(kContext);
    eval->pplModelCombo()->setCurrentIndex(eval->pplModelCombo()->findData(QStringLiteral("compressed")));
    QSignalSpy ppl(m_window->document(), &StudioDocument::pplEvaluated);
    waitUntilIdle();   // a busy engine ignores the request, as the disabled action does for a user
    m_window->evaluatePerplexity();
    if (!waitFor(ppl, 1))
        dumpLog("Perplexity did not finish");
    QVERIFY(ppl.count() == 1);
    const double studioPpl = ppl.first().first().value<PerplexitySummary>().result.ppl;
    const nlohmann::json cliPpl = cli({"eval", "ppl", "--model", cliUpdate, "--dataset", "tinystories", "--context",
                                       QString::number(kContext), "--json"});
    QVERIFY(cliPpl.contains("ppl"));
    QCOMPARE(studioPpl, cliPpl.at("ppl").get<double>());   // exactly: the same weights, the same protocol
    qInfo("update on: studio and basis-cli saved %lld identical bytes; perplexity %.6f both", qint64(a.size()), studioPpl);

    // Unchecked, the engine skips the refit: other coefficients, config.json says so.
    waitUntilIdle();
    const CompressionSummary plain = compressAndSave(false, studioPlain);
    QVERIFY(!plain.refitted);
    QVERIFY(slurp(studioPlain + QStringLiteral("/model.safetensors")) != a);
    const nlohmann::json plainConfig = readJson(studioPlain + QStringLiteral("/config.json")).at("compression");
    QCOMPARE(plainConfig.value("update", true), false);
    QVERIFY(!plainConfig.at("calibration").contains("update_text"));
}

// Each control set away from its default, then the job's result (the engine's own struct) carries that value.
void TestUiUpdate::evaluateAndGenerateControlsReachTheEngine()
{
    QVERIFY(m_window->hasCompressed());
    EvaluateView* eval = m_window->evaluateView();
    auto choose = [](QComboBox* combo, const QString& data) {
        const int i = combo->findData(data);
        combo->setCurrentIndex(i);
        return i >= 0;
    };
    // Perplexity: the source (a text file instead of the preset), context, stride, protocol, which model.
    const QString text = m_dir.filePath(QStringLiteral("eval.txt"));
    {
        QFile f(text);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(slurp(QString::fromStdString(m_window->calibrationPanel()->setup().text.string())).left(20000));
    }
    QVERIFY(choose(eval->sourceCombo(), QStringLiteral("file")));
    eval->textEdit()->setText(text);
    eval->contextSpin()->setValue(96);
    eval->strideSpin()->setValue(48);
    QVERIFY(choose(eval->protocolCombo(), QStringLiteral("token-mean")));
    QVERIFY(choose(eval->pplModelCombo(), QStringLiteral("dense")));
    QSignalSpy ppl(m_window->document(), &StudioDocument::pplEvaluated);
    waitUntilIdle();   // a busy engine ignores the request, as the disabled action does for a user
    m_window->evaluatePerplexity();
    if (!waitFor(ppl, 1))
        dumpLog("Perplexity did not finish");
    QVERIFY(ppl.count() == 1);
    const PerplexitySummary p = ppl.first().first().value<PerplexitySummary>();
    QCOMPARE(QString::fromStdString(p.source), QStringLiteral("eval.txt"));
    QCOMPARE(p.result.context, int64_t(96));
    QCOMPARE(p.result.stride, int64_t(48));
    QCOMPARE(protocolName(p.result.protocol), std::string("token-mean"));
    QCOMPARE(p.result.ppl, p.result.pplTokenMean);
    QCOMPARE(QString::fromStdString(p.model.variant), QStringLiteral("dense"));

    // Throughput: prompt, generated tokens, batch, repeats, which model.
    waitUntilIdle();
    eval->promptLenSpin()->setValue(24);
    eval->genLenSpin()->setValue(6);
    eval->batchSpin()->setValue(2);
    eval->repeatsSpin()->setValue(2);
    QVERIFY(choose(eval->throughputModelCombo(), QStringLiteral("compressed")));
    QSignalSpy tput(m_window->document(), &StudioDocument::throughputMeasured);
    m_window->measureThroughput();
    QVERIFY(waitFor(tput, 1));
    const ThroughputSummary t = tput.first().first().value<ThroughputSummary>();
    QCOMPARE(t.result.options.promptLen, int64_t(24));
    QCOMPARE(t.result.options.genLen, int64_t(6));
    QCOMPARE(t.result.options.batch, int64_t(2));
    QCOMPARE(int64_t(t.result.samples.size()), int64_t(2));   // the timed runs
    QCOMPARE(QString::fromStdString(t.model.variant), QStringLiteral("compressed"));

    // Generate: the prompt and the number of new tokens, on both models.
    waitUntilIdle();
    m_window->generateView()->setPrompt(QStringLiteral("Once upon a time"));
    m_window->generateView()->maxTokensSpin()->setValue(5);
    QSignalSpy gen(m_window->document(), &StudioDocument::generationUpdated);
    m_window->generate();
    QElapsedTimer idle;
    idle.start();
    int finished = 0;
    while (finished < 2 && idle.elapsed() < 60000) {
        QTest::qWait(20);
        finished = 0;
        for (const QList<QVariant>& g : gen)
            finished += g.first().value<GenerationOutput>().finished;
    }
    QCOMPARE(finished, 2);
    for (const QList<QVariant>& g : gen) {
        const GenerationOutput out = g.first().value<GenerationOutput>();
        if (!out.finished)
            continue;
        QVERIFY(out.newTokens >= 1 && out.newTokens <= 5);
        QVERIFY2(QString::fromStdString(out.wholeText).startsWith(QStringLiteral("Once upon a time")), out.wholeText.c_str());
    }
}

void TestUiUpdate::calibrationControlsReachTheEngine()
{
    waitUntilIdle();
    CalibrationPanel* cal = m_window->calibrationPanel();
    cal->samplesSpin()->setValue(5);
    cal->contextSpin()->setValue(40);
    cal->samplingCombo()->setCurrentIndex(cal->samplingCombo()->findData(QStringLiteral("random")));
    QSignalSpy calibrated(m_window->document(), &StudioDocument::calibrated);
    m_window->calibrate();
    QVERIFY(waitFor(calibrated, 1));
    const CalibrationSummary c = calibrated.first().first().value<CalibrationSummary>();
    QCOMPARE(c.samples, int64_t(5));
    QCOMPARE(c.tokens, int64_t(5 * 40));
    QCOMPARE(c.record.value("sampling", std::string()), std::string("random"));
    QCOMPARE(c.record.value("context", int64_t(0)), int64_t(40));
    // The device box offers the CPU and every CUDA device LibTorch sees; the compression runs where it says.
    QCOMPARE(m_window->compressOptions(m_window->compressionPanel()->settings()).device, cal->setup().device);
}

void TestUiUpdate::cleanupTestCase()
{
    if (m_window)
        m_window->close();
    m_window.reset();
}

QTEST_MAIN(TestUiUpdate)
#include "test_ui_update.moc"
