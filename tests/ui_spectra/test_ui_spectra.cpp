// The Spectra and Heatmaps tabs on the real stories260K model, offscreen: after a small calibration through the
// window (engine thread), the cut drawn is the live plan's k, the energy shown is EnergyTable's, the heatmap cells
// are the plan's energies, the mask keeps k components per row, and all of it follows the controls. An overlay
// group size without spectra is computed on the engine thread when ticked.
// Set BASIS_UI_SHOTS=DIR to keep screenshots of both tabs.
#include "calibration_panel.h"
#include "compression_panel.h"
#include "energy_table.h"
#include "engine_controller.h"
#include "studio_document.h"
#include "heatmap_view.h"
#include "main_window.h"
#include "spectra_view.h"
#include "ui_test_support.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTest>

#include <cmath>
#include <memory>

using namespace basis;
using namespace basis::ui;

namespace {

const std::string kStories = "models/stories260K/hf";
const std::string kCalib = "data/tinystories-valid/calib.txt";

using uitest::shared;

void maybeShoot(QWidget* w, const QString& name)
{
    const QByteArray dir = qgetenv("BASIS_UI_SHOTS");
    if (!dir.isEmpty())
        w->grab().save(QString::fromLocal8Bit(dir) + QLatin1Char('/') + name);
}

} // namespace

class TestUiSpectra : public QObject {
    Q_OBJECT
    std::unique_ptr<MainWindow> m_window;

    const PlanCut plan() const { return planCut(m_window->liveCounts().last().plan); }

    // Every part and group of the Spectra tab: the cut line is at the plan's k, its label shows EnergyTable's energy.
    void checkSpectra()
    {
        MainWindow& w = *m_window;
        SpectraView* v = w.spectraView();
        const PlanCut p = plan();
        QCOMPARE(v->partCombo()->count(), int(p.parts.size()));
        int checked = 0;
        for (size_t pi = 0; pi < p.parts.size(); ++pi) {
            v->partCombo()->setCurrentIndex(int(pi));
            const PartCut& part = p.parts[pi];
            if (!part.compressed)
                continue;
            QCOMPARE(v->groupCombo()->count(), int(part.groups.size()));
            for (size_t gi = 0; gi < part.groups.size(); ++gi) {
                v->groupCombo()->setCurrentIndex(int(gi));
                const int64_t k = part.groups[gi].k;
                const auto e = w.energyTable().energy(part.groupSize, part.part, int64_t(gi), k);
                QVERIFY(e);
                QCOMPARE(v->shownK(), k);
                QCOMPARE(v->kLineX(), double(k));
                QCOMPARE(v->shownEnergy(), *e);
                QCOMPARE(v->kLineLabel(), QStringLiteral("k = %1, energy kept %2 %").arg(k).arg(100.0 * *e, 0, 'f', 1));
                // The current curve is the group's spectrum as the engine computed it.
                QCPGraph* s = v->singularValuesGraph(part.groupSize);
                QVERIFY(s);
                const std::vector<double>* values = w.energyTable().singularValues(part.groupSize, part.part, int64_t(gi));
                QVERIFY(values);
                QCOMPARE(s->data()->size(), int(values->size()));
                QCOMPARE(s->data()->at(0)->value, (*values)[0]);
                ++checked;
            }
        }
        QVERIFY(checked > 0);
    }

    // Energy heatmap cell (part, layer) = the plan's energy of that layer's group; mask rows keep k components.
    void checkHeatmaps()
    {
        MainWindow& w = *m_window;
        HeatmapView* h = w.heatmapView();
        QVERIFY(h->upToDate());
        const CompressionPlan& live = w.liveCounts().last().plan;
        const auto energies = w.energyTable().energies(live);
        QVERIFY(energies);
        const PlanCut p = plan();
        QCOMPARE(h->energyMap()->data()->keySize(), int(p.parts.size()));
        QCOMPARE(h->energyMap()->data()->valueSize(), int(p.layers));
        for (size_t pi = 0; pi < p.parts.size(); ++pi) {
            const PartCut& part = p.parts[pi];
            for (int64_t layer = 0; layer < p.layers; ++layer) {
                const double cell = h->energyMap()->data()->cell(int(pi), int(layer));
                if (!part.compressed) {
                    QVERIFY(std::isnan(cell));
                    continue;
                }
                const int64_t g = part.groupOf(layer);
                const double e = (*energies)[pi][size_t(g)];
                QCOMPARE(cell, 100.0 * e);
                const QString tip = h->energyCellText(layer, int(pi));
                const QString want = QStringLiteral("layer %1, %2: %3 %")
                                         .arg(layer)
                                         .arg(QString::fromStdString(part.part))
                                         .arg(100.0 * e, 0, 'f', 1);
                QVERIFY2(tip.startsWith(want) && tip.contains(QStringLiteral("k = %1").arg(part.groups[size_t(g)].k)),
                         qPrintable(tip));
            }
        }
        int rows = 0;
        for (size_t r = 0; r < h->maskRows().size(); ++r) {
            const HeatmapView::MaskRow& row = h->maskRows()[r];
            const PartCut* part = nullptr;
            for (const PartCut& c : p.parts)
                if (c.part == row.part)
                    part = &c;
            QVERIFY(part && part->compressed);
            QCOMPARE(row.k, part->groups[size_t(part->groupOf(row.layer))].k);
            const std::vector<double>* s = w.energyTable().singularValues(part->groupSize, row.part, row.group);
            QVERIFY(s);
            QCOMPARE(row.length, int64_t(s->size()));
            int kept = 0, dropped = 0;
            for (int x = 0; x < h->keptMap()->data()->keySize(); ++x) {
                kept += !std::isnan(h->keptMap()->data()->cell(x, int(r)));
                dropped += !std::isnan(h->droppedMap()->data()->cell(x, int(r)));
            }
            QCOMPARE(int64_t(kept), row.k);
            QCOMPARE(int64_t(kept + dropped), row.length);
            ++rows;
        }
        int compressedParts = 0;
        for (const PartCut& c : p.parts)
            compressedParts += c.compressed;
        QCOMPARE(rows, int(compressedParts * p.layers));
    }

private slots:
    void initTestCase()
    {
        uitest::sandboxSettings("test_ui_spectra");
        BASIS_UI_REQUIRE_SHARED(kStories);
        BASIS_UI_REQUIRE_SHARED(kCalib);
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1600, 1000);
        m_window->show();
        MainWindow& w = *m_window;
        QSignalSpy settled(&w, &MainWindow::modelSettled);
        w.openModel(shared(kStories));
        QVERIFY(settled.wait(60000));
        QVERIFY(settled.first().first().toBool());
        QVERIFY(w.tabNames().contains(QStringLiteral("spectra")));
        QVERIFY(w.tabNames().contains(QStringLiteral("heatmaps")));

        // A small calibration (16 chunks of 64 tokens) through the window, on the engine thread.
        w.calibrationPanel()->textEdit()->setText(shared(kCalib));
        w.calibrationPanel()->samplesSpin()->setValue(16);
        w.calibrationPanel()->contextSpin()->setValue(64);
        w.compressionPanel()->groupSpin()->setValue(2);
        w.compressionPanel()->ratioSlider()->setValue(30);
        QElapsedTimer t;
        t.start();
        w.calibrate();
        // The window then asks for the spectra of group sizes 1 and 2 by itself.
        QTRY_VERIFY_WITH_TIMEOUT(w.energyTable().has(1) && w.energyTable().has(2) && !w.engine()->isBusy(), 60000);
        qInfo("calibration (16 x 64 tokens) and spectra for g = 1, 2: %lld ms", qint64(t.elapsed()));
    }

    void spectraCutIsThePlansK()
    {
        QVERIFY(m_window->showTab(QStringLiteral("spectra")));
        checkSpectra();
        // Group size 1 and the current one are drawn for the chosen part.
        SpectraView* v = m_window->spectraView();
        v->partCombo()->setCurrentIndex(0);
        v->groupCombo()->setCurrentIndex(1);   // layers 2-3 at g = 2
        QVERIFY(v->singularValuesGraph(1) && v->singularValuesGraph(2));
        QVERIFY(v->comparisonLabel()->text().contains(QStringLiteral("g = 1")));
    }

    void tickingAGroupSizeComputesItsSpectraOnTheEngineThread()
    {
        MainWindow& w = *m_window;
        QVERIFY(w.showTab(QStringLiteral("spectra")));
        SpectraView* v = w.spectraView();
        QVERIFY(!w.energyTable().has(4));
        QSignalSpy spectra(w.document(), &StudioDocument::spectraReady);
        QListWidgetItem* four = nullptr;
        for (int i = 0; i < v->sizesList()->count(); ++i)
            if (v->sizesList()->item(i)->data(Qt::UserRole).toLongLong() == 4)
                four = v->sizesList()->item(i);
        QVERIFY(four);
        four->setCheckState(Qt::Checked);
        QVERIFY(spectra.wait(60000));
        QTRY_VERIFY_WITH_TIMEOUT(w.energyTable().has(4) && !w.engine()->isBusy(), 30000);
        // Drawn for the group of 4 holding the chosen first layer.
        v->partCombo()->setCurrentIndex(0);
        v->groupCombo()->setCurrentIndex(0);
        QCPGraph* g4 = v->singularValuesGraph(4);
        QVERIFY(g4);
        const auto* s4 = w.energyTable().singularValues(4, v->partCombo()->currentText().toStdString(), 0);
        QVERIFY(s4);
        QCOMPARE(g4->data()->size(), int(s4->size()));
        QCOMPARE(g4->data()->at(int(s4->size()) - 1)->value, s4->back());
        QVERIFY(v->missingGroupSizes().empty());
        v->groupCombo()->setCurrentIndex(1);   // layers 2-3: g = 1, 2 (current) and 4 drawn
        QCOMPARE(v->drawnGroupSizes(), (std::vector<int64_t>{1, 2, 4}));
        QTest::qWait(50);
        maybeShoot(m_window.get(), QStringLiteral("spectra.png"));
    }

    void heatmapsAreThePlansEnergiesAndCuts()
    {
        QVERIFY(m_window->showTab(QStringLiteral("heatmaps")));
        checkHeatmaps();
        QTest::qWait(50);
        maybeShoot(m_window.get(), QStringLiteral("heatmaps.png"));
        if (!qgetenv("BASIS_UI_SHOTS").isEmpty()) {
            // Tooltips are not in window grabs: render the hover texts of one cell of each map as they would show.
            HeatmapView* h = m_window->heatmapView();
            QLabel tip(h->energyCellText(2, 0) + QStringLiteral("\n\n") + h->maskCellText(2, 5));
            tip.setWordWrap(true);
            tip.setFixedWidth(620);
            tip.setStyleSheet(QStringLiteral("background: #ffffdc; padding: 6px;"));
            tip.adjustSize();
            maybeShoot(&tip, QStringLiteral("heatmap-tooltip.png"));
        }
    }

    void changingTheControlsUpdatesBothTabs()
    {
        MainWindow& w = *m_window;
        const int64_t kBefore = plan().parts[0].groups[0].k;
        w.compressionPanel()->ratioSlider()->setValue(55);
        QCOMPARE(w.liveCounts().last().plan.settings.ratio, 55.0);
        QVERIFY(plan().parts[0].groups[0].k < kBefore);
        QVERIFY(w.showTab(QStringLiteral("heatmaps")));
        checkHeatmaps();
        QVERIFY(w.showTab(QStringLiteral("spectra")));
        checkSpectra();

        // Group size 4 has its spectra already (ticked above): no engine job is needed to follow it.
        w.compressionPanel()->groupSpin()->setValue(4);
        QCOMPARE(w.liveCounts().last().plan.settings.groupSize, int64_t(4));
        QVERIFY(!w.engine()->isBusy());
        checkSpectra();
        QVERIFY(w.showTab(QStringLiteral("heatmaps")));
        checkHeatmaps();
    }

    // What the window does on the GUI thread when spectra arrive (table update, live counts, both tabs), with the
    // tabs hidden as during a calibration: the engine's own signal, re-emitted with the spectra it sent.
    void spectraArrivalCostOnTheGuiThread()
    {
        MainWindow& w = *m_window;
        QVERIFY(w.showTab(QStringLiteral("compression")));
        SpectraSummary again;
        for (int64_t g : w.energyTable().groupSizes())
            for (const PartCut& part : plan().parts)
                for (int64_t i = 0; i < (plan().layers + g - 1) / g; ++i)
                    if (const auto* s = w.energyTable().singularValues(g, part.part, i))
                        again.values[{g, part.part, i}] = *s;
        QVERIFY(!again.values.empty());
        QElapsedTimer t;
        t.start();
        w.document()->addSpectra(again);
        const double ms = double(t.nsecsElapsed()) / 1e6;
        qInfo("spectra arrival (%zu spectra) handled on the GUI thread in %.2f ms", again.values.size(), ms);
        QVERIFY(ms < 250);
    }

    // What one control change costs on the GUI thread with each tab in front (live counts + that tab's redraw).
    void liveUpdateTimes()
    {
        MainWindow& w = *m_window;
        for (const QString& tab : {QStringLiteral("spectra"), QStringLiteral("heatmaps")}) {
            QVERIFY(w.showTab(tab));
            QElapsedTimer t;
            t.start();
            int steps = 0;
            for (int r = 20; r <= 60; r += 2, ++steps) {
                w.compressionPanel()->ratioSlider()->setValue(r);
                QCoreApplication::processEvents();   // the queued replot
            }
            qInfo("%s tab in front: %.2f ms per ratio step (live counts, redraw, replot)", qPrintable(tab),
                  double(t.nsecsElapsed()) / 1e6 / steps);
            QCustomPlot* plot = tab == QStringLiteral("spectra") ? w.spectraView()->plot() : w.heatmapView()->maskPlot();
            t.restart();
            for (int i = 0; i < 10; ++i)
                plot->replot();
            qInfo("  of which one replot: %.2f ms", double(t.nsecsElapsed()) / 1e6 / 10);
            t.restart();
            for (int i = 0; i < 10; ++i)
                w.compressionPanel()->ratioSlider()->setValue(30 + i);
            qInfo("  without processing events: %.2f ms", double(t.nsecsElapsed()) / 1e6 / 10);
        }
    }

    void cleanupTestCase() { m_window.reset(); }
};

QTEST_MAIN(TestUiSpectra)
#include "test_ui_spectra.moc"
