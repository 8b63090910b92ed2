// The studio as a new user meets it, offscreen: the start page offers the built-in stories260K first (the demo
// model with random weights below it); one click opens it, a second (Compress) calibrates on the built-in
// TinyStories text and compresses, with the engine's real numbers in the window. The About dialog names the
// versions and the licenses of what ships; settings export as a config that names builtin:stories260k; a Hugging
// Face name opens from a hub cache laid out as huggingface_hub lays it out. With BASIS_SCREENSHOT_DIR set, the
// window after the two clicks is saved there as builtin_compressed.png (README's screenshot).
#include "about_dialog.h"
#include "calibration_panel.h"
#include "compression_panel.h"
#include "engine_controller.h"
#include "studio_document.h"
#include "hub_cache.h"
#include "log_dock.h"
#include "main_window.h"
#include "model_summary_view.h"
#include "resources.h"
#include "run_config.h"
#include "start_page.h"
#include "ui_test_support.h"

#include <QDir>
#include <QFile>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <cstdlib>
#include <memory>

using namespace basis;
using namespace basis::ui;

namespace {

QByteArray slurp(const std::filesystem::path& p)
{
    QFile f(QString::fromStdString(p.string()));
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool waitFor(QSignalSpy& spy, int count, int timeoutMs = 180000)
{
    QElapsedTimer t;
    t.start();
    while (spy.count() < count && t.elapsed() < timeoutMs)
        spy.wait(500);
    return spy.count() >= count;
}

} // namespace

class TestUiBuiltin : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void startPageOffersTheBuiltinModelFirst();
    void twoClicksOpenCalibrateAndCompress();
    void aJobThatWillNotFitIsRefusedWithItsNumbers();
    void exportNamesTheBuiltinModel();
    void aboutNamesVersionsAndLicenses();
    void hubNameOpensFromTheCache();
    void cleanupTestCase();

private:
    std::unique_ptr<MainWindow> m_window;
    QTemporaryDir m_dir;
};

void TestUiBuiltin::initTestCase()
{
    uitest::sandboxSettings("test_ui_builtin");
    QVERIFY(m_dir.isValid());
    m_window = std::make_unique<MainWindow>();
    m_window->resize(1600, 1000);
    m_window->show();
}

void TestUiBuiltin::startPageOffersTheBuiltinModelFirst()
{
    StartPage* start = m_window->startPage();
    QVERIFY(start->isVisible());
    const QList<QPushButton*> buttons = start->findChildren<QPushButton*>();
    QVERIFY(buttons.size() >= 4);
    // In the page's column, top to bottom.
    auto* column = start->layout()->itemAt(0)->layout();
    QVERIFY(column);
    QList<QPushButton*> order;
    for (int i = 0; i < column->count(); ++i)
        if (auto* b = qobject_cast<QPushButton*>(column->itemAt(i)->widget()))
            order << b;
    QCOMPARE(order.first(), start->builtinButton());
    QCOMPARE(order.first()->text().remove(QLatin1Char('&')), QStringLiteral("Open the built-in stories260K (real, 260K parameters)"));
    int demo = -1;
    for (int i = 0; i < order.size(); ++i)
        if (order[i]->text().contains(QStringLiteral("RANDOM weights")))
            demo = i;
    QVERIFY2(demo > 0, "the demo model with random weights stays, below the built-in one");
    QVERIFY(!m_window->windowIcon().isNull());
}

void TestUiBuiltin::twoClicksOpenCalibrateAndCompress()
{
    uitest::StallMeter stall;
    // Click 1: the built-in model.
    QSignalSpy settled(m_window.get(), &MainWindow::modelSettled);
    QTest::mouseClick(m_window->startPage()->builtinButton(), Qt::LeftButton);
    QVERIFY(settled.wait(60000));
    QVERIFY(settled.first().first().toBool());
    QVERIFY(m_window->hasModel());
    QCOMPARE(m_window->modelSummary()->fieldText(QStringLiteral("Layers")), QStringLiteral("5"));
    // Nothing chosen: calibration reads the TinyStories text that ships with the program.
    CalibrationPanel* cal = m_window->calibrationPanel();
    QCOMPARE(cal->preset(), QStringLiteral("tinystories"));
    const CalibrateOptions setup = cal->setup();
    QCOMPARE(QString::fromStdString(setup.text.filename().string()), QStringLiteral("calib.txt"));
    QCOMPARE(slurp(setup.text), slurp(basis::test::embeddedPath("data/tinystories-valid/calib.txt")));
    std::filesystem::remove_all(setup.cacheDir);   // a real calibration, not an earlier run's cache
    QVERIFY(m_window->compressButton()->isEnabled());

    // Click 2: Compress, which calibrates first since nothing is calibrated yet.
    QSignalSpy calibrated(m_window->document(), &StudioDocument::calibrated);
    QSignalSpy compressed(m_window->document(), &StudioDocument::compressed);
    QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
    QSignalSpy measured(m_window->engine(), &EngineController::jobMeasured);
    QTest::mouseClick(m_window->compressButton(), Qt::LeftButton);
    QVERIFY(waitFor(compressed, 1));
    QCOMPARE(calibrated.count(), 1);
    const auto c = calibrated.first().first().value<CalibrationSummary>();
    // The panel starts at the engine's defaults (job_options.h), as basis-cli does: every full chunk of 512.
    QCOMPARE(setup.samples, CalibrateOptions{}.samples);
    QCOMPARE(setup.context, CalibrateOptions{}.context);
    QCOMPARE(c.samples, int64_t(385));   // 197,120 tokens of calib.txt in 512-token chunks, as `basis-cli run` reports
    QCOMPARE(c.tokens, c.samples * setup.context);
    const auto s = compressed.first().first().value<CompressionSummary>();
    QCOMPARE(s.settings.method, m_window->compressionPanel()->settings().method);
    QVERIFY(s.modelAfter < s.modelBefore);
    for (const GroupSummary& g : s.groups)
        QVERIFY2(g.energy > 0 && g.energy <= 1, g.part.c_str());   // whitened by the calibration just made
    QVERIFY(m_window->hasCompressed());
    QVERIFY(m_window->compressStatus()->text().startsWith(QStringLiteral("Compressed")));
    for (const QList<QVariant>& f : finished)
        QVERIFY2(f.at(1).toBool(), qPrintable(f.at(0).toString()));
    QCOMPARE(m_window->logDock()->count(Severity::Error), 0);
    QVERIFY2(stall.longestMs() < 1000, qPrintable(QString::number(stall.longestMs())));
    // The spectra the window asks for once calibrated finish too; then the picture.
    QElapsedTimer idle;
    idle.start();
    while (m_window->engine()->isBusy() && idle.elapsed() < 60000)
        QTest::qWait(50);
    // Each job's time and peak memory: measured for Calibrate and Compress, the last one in the status bar.
    QStringList titles;
    for (const QList<QVariant>& m : measured) {
        titles << m.at(0).toString();
        QVERIFY(m.at(1).toDouble() > 0 && m.at(2).toLongLong() > 0);
    }
    QVERIFY2(titles.size() >= 2 && titles[0] == QStringLiteral("Calibrate") && titles[1] == QStringLiteral("Compress"),
             qPrintable(titles.join(QLatin1Char(','))));
    const QString lastJob = m_window->lastJobLabel()->text();
    QVERIFY2(lastJob.startsWith(titles.last() + QStringLiteral(": ")) && lastJob.contains(QStringLiteral(" s, peak RssAnon ")) &&
                 lastJob.contains(QStringLiteral(" GB, file-backed ")),
             qPrintable(lastJob));
    qInfo("built-in stories260K, two clicks: calibrated on %lld tokens, compressed %lld -> %lld parameters; %s",
          (long long)c.tokens, (long long)s.modelBefore, (long long)s.modelAfter,
          qPrintable(m_window->compressStatus()->text()));
    if (const char* dir = std::getenv("BASIS_SCREENSHOT_DIR"); dir && *dir) {
        QTest::qWait(300);
        const QString file = QDir(QString::fromLocal8Bit(dir)).filePath(QStringLiteral("builtin_compressed.png"));
        QVERIFY(m_window->grab().save(file));
        qInfo("wrote %s", qPrintable(file));
    }
}

// With less memory available than the accounting says a job needs (set to 1 MB here), Compress is refused before
// it starts, with the numbers; with the machine's own figure it runs.
void TestUiBuiltin::aJobThatWillNotFitIsRefusedWithItsNumbers()
{
    QVERIFY(m_window->hasModel());
    while (m_window->engine()->isBusy())
        QTest::qWait(50);
    QSignalSpy started(m_window->engine(), &EngineController::jobStarted);
    QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
    const int errors = m_window->logDock()->count(Severity::Error);
    m_window->setAvailableMemoryOverride(1'000'000);
    QTest::mouseClick(m_window->compressButton(), Qt::LeftButton);
    QTest::qWait(300);
    QCOMPARE(started.count(), 0);
    QCOMPARE(m_window->logDock()->count(Severity::Error), errors + 1);
    const QString refusal = m_window->lastError();
    for (const char* part : {"Compress needs about", "the compressed copy's factors", "the largest group's factorization",
                             "only 1.0 MB of memory is available", "Not started", "basis-cli compress"})
        QVERIFY2(refusal.contains(QLatin1String(part)), qPrintable(part + QStringLiteral(" not in: ") + refusal));
    if (const char* dir = std::getenv("BASIS_SCREENSHOT_DIR"); dir && *dir)
        QVERIFY(m_window->grab().save(QDir(QString::fromLocal8Bit(dir)).filePath(QStringLiteral("builtin_refused.png"))));
    m_window->setAvailableMemoryOverride(0);
    QTest::mouseClick(m_window->compressButton(), Qt::LeftButton);
    QVERIFY(waitFor(finished, 1));
    QVERIFY(finished.first().at(1).toBool());
    QCOMPARE(m_window->logDock()->count(Severity::Error), errors + 1);
}

void TestUiBuiltin::exportNamesTheBuiltinModel()
{
    const QString file = m_dir.filePath(QStringLiteral("builtin.yaml"));
    QVERIFY(m_window->exportConfig(file));
    const RunConfig c = loadRunConfig(file.toStdString()).config;
    QCOMPARE(QString::fromStdString(c.modelPath), QStringLiteral("builtin:stories260k"));
    QCOMPARE(QString::fromStdString(c.datasetName), QStringLiteral("tinystories"));
    if (std::filesystem::equivalent(m_window->calibrationPanel()->setup().dataDir, builtinDataDir()))
        QVERIFY2(c.dataDir.empty(), c.dataDir.c_str());   // found without a data folder on every machine
}

void TestUiBuiltin::aboutNamesVersionsAndLicenses()
{
    const QString text = aboutText();
    for (const QString& must : {QStringLiteral("Basis Studio"), QStringLiteral("LibTorch"), QStringLiteral("1.13"),
                                QString::fromLatin1(qVersion()), QStringLiteral("CUDA"), QStringLiteral("MIT"),
                                QStringLiteral("CDLA-Sharing-1.0"), QStringLiteral("stories260K/README.md")})
        QVERIFY2(text.contains(must), qPrintable(must + QStringLiteral(" missing from: ") + text));
    AboutDialog dialog(m_window.get());
    dialog.show();
    QVERIFY(dialog.findChild<QLabel*>(QStringLiteral("aboutText")));
    dialog.close();
}

void TestUiBuiltin::hubNameOpensFromTheCache()
{
    const std::filesystem::path cache = std::filesystem::path(m_dir.path().toStdString()) / "hub";
    const std::filesystem::path snap = basis::test::addHubSnapshot(cache, "karpathy/stories260K",
                                                                   basis::test::embeddedPath("models/stories260K"),
                                                                   "0123456789abcdef0123456789abcdef01234567");
    qputenv("HF_HUB_CACHE", QByteArray::fromStdString(cache.string()));
    QSignalSpy settled(m_window.get(), &MainWindow::modelSettled);
    m_window->openModel(QStringLiteral("karpathy/stories260K"));
    QVERIFY(settled.wait(60000));
    QVERIFY(settled.first().first().toBool());
    QVERIFY(m_window->windowTitle().startsWith(QString::fromStdString(snap.filename().string())));
    // Not there: the log names the cache folders looked in, and the model stays.
    const int errors = m_window->logDock()->count(Severity::Error);
    QSignalSpy failed(m_window.get(), &MainWindow::modelSettled);
    m_window->openModel(QStringLiteral("meta-llama/Llama-2-7b-hf"));
    QCOMPARE(failed.count(), 1);
    QVERIFY(!failed.first().first().toBool());
    QCOMPARE(m_window->logDock()->count(Severity::Error), errors + 1);
    QTreeWidget* log = m_window->logDock()->list();
    const QString last = log->topLevelItem(log->topLevelItemCount() - 1)->text(2);
    QVERIFY2(last.contains(QString::fromStdString((cache / "models--meta-llama--Llama-2-7b-hf").string())), qPrintable(last));
    qunsetenv("HF_HUB_CACHE");
}

void TestUiBuiltin::cleanupTestCase()
{
    if (m_window)
        m_window->close();
    m_window.reset();
}

QTEST_MAIN(TestUiBuiltin)
#include "test_ui_builtin.moc"
