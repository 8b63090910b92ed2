// The compression controls and their live counts on a micro synthetic model: what the window shows equals the
// engine's planCompression over a sweep of settings; YAML configs set the controls and round-trip through export.
#include "calibration_panel.h"
#include "compression_panel.h"
#include "layers_model.h"
#include "layers_view.h"
#include "log_dock.h"
#include "main_window.h"
#include "model_summary_view.h"
#include "plan_summary_view.h"
#include "plan_text.h"
#include "recent_models.h"
#include "config_jobs.h"
#include "synth.h"
#include "ui_test_support.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace basis;
using namespace basis::ui;

class TestUiControls : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;
    std::filesystem::path m_modelDir;
    std::unique_ptr<MainWindow> m_window;
    ModelConfig m_config;
    ArchTable m_table;

    CompressionPanel* panel() const { return m_window->compressionPanel(); }

    void setMethod(const QString& method)
    {
        panel()->methodCombo()->setCurrentIndex(panel()->methodCombo()->findData(method));
    }

    // The window's summary against the engine's plan of the same settings.
    void verifyShows(const CompressionSettings& settings)
    {
        const CompressionPlan plan = planCompression(m_config, m_table, settings);
        PlanSummaryView* view = m_window->planSummary();
        QCOMPARE(view->modelLabel()->text(), beforeAfterText(plan.modelBefore, plan.modelAfter, plan.removedPercentOfModel()));
        QCOMPARE(view->targetLabel()->text(),
                 beforeAfterText(plan.targetBefore, plan.targetAfter, plan.removedPercentOfTarget()));
        // Bytes as stored, from the same plan (float32 here: 4 bytes a weight).
        QVERIFY2(view->sizeLabel()->text().contains(QString::number(double(plan.modelBytesAfter) / 1e6, 'f', 3)) &&
                     view->sizeLabel()->text().contains(QString::number(plan.bitsPerWeight(), 'f', 2)),
                 qPrintable(view->sizeLabel()->text()));
        QTableWidget* table = view->partsTable();
        QCOMPARE(table->rowCount(), int(plan.parts.size()));
        for (int r = 0; r < table->rowCount(); ++r) {
            const PartPlan& p = plan.parts[size_t(r)];
            QCOMPARE(table->item(r, 0)->text(), QString::fromStdString(p.spec->part));
            QCOMPARE(table->item(r, 4)->text(), kList(p));
            QCOMPARE(table->item(r, 6)->text(), formatCount(p.weightsAfter));
        }
        const LiveResult& live = m_window->liveCounts().last();
        QVERIFY(live.ok);
        QCOMPARE(live.plan.modelAfter, plan.modelAfter);
    }

    void writeFile(const QString& path, const QString& text)
    {
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(text.toUtf8());
    }

private slots:
    void initTestCase()
    {
        uitest::sandboxSettings("test_ui_controls");
        m_modelDir = std::filesystem::path(m_tmp.path().toStdString()) / "llama-micro";
        writeSyntheticCheckpoint(synthPreset("llama-micro"), m_modelDir, 0);
        m_config = parseModelConfig(m_modelDir / "config.json");
        m_table = archTable(m_config);
        m_window = std::make_unique<MainWindow>();
        m_window->show();
        QSignalSpy settled(m_window.get(), &MainWindow::modelSettled);
        m_window->openModel(QString::fromStdString(m_modelDir.string()));
        QVERIFY(settled.wait(60000));
        QVERIFY(settled.first().first().toBool());
    }

    void modelSummaryShowsTheShapeAndTheRandomWeights()
    {
        ModelSummaryView* s = m_window->modelSummary();
        QCOMPARE(s->fieldText(QStringLiteral("Layers")), QStringLiteral("4"));
        QCOMPARE(s->fieldText(QStringLiteral("Hidden size")), QStringLiteral("64"));
        QCOMPARE(s->fieldText(QStringLiteral("Parameters")), formatCount(planCompression(m_config, m_table, {}).modelBefore));
        QVERIFY(m_window->logDock()->count(Severity::Warning) >= 1);   // "RANDOM weights" is said in the log too
        QCOMPARE(panel()->groupSpin()->maximum(), 4);
    }

    void liveCountsEqualTheEngine_data()
    {
        QTest::addColumn<QString>("method");
        QTest::addColumn<int>("ratio");
        QTest::addColumn<int>("group");
        for (int ratio : {1, 5, 20, 33, 50, 75, 90})
            for (int g = 1; g <= 4; ++g)
                QTest::addRow("basis-sharing r%d g%d", ratio, g) << QStringLiteral("basis-sharing") << ratio << g;
        for (const char* method : {"svd-llm", "svd"})
            for (int ratio : {10, 40, 80})
                QTest::newRow((QByteArray(method) + " r" + QByteArray::number(ratio)).constData())
                    << QString::fromLatin1(method) << ratio << 3;
    }

    void liveCountsEqualTheEngine()
    {
        QFETCH(QString, method);
        QFETCH(int, ratio);
        QFETCH(int, group);
        setMethod(method);
        panel()->groupSpin()->setValue(group);
        panel()->ratioSlider()->setValue(ratio);   // as a dragged slider does
        QCOMPARE(panel()->ratioSpin()->value(), double(ratio));
        CompressionSettings s;
        s.method = method.toStdString();
        s.ratio = ratio;
        s.groupSize = group;
        verifyShows(s);
        setMethod(QStringLiteral("basis-sharing"));
    }

    void layersTableAddsUpToTheEnginesCounts_data()
    {
        QTest::addColumn<int>("ratio");
        QTest::addColumn<int>("group");
        for (int ratio : {10, 30, 70})
            for (int g : {1, 3, 4})
                QTest::addRow("r%d g%d", ratio, g) << ratio << g;
    }

    void layersTableAddsUpToTheEnginesCounts()
    {
        QFETCH(int, ratio);
        QFETCH(int, group);
        setMethod(QStringLiteral("basis-sharing"));
        panel()->groupSpin()->setValue(group);
        panel()->ratioSlider()->setValue(ratio);
        CompressionSettings s;
        s.ratio = ratio;
        s.groupSize = group;
        const CompressionPlan plan = planCompression(m_config, m_table, s);
        LayersModel* model = m_window->layersView()->model();
        QCOMPARE(model->rowCount(), int(m_config.layers * int64_t(m_table.projections.size())));
        // Per part, the rows' shares (a shared basis split over its group) add up to the plan's weights after.
        for (const PartPlan& p : plan.parts) {
            double after = 0;
            for (const LayerPartRow& r : model->rows())
                if (r.part == QString::fromStdString(p.spec->part)) {
                    after += r.after;
                    if (p.compressed)
                        QVERIFY(r.k > 0);
                }
            QVERIFY2(std::abs(after - double(p.weightsAfter)) < 1e-6,
                     qPrintable(QStringLiteral("%1: %2 vs %3").arg(QString::fromStdString(p.spec->part)).arg(after).arg(p.weightsAfter)));
        }
        const auto perLayer = model->weightsAfterPerLayer();
        QCOMPARE(int64_t(perLayer.size()), m_config.layers);
        // The chart's bars are the per-layer sums: together, every part's weights after.
        double bars = 0, parts = 0;
        for (double v : perLayer)
            bars += v;
        for (const PartPlan& p : plan.parts)
            parts += double(p.weightsAfter);
        QVERIFY(std::abs(bars - parts) < 1e-6);
        QCOMPARE(model->weightsBeforePerLayer().size(), perLayer.size());
    }

    void spinBoxAndPartTogglesUpdateTheCounts()
    {
        panel()->groupSpin()->setValue(2);
        panel()->ratioSpin()->setValue(42);
        QCOMPARE(panel()->ratioSlider()->value(), 42);
        panel()->partCombo(QStringLiteral("o"))->setCurrentIndex(0);      // shared
        panel()->partCombo(QStringLiteral("down"))->setCurrentIndex(2);   // dense
        CompressionSettings s;
        s.ratio = 42;
        s.groupSize = 2;
        s.shared = {"q", "k", "v", "o", "gate", "up"};
        s.privateParts = {};
        // Both lists are needed for a dense part; with none private the engine compresses it: say so.
        QVERIFY(m_window->liveCounts().last().warning.contains(QStringLiteral("down")));
        panel()->partCombo(QStringLiteral("up"))->setCurrentIndex(1);     // private
        s.shared = {"q", "k", "v", "o", "gate"};
        s.privateParts = {"up"};
        verifyShows(s);
        QVERIFY(m_window->liveCounts().last().warning.isEmpty());
        QVERIFY(!m_window->liveCounts().last().plan.part("down")->compressed);
        panel()->setModel(m_config, m_table);   // back to the defaults
    }

    void everyPartDenseIsAnErrorNotTheDefaults()
    {
        for (const ProjectionSpec& p : m_table.projections)
            panel()->partCombo(QString::fromStdString(p.part))->setCurrentIndex(2);
        QVERIFY(!m_window->liveCounts().last().ok);
        QCOMPARE(m_window->planSummary()->partsTable()->rowCount(), 0);
        panel()->setModel(m_config, m_table);
    }

    void oneLiveUpdateKeepsUpWithADraggedSlider()
    {
        QElapsedTimer t;
        qint64 longest = 0, total = 0;
        for (int v = 1; v <= 99; ++v) {
            t.start();
            panel()->ratioSlider()->setValue(v);
            const qint64 ns = t.nsecsElapsed();
            longest = std::max(longest, ns);
            total += ns;
        }
        qInfo("live-count update while dragging (llama-micro, 7 parts x 4 layers): mean %.3f ms, longest %.3f ms; "
              "planCompression alone %.1f us",
              double(total) / 99 / 1e6, double(longest) / 1e6, m_window->liveCounts().last().micros);
        QVERIFY2(longest < 50'000'000, "one live update took 50 ms or more");
    }

    void kTooltipFillsInTheNumbers()
    {
        panel()->groupSpin()->setValue(3);
        panel()->ratioSlider()->setValue(30);
        QTableWidget* table = m_window->planSummary()->partsTable();
        const QString tip = table->item(0, 4)->toolTip();   // q: 64 x 64, a group of 3 and a last group of 1
        const int64_t k3 = rankFor(30, 64, 64, 3);
        QVERIFY2(tip.contains(QStringLiteral("floor((1 − 30/100) · 64 · 64 · 3 / (64 + 3 · 64))")), qPrintable(tip));
        QVERIFY2(tip.contains(QStringLiteral("<b>%1</b>").arg(k3)), qPrintable(tip));
        // The last group of one layer keeps the full group's k (the engine's published rule), and the tooltip says so.
        const CompressionPlan plan = m_window->liveCounts().last().plan;
        QCOMPARE(plan.parts.front().groups.back().k, k3);
        QVERIFY2(tip.contains(QStringLiteral("The last group (1 layer(s)) keeps the full group's k")), qPrintable(tip));
        const QString last = m_window->layersView()->model()->data(
            m_window->layersView()->model()->index(3 * int(m_table.projections.size()), LayersModel::K), Qt::ToolTipRole).toString();
        QVERIFY2(last.contains(QStringLiteral("smaller last group")), qPrintable(last));
    }

    void yamlConfigSetsTheControls()
    {
        const QString calib = m_tmp.filePath(QStringLiteral("calib.txt"));
        writeFile(calib, QStringLiteral("once upon a time"));
        const QString yaml = m_tmp.filePath(QStringLiteral("micro.yaml"));
        writeFile(yaml, QStringLiteral("model_args:\n  model_type: llama\n  group_size: 3\n  compression_ratio: 35\n"
                                       "  context_length: 128\n  share_part: [q, k, v]\n  private_part: [o, down]\n"
                                       "calibration_args:\n  calibration_size: 8\n"
                                       "after_calibration_update_args:\n  update: true\n"
                                       "basis_studio:\n  model_path: llama-micro\n  method: svd-llm\n"
                                       "  calibration_text: calib.txt\n  sampling: random\n  seed: 7\n"));
        QVERIFY(m_window->openConfig(yaml));
        QCOMPARE(panel()->methodCombo()->currentData().toString(), QStringLiteral("svd-llm"));
        QCOMPARE(panel()->groupSpin()->value(), 3);
        QCOMPARE(panel()->ratioSpin()->value(), 35.0);
        QCOMPARE(panel()->ratioSlider()->value(), 35);
        QVERIFY(panel()->updateCheck()->isChecked());
        QCOMPARE(panel()->partCombo(QStringLiteral("q"))->currentIndex(), 0);
        QCOMPARE(panel()->partCombo(QStringLiteral("o"))->currentIndex(), 1);
        QCOMPARE(panel()->partCombo(QStringLiteral("gate"))->currentIndex(), 2);   // in neither list: dense
        const CalibrateOptions cal = m_window->calibrationPanel()->setup();
        QCOMPARE(QString::fromStdString(cal.text.string()), calib);
        QCOMPARE(cal.samples, int64_t(8));
        QCOMPARE(cal.context, int64_t(128));
        QCOMPARE(cal.sampling, std::string("random"));
        QCOMPARE(cal.seed, uint64_t(7));
    }

    void exportThenReopenGivesTheSameSettings()
    {
        panel()->setModel(m_config, m_table);
        setMethod(QStringLiteral("basis-sharing"));
        panel()->groupSpin()->setValue(4);
        panel()->ratioSpin()->setValue(27);
        panel()->partCombo(QStringLiteral("v"))->setCurrentIndex(1);
        panel()->updateCheck()->setChecked(true);
        const CompressionSettings before = panel()->settings();
        const QString yaml = m_tmp.filePath(QStringLiteral("exported.yaml"));
        m_window->calibrationPanel()->textEdit()->clear();
        QVERIFY(!m_window->exportConfig(yaml));   // basis-cli run would refuse it: no calibration text
        QVERIFY(!QFile::exists(yaml));
        const QString calib = m_tmp.filePath(QStringLiteral("calib.txt"));
        writeFile(calib, QStringLiteral("once upon a time"));
        m_window->calibrationPanel()->textEdit()->setText(calib);
        m_window->calibrationPanel()->samplesSpin()->setValue(5);
        QVERIFY(m_window->exportConfig(yaml));

        panel()->setModel(m_config, m_table);   // defaults again
        QVERIFY(panel()->settings().ratio != before.ratio);
        QVERIFY(m_window->openConfig(yaml));
        const CompressionSettings after = panel()->settings();
        QCOMPARE(after.ratio, before.ratio);
        QCOMPARE(after.groupSize, before.groupSize);
        QCOMPARE(after.method, before.method);
        QCOMPARE(after.update, before.update);
        QCOMPARE(after.shared, before.shared);
        QCOMPARE(after.privateParts, before.privateParts);
        QCOMPARE(QString::fromStdString(m_window->calibrationPanel()->setup().text.string()), calib);
        QCOMPARE(m_window->calibrationPanel()->setup().samples, int64_t(5));
    }

    void aConfigThatDoesNotFitIsLoggedAndLeavesTheControls()
    {
        const QString yaml = m_tmp.filePath(QStringLiteral("bad.yaml"));
        writeFile(yaml, QStringLiteral("model_args:\n  group_size: 2\n  compression_ratio: 20\n  share_part: [c_attn]\n"
                                       "basis_studio:\n  model_path: llama-micro\n  method: svd\n"));
        const double ratio = panel()->ratioSpin()->value();
        const int errors = m_window->logDock()->count(Severity::Error);
        QVERIFY(m_window->openConfig(yaml));
        QCOMPARE(m_window->logDock()->count(Severity::Error), errors + 1);
        QCOMPARE(panel()->ratioSpin()->value(), ratio);

        QVERIFY(!m_window->openConfig(m_tmp.filePath(QStringLiteral("missing.yaml"))));
        QCOMPARE(m_window->logDock()->count(Severity::Error), errors + 2);
    }

    void shippedStoriesConfigMapsToTheControls()
    {
        LoadedConfig loaded = loadRunConfig(std::filesystem::path(BASIS_SOURCE_DIR) / "configs/stories260k_share2_30.yaml");
        resolvePaths(loaded.config, std::filesystem::path(BASIS_SOURCE_DIR) / "configs");
        const CompressionSettings s = compressOptionsFrom(loaded.config).settings;
        QCOMPARE(s.groupSize, int64_t(2));
        QCOMPARE(s.ratio, 30.0);
        QCOMPARE(s.shared, (std::vector<std::string>{"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                                     "mlp.up_proj", "mlp.gate_proj"}));
        const CalibrateOptions cal = calibrateOptionsFrom(loaded.config);
        QCOMPARE(cal.dataset, std::string("tinystories"));
        QCOMPARE(cal.batch, int64_t(8));
    }

    void recentModelsAreDeduplicatedAndCapped()
    {
        QTemporaryDir d;
        QStringList list;
        for (int i = 0; i < 12; ++i) {
            const QString dir = d.filePath(QString::number(i));
            QVERIFY(QDir().mkpath(dir));
            list = RecentModels::withAdded(list, dir);
        }
        QCOMPARE(list.size(), RecentModels::kMax);
        QVERIFY(list.first().endsWith(QStringLiteral("/11")));
        list = RecentModels::withAdded(list, d.filePath(QStringLiteral("8/../8")));
        QCOMPARE(list.size(), RecentModels::kMax);
        QVERIFY(list.first().endsWith(QStringLiteral("/8")));
        QCOMPARE(list.filter(QRegularExpression(QStringLiteral("/8$"))).size(), 1);
    }

    void cleanupTestCase()
    {
        m_window->close();
        m_window.reset();
    }
};

QTEST_MAIN(TestUiControls)
#include "test_ui_controls.moc"
