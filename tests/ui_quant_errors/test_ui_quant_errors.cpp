// The Errors tab of the quantizing methods on the real stories260K model, offscreen: after a small calibration and
// a caldera compression through the window (engine thread), every cell of the table is the relative H-error the
// engine's compressModel computes for that projection and iteration (reference.cpp, called directly), the kept
// column is its best iterate, the plot is the chosen row's errors, and bits, Q step and iterations change them.
// Set BASIS_UI_SHOTS=DIR to keep a screenshot of the tab.
#include "calibration_panel.h"
#include "compression_panel.h"
#include "engine_controller.h"
#include "main_window.h"
#include "method_settings_box.h"
#include "quant_errors_view.h"
#include "reference.h"
#include "studio_document.h"
#include "ui_test_support.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
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

class TestUiQuantErrors : public QObject {
    Q_OBJECT
    std::unique_ptr<MainWindow> m_window;

    MethodSettingsBox* box() const { return m_window->compressionPanel()->methodSettings(); }

    void compressThroughTheWindow()
    {
        MainWindow& w = *m_window;
        QSignalSpy compressed(w.document(), &StudioDocument::compressed);
        w.compress();
        QVERIFY(compressed.wait(120000));
        QTRY_VERIFY_WITH_TIMEOUT(!w.engine()->isBusy(), 30000);
        // A quantizer's status line counts bytes as stored (its parameter count barely moves).
        const std::string m = w.compressionPanel()->settings().method;
        if (m == "caldera" || m == "rtn" || m == "gptq")
            QVERIFY2(w.compressStatus()->text().contains(QStringLiteral("bytes as stored")) &&
                     w.compressStatus()->text().contains(QStringLiteral("bits per weight")),
                 qPrintable(w.compressStatus()->text()));
    }

    // Every row and cell against the engine's own errors for the panel's settings; returns the iterations shown.
    void checkTable()
    {
        MainWindow& w = *m_window;
        const CompressionSettings settings = w.compressionPanel()->settings();
        const auto ref = uitest::referenceQuantErrors(uitest::sharedPath(kStories), w.calibrationPanel()->setup(), settings);
        QTableWidget* t = w.quantErrorsView()->table();
        QCOMPARE(t->rowCount(), int(ref.size()));
        QCOMPARE(t->columnCount(), 3 + int(settings.quant.iters));
        for (int row = 0; row < t->rowCount(); ++row) {
            const std::string part = t->item(row, 0)->text().toStdString();
            const int64_t layer = t->item(row, 1)->data(Qt::UserRole).toLongLong();
            const auto it = ref.find({part, layer});
            QVERIFY2(it != ref.end(), qPrintable(QStringLiteral("%1 layer %2").arg(QString::fromStdString(part)).arg(layer)));
            const uitest::ReferenceErrors& r = it->second;
            QCOMPARE(int64_t(r.errors.size()), settings.quant.iters);
            QCOMPARE(t->item(row, 2)->data(Qt::UserRole).toLongLong(), r.best);
            for (size_t i = 0; i < r.errors.size(); ++i) {
                const double shown = t->item(row, 3 + int(i))->data(Qt::UserRole).toDouble();
                QVERIFY2(std::abs(shown - r.errors[i]) <= 1e-9 * r.errors[i],
                         qPrintable(QStringLiteral("%1 layer %2 iter %3: %4 vs %5")
                                        .arg(QString::fromStdString(part)).arg(layer).arg(i + 1).arg(shown).arg(r.errors[i])));
                QVERIFY(r.errors[size_t(r.best)] <= r.errors[i]);   // the kept iterate is the smallest
            }
        }
    }

private slots:
    void initTestCase()
    {
        uitest::sandboxSettings("test_ui_quant_errors");
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
        QVERIFY(w.tabNames().contains(QStringLiteral("errors")));
        QCOMPARE(w.quantErrorsView()->table()->rowCount(), 0);

        w.calibrationPanel()->textEdit()->setText(shared(kCalib));
        w.calibrationPanel()->samplesSpin()->setValue(16);
        w.calibrationPanel()->contextSpin()->setValue(64);
        QComboBox* method = w.compressionPanel()->methodCombo();
        method->setCurrentIndex(method->findData(QStringLiteral("caldera")));
        box()->bitsCombo()->setCurrentIndex(box()->bitsCombo()->findText(QStringLiteral("4")));
        box()->rankSpin()->setValue(4);
        box()->itersSpin()->setValue(3);
        box()->qStepCombo()->setCurrentIndex(box()->qStepCombo()->findText(QStringLiteral("rtn")));
        const CompressionSettings s = w.compressionPanel()->settings();
        QCOMPARE(s.quant.bits, int64_t(4));
        QCOMPARE(s.quant.rank, int64_t(4));
        QCOMPARE(s.quant.iters, int64_t(3));
        compressThroughTheWindow();   // calibrates first, then compresses
    }

    void tableIsTheEnginesErrors()
    {
        QVERIFY(m_window->showTab(QStringLiteral("errors")));
        QCOMPARE(m_window->quantErrorsView()->table()->rowCount(), 35);   // 5 layers x 7 parts
        checkTable();
    }

    // Choosing a row plots that projection's errors against the iteration, the kept one marked.
    void plotFollowsTheChosenRow()
    {
        QuantErrorsView* v = m_window->quantErrorsView();
        for (int row : {0, 17, 34}) {
            v->table()->setCurrentCell(row, 0);
            QCOMPARE(v->shownRow(), row);
            QCOMPARE(v->errorGraph()->data()->size(), v->table()->columnCount() - 3);
            for (int i = 0; i < v->errorGraph()->data()->size(); ++i) {
                QCOMPARE(v->errorGraph()->data()->at(i)->key, double(i + 1));
                QCOMPARE(v->errorGraph()->data()->at(i)->value, v->table()->item(row, 3 + i)->data(Qt::UserRole).toDouble());
            }
            const int64_t best = v->table()->item(row, 2)->data(Qt::UserRole).toLongLong();
            QCOMPARE(v->keptGraph()->data()->size(), 1);
            QCOMPARE(v->keptGraph()->data()->at(0)->key, double(best + 1));
        }
        v->table()->setCurrentCell(17, 0);
        QTest::qWait(50);
        maybeShoot(m_window.get(), QStringLiteral("caldera_errors.png"));
    }

    // Bits, Q step and iterations reach the engine: the table changes and is again the engine's.
    void controlsChangeTheErrors()
    {
        QTableWidget* t = m_window->quantErrorsView()->table();
        const double before = t->item(0, 3)->data(Qt::UserRole).toDouble();
        box()->bitsCombo()->setCurrentIndex(box()->bitsCombo()->findText(QStringLiteral("2")));
        box()->itersSpin()->setValue(2);
        box()->qStepCombo()->setCurrentIndex(box()->qStepCombo()->findText(QStringLiteral("ldlq")));
        compressThroughTheWindow();
        QCOMPARE(t->columnCount(), 3 + 2);
        QVERIFY(t->item(0, 3)->data(Qt::UserRole).toDouble() > before);   // 2 bits err more than 4
        checkTable();
    }

    // A method without iterations says so and shows no stale rows.
    void otherMethodsEmptyTheTable()
    {
        QComboBox* method = m_window->compressionPanel()->methodCombo();
        method->setCurrentIndex(method->findData(QStringLiteral("svd")));
        compressThroughTheWindow();
        QCOMPARE(m_window->quantErrorsView()->table()->rowCount(), 0);
        QVERIFY(m_window->quantErrorsView()->statusLabel()->text().contains(QStringLiteral("svd")));
    }

    void cleanupTestCase() { m_window.reset(); }
};

QTEST_MAIN(TestUiQuantErrors)
#include "test_ui_quant_errors.moc"
