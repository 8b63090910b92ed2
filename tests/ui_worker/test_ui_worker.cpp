// The engine thread: jobs run off the GUI thread, results and errors arrive as signals, cancel and shutdown
// work mid-job, and the GUI thread keeps ticking while stories260K loads, calibrates and compresses.
#include "engine_controller.h"
#include "studio_document.h"
#include "param_count.h"
#include "ui_test_support.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <algorithm>

using namespace basis;
using namespace basis::ui;

namespace {

bool waitFinished(QSignalSpy& finished, int count, int timeoutMs = 120000)
{
    QElapsedTimer t;
    t.start();
    while (finished.count() < count && t.elapsed() < timeoutMs)
        finished.wait(std::max<int>(1, timeoutMs - int(t.elapsed())));
    return finished.count() >= count;
}

const std::string kStories = "models/stories260K/hf";
const std::string kCalib = "data/tinystories-valid/calib.txt";

} // namespace

class TestUiWorker : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { uitest::sandboxSettings("test_ui_worker"); }

    void demoModelLoadsWithRandomWeightsLabel()
    {
        QTemporaryDir dir;
        EngineController engine;
        QSignalSpy loaded(engine.document(), &StudioDocument::modelLoaded);
        QSignalSpy finished(&engine, &EngineController::jobFinished);
        engine.makeDemoModel(QStringLiteral("llama-micro"), dir.filePath(QStringLiteral("demo")));
        QVERIFY(waitFinished(finished, 1));
        QCOMPARE(finished.first().at(1).toBool(), true);
        QCOMPARE(loaded.count(), 1);
        const auto s = loaded.first().first().value<ModelSummary>();
        QVERIFY(s.synthetic);
        QCOMPARE(s.config.layers, int64_t(4));
        // What the worker counted in the weights equals the torch-free accounting from config.json.
        QCOMPARE(s.parameters, denseParameterCounts(s.config, archTable(s.config)).total);
    }

    void errorsArriveAsMessagesWithSeverity()
    {
        EngineController engine;
        QSignalSpy messages(&engine, &EngineController::message);
        QSignalSpy finished(&engine, &EngineController::jobFinished);
        engine.loadModel(QStringLiteral("/nonexistent/model-folder"));
        QVERIFY(waitFinished(finished, 1));
        QCOMPARE(finished.first().at(1).toBool(), false);
        QCOMPARE(messages.count(), 1);
        QCOMPARE(messages.first().at(0).toInt(), int(Severity::Error));
        QVERIFY2(messages.first().at(1).toString().contains(QStringLiteral("/nonexistent/model-folder")),
                 qPrintable(messages.first().at(1).toString()));
    }

    void storiesLoadCalibrateCompressNeverStallTheGuiThread()
    {
        BASIS_UI_REQUIRE_SHARED(kStories);
        BASIS_UI_REQUIRE_SHARED(kCalib);
        QTemporaryDir cache;
        EngineController engine;
        QSignalSpy finished(&engine, &EngineController::jobFinished);
        QSignalSpy calibrated(engine.document(), &StudioDocument::calibrated);
        QSignalSpy compressed(engine.document(), &StudioDocument::compressed);
        QSignalSpy progress(&engine, &EngineController::progress);
        uitest::StallMeter meter;
        QElapsedTimer wall;
        wall.start();

        engine.loadModel(QString::fromStdString(uitest::sharedPath(kStories).string()));
        CalibrateOptions setup;
        setup.text = uitest::sharedPath(kCalib);
        setup.samples = 64;
        setup.context = 256;
        setup.cacheDir = cache.filePath(QStringLiteral("calib")).toStdString();
        engine.calibrate(setup);
        CompressionSettings settings;
        settings.ratio = 30;
        settings.groupSize = 2;
        CompressOptions options;
        options.settings = settings;
        engine.compress(options);
        QVERIFY(waitFinished(finished, 3));
        for (const auto& f : finished)
            QVERIFY2(f.at(1).toBool(), qPrintable(f.at(0).toString()));

        QCOMPARE(calibrated.count(), 1);
        const auto cal = calibrated.first().first().value<CalibrationSummary>();
        QCOMPARE(cal.samples, int64_t(64));
        QVERIFY(!cal.reused);
        QVERIFY(std::filesystem::exists(setup.cacheDir / "calibration.json"));
        QVERIFY(progress.count() > 0);

        QCOMPARE(compressed.count(), 1);
        const auto c = compressed.first().first().value<CompressionSummary>();
        const ModelConfig config = parseModelConfig(uitest::sharedPath(kStories) / "config.json");
        const ArchTable table = archTable(config);
        const CompressionPlan plan = planCompression(config, table, settings);
        QCOMPARE(c.modelAfter, plan.modelAfter);
        QCOMPARE(c.targetAfter, plan.targetAfter);
        for (const GroupSummary& g : c.groups)
            QVERIFY(g.energy > 0 && g.energy <= 1.0 + 1e-9);

        qInfo("load + calibrate (64 x 256 tokens) + compress: %lld ms; longest GUI-thread stall %lld ms",
              qint64(wall.elapsed()), meter.longestMs());
        QVERIFY2(meter.longestMs() < 250, qPrintable(QStringLiteral("GUI thread stalled %1 ms").arg(meter.longestMs())));

        // The same setting again reuses the cache.
        engine.calibrate(setup);
        QVERIFY(waitFinished(finished, 4));
        QVERIFY(calibrated.last().first().value<CalibrationSummary>().reused);
    }

    void cancelledCalibrationLeavesNoCacheAndTheGuiResponsive()
    {
        BASIS_UI_REQUIRE_SHARED(kStories);
        BASIS_UI_REQUIRE_SHARED(kCalib);
        QTemporaryDir cache;
        EngineController engine;
        QSignalSpy finished(&engine, &EngineController::jobFinished);
        QSignalSpy messages(&engine, &EngineController::message);
        engine.loadModel(QString::fromStdString(uitest::sharedPath(kStories).string()));
        QVERIFY(waitFinished(finished, 1));

        uitest::StallMeter meter;
        bool cancelSent = false;
        connect(&engine, &EngineController::progress, this, [&](qint64 done, qint64 total, const QString&) {
            // Half-way (or as soon as a report says the job has started collecting), from the GUI thread.
            if (!cancelSent && done > 0 && done < total) {
                cancelSent = true;
                engine.cancel();
            }
        });
        CalibrateOptions setup;
        setup.text = uitest::sharedPath(kCalib);
        setup.samples = 0;   // every chunk: long enough to cancel
        setup.context = 256;
        setup.cacheDir = cache.filePath(QStringLiteral("calib")).toStdString();
        engine.calibrate(setup);
        QVERIFY(waitFinished(finished, 2));
        QVERIFY(cancelSent);
        QCOMPARE(finished.last().at(1).toBool(), false);
        QVERIFY(messages.last().at(1).toString().contains(QStringLiteral("cancelled")));
        QVERIFY(!std::filesystem::exists(setup.cacheDir / "calibration.json"));
        QVERIFY(!std::filesystem::exists(setup.cacheDir / "statistics.safetensors"));
        qInfo("cancelled calibration: longest GUI-thread stall %lld ms", meter.longestMs());
        QVERIFY(meter.longestMs() < 250);

        // The engine thread takes the next job after a cancel.
        engine.calibrate([&] { CalibrateOptions s = setup; s.samples = 4; return s; }());
        QVERIFY(waitFinished(finished, 3));
        QVERIFY(finished.last().at(1).toBool());
    }

    void shutdownDuringAJobCancelsAndJoins()
    {
        BASIS_UI_REQUIRE_SHARED(kStories);
        BASIS_UI_REQUIRE_SHARED(kCalib);
        EngineController engine;
        QSignalSpy finished(&engine, &EngineController::jobFinished);
        QSignalSpy started(&engine, &EngineController::jobStarted);
        engine.loadModel(QString::fromStdString(uitest::sharedPath(kStories).string()));
        CalibrateOptions setup;
        setup.text = uitest::sharedPath(kCalib);
        setup.samples = 0;
        setup.context = 256;
        engine.calibrate(setup);
        engine.calibrate(setup);   // queued behind: must be dropped, not run, at shutdown
        QVERIFY(waitFinished(finished, 1));
        QTRY_COMPARE_WITH_TIMEOUT(started.count(), 2, 30000);
        QElapsedTimer t;
        t.start();
        engine.shutdown();
        qInfo("shutdown during calibration took %lld ms", qint64(t.elapsed()));
        QVERIFY(!engine.isRunning());
        QVERIFY(t.elapsed() < 5000);
        QTest::qWait(100);   // deliver anything the engine thread posted before it ended
        QCOMPARE(started.count(), 2);
    }
};

QTEST_MAIN(TestUiWorker)
#include "test_ui_worker.moc"
