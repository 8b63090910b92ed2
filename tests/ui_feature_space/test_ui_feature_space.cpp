// The feature-space views on the real stories260K model, offscreen: after a small calibration through the window
// (engine thread), the Utilization tab's cells and MLU and the Spectra tab's curves and cut are the numbers
// computed here by brute force (reference.cpp: eigenvalues of W G W^T, of W C_x W^T for sfsd, and the energy rank
// counted one by one), and they follow the method, energy, policy, part and layer controls. The Rank search tab
// starts, streams, cancels, resumes and applies the engine's search.
// Set BASIS_UI_SHOTS=DIR to keep screenshots of the tabs.
#include "calibration_panel.h"
#include "compression_panel.h"
#include "engine_controller.h"
#include "feature_spectra_view.h"
#include "main_window.h"
#include "method_settings_box.h"
#include "plan_summary_view.h"
#include "plan_text.h"
#include "rank_search_view.h"
#include "reference.h"
#include "studio_document.h"
#include "ui_test_support.h"
#include "utilization_view.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QPushButton>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTest>

#include <cmath>
#include <memory>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

using namespace basis;
using namespace basis::ui;

namespace {

const std::string kStories = "models/stories260K/hf";
const std::string kCalib = "data/tinystories-valid/calib.txt";
const std::vector<std::string> kParts = {"q", "k", "v", "o", "gate", "up", "down"};

using uitest::shared;

void maybeShoot(QWidget* w, const QString& name)
{
    const QByteArray dir = qgetenv("BASIS_UI_SHOTS");
    if (!dir.isEmpty())
        w->grab().save(QString::fromLocal8Bit(dir) + QLatin1Char('/') + name);
}

using Reference = std::map<std::pair<int64_t, std::string>, uitest::ReferenceProjection>;

} // namespace

class TestUiFeatureSpace : public QObject {
    Q_OBJECT
    std::unique_ptr<MainWindow> m_window;

    MethodSettingsBox* box() const { return m_window->compressionPanel()->methodSettings(); }

    void choose(const std::string& name)
    {
        QComboBox* c = m_window->compressionPanel()->methodCombo();
        c->setCurrentIndex(c->findData(QString::fromStdString(name)));
        QCOMPARE(m_window->compressionPanel()->settings().method, name);
    }

    // The engine's answer for the panel's current setting has arrived and nothing else is queued.
    void waitForFeatureSpace()
    {
        MainWindow& w = *m_window;
        const CompressionSettings want = w.compressionPanel()->settings();
        QTRY_VERIFY_WITH_TIMEOUT(!w.engine()->isBusy() && w.document()->featureSpace() &&
                                     w.document()->featureSpace()->settings.method == want.method &&
                                     w.document()->featureSpace()->settings.featureSpace.energy == want.featureSpace.energy &&
                                     w.document()->featureSpace()->settings.featureSpace.policy == want.featureSpace.policy &&
                                     w.document()->featureSpace()->settings.featureSpace.ranksFile == want.featureSpace.ranksFile,
                                 60000);
        QTRY_VERIFY_WITH_TIMEOUT(!w.engine()->isBusy(), 60000);   // a spectra job may follow a method change
    }

    // Once the engine has resolved the energy ranks, the live counts are exact: every projection at its brute-force
    // energy rank r costs r (m + d), or stays dense (m d) where that does not pay.
    void checkLiveCounts(const Reference& ref)
    {
        const LiveResult& live = m_window->liveCounts().last();
        QVERIFY2(live.ok, qPrintable(live.error));
        int64_t before = 0, after = 0;
        for (const auto& [key, r] : ref) {
            before += r.m * r.d;
            after += r.energyRank * (r.m + r.d) < r.m * r.d ? r.energyRank * (r.m + r.d) : r.m * r.d;
        }
        QCOMPARE(live.plan.targetBefore, before);
        QCOMPARE(live.plan.targetAfter, after);
        QVERIFY(m_window->planSummary()->targetLabel()->text().contains(formatCount(after)));
    }

    // Every cell of the Utilization map is the brute-force energy rank over min(m, d); the MLU is their mean.
    void checkUtilization(const Reference& ref)
    {
        UtilizationView* u = m_window->utilizationView();
        const FeatureSpaceSummary& s = *m_window->document()->featureSpace();
        QCOMPARE(s.parts, kParts);
        QCOMPARE(u->map()->data()->keySize(), int(kParts.size()));
        QCOMPARE(u->map()->data()->valueSize(), int(s.layers));
        double sum = 0;
        for (size_t x = 0; x < kParts.size(); ++x)
            for (int64_t layer = 0; layer < s.layers; ++layer) {
                const uitest::ReferenceProjection& r = ref.at({layer, kParts[x]});
                const double want = double(r.energyRank) / double(std::min(r.m, r.d));
                sum += want;
                QCOMPARE(u->map()->data()->cell(int(x), int(layer)), 100.0 * want);
                QVERIFY2(u->cellText(layer, int(x)).contains(QStringLiteral("r = %1 of").arg(r.energyRank)) ||
                             u->cellText(layer, int(x)).contains(QStringLiteral("chosen %1").arg(r.energyRank)),
                         qPrintable(u->cellText(layer, int(x))));
            }
        const double mlu = sum / double(kParts.size() * size_t(s.layers));
        QVERIFY(std::abs(s.mlu - mlu) < 1e-12);
        QVERIFY2(u->mluLabel()->text().contains(QStringLiteral("MLU) %1 %").arg(100.0 * mlu, 0, 'f', 1)),
                 qPrintable(u->mluLabel()->text()));
    }

    // The Spectra tab, for each part at layers 0 and the last: curves are the brute-force eigenvalues as shares of
    // their totals (1e-9 of the largest share), the cut is at the summary's rank (the energy rank when no policy).
    void checkSpectra(const Reference& ref, bool policyIsUniform)
    {
        MainWindow& w = *m_window;
        FeatureSpectraView* v = w.featureSpectraView();
        const FeatureSpaceSummary& s = *w.document()->featureSpace();
        QCOMPARE(v->partCombo()->count(), int(kParts.size()));
        for (size_t pi = 0; pi < kParts.size(); ++pi)
            for (int64_t layer : {int64_t(0), s.layers - 1}) {
                v->partCombo()->setCurrentIndex(int(pi));
                v->layerSpin()->setValue(int(layer));
                const FeatureProjection* shown = v->shown();
                QVERIFY(shown);
                QCOMPARE(shown->part, kParts[pi]);
                QCOMPARE(shown->layer, layer);
                const uitest::ReferenceProjection& r = ref.at({layer, kParts[pi]});
                for (auto [graph, values] : {std::pair{v->outputGraph(), &r.output}, std::pair{v->inputGraph(), &r.input}}) {
                    QCOMPARE(graph->data()->size(), int(values->size()));
                    const double total = std::accumulate(values->begin(), values->end(), 0.0);
                    for (int i = 0; i < graph->data()->size(); ++i) {
                        const double want = (*values)[size_t(i)] / total;
                        const double got = graph->data()->at(i)->value;
                        if (std::isnan(got))   // a zero eigenvalue, left out of the log axis
                            QVERIFY(want < 1e-12);
                        else
                            QVERIFY2(std::abs(got - want) < 1e-9, qPrintable(QStringLiteral("%1 vs %2").arg(got).arg(want)));
                    }
                }
                QCOMPARE(shown->chosen, r.energyRank);
                if (policyIsUniform)
                    QCOMPARE(v->cutX(), double(r.energyRank));
                QCOMPARE(v->cutX(), double(shown->rank));
                QVERIFY2(v->cutLabel().startsWith(QStringLiteral("r = %1 of min(m, d) = %2").arg(shown->rank).arg(std::min(r.m, r.d))),
                         qPrintable(v->cutLabel()));
            }
    }

    Reference reference(const std::string& method, double energy)
    {
        return uitest::referenceFeatureSpace(uitest::sharedPath(kStories), m_window->calibrationPanel()->setup(), method,
                                             energy, kParts);
    }

private slots:
    void initTestCase()
    {
        uitest::sandboxSettings("test_ui_feature_space");
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
        QVERIFY(w.tabNames().contains(QStringLiteral("utilization")));
        // Before any calibration the views say what they need.
        choose("utilized");
        QVERIFY(!w.document()->featureSpace());
        QVERIFY(w.utilizationView()->mluLabel()->text().contains(QStringLiteral("–")));

        w.calibrationPanel()->textEdit()->setText(shared(kCalib));
        w.calibrationPanel()->samplesSpin()->setValue(16);
        w.calibrationPanel()->contextSpin()->setValue(64);
        box()->energySpin()->setValue(0.95);
        w.calibrate();
        waitForFeatureSpace();   // asked for by the window itself once the calibration has finished
    }

    void utilizedViewsAreTheBruteForceNumbers()
    {
        const Reference ref = reference("utilized", 0.95);
        QVERIFY(m_window->showTab(QStringLiteral("utilization")));
        checkUtilization(ref);
        QTest::qWait(50);
        maybeShoot(m_window.get(), QStringLiteral("utilization.png"));
        QVERIFY(m_window->showTab(QStringLiteral("spectra")));
        checkSpectra(ref, true);
        FeatureSpectraView* v = m_window->featureSpectraView();
        v->partCombo()->setCurrentIndex(int(std::find(kParts.begin(), kParts.end(), "up") - kParts.begin()));
        v->layerSpin()->setValue(2);
        QTest::qWait(50);
        maybeShoot(m_window.get(), QStringLiteral("spectra_feature_space.png"));
    }

    // The energy control moves every rank; the engine's new answer is the brute force at the new energy.
    void energyControlMovesTheRanks()
    {
        box()->energySpin()->setValue(0.90);
        waitForFeatureSpace();
        const Reference ref = reference("utilized", 0.90);
        const Reference before = reference("utilized", 0.95);
        int64_t smaller = 0;
        for (const auto& [key, r] : ref)
            smaller += r.energyRank < before.at(key).energyRank;
        QVERIFY(smaller > 0);
        checkUtilization(ref);
        checkSpectra(ref, true);
        checkLiveCounts(ref);
    }

    // A policy leaves the utilization (the chosen rank) alone and moves the cut to the policy's rank.
    void policyMovesTheCutNotTheUtilization()
    {
        box()->policyCombo()->setCurrentIndex(box()->policyCombo()->findText(QStringLiteral("qkv_heavier")));
        QCOMPARE(m_window->compressionPanel()->settings().featureSpace.policy, std::string("qkv_heavier"));
        waitForFeatureSpace();
        const Reference ref = reference("utilized", 0.90);
        checkUtilization(ref);
        checkSpectra(ref, false);
        FeatureSpectraView* v = m_window->featureSpectraView();
        v->partCombo()->setCurrentIndex(0);   // q: x 1.25
        v->layerSpin()->setValue(0);
        const int64_t r = ref.at({0, "q"}).energyRank;
        QCOMPARE(v->cutX(), double(std::max<int64_t>(1, std::llround(double(r) * 1.25))));
        box()->policyCombo()->setCurrentIndex(box()->policyCombo()->findText(QStringLiteral("uniform")));
        waitForFeatureSpace();
    }

    // sfsd reads the centred covariances: output C_y = W C_x W^T, input C_x.
    void sfsdShowsTheCentredSpectra()
    {
        choose("sfsd");
        box()->rankRuleCombo()->setCurrentIndex(0);   // by energy
        box()->energySpin()->setValue(0.95);
        waitForFeatureSpace();
        const Reference ref = reference("sfsd", 0.95);
        QVERIFY(m_window->showTab(QStringLiteral("spectra")));
        checkSpectra(ref, true);
        checkUtilization(ref);
        QVERIFY(m_window->featureSpectraView()->outputGraph()->name().contains(QStringLiteral("C_y")));
    }

    // Basis Sharing is not a feature-space method: the Spectra tab is its own again, Utilization says why.
    void otherMethodsShowTheirOwnSpectra()
    {
        choose("basis-sharing");
        QVERIFY(m_window->showTab(QStringLiteral("spectra")));
        QVERIFY(!m_window->featureSpectraView()->isVisible());
        QVERIFY(m_window->utilizationView()->mluLabel()->text().contains(QStringLiteral("–")));
        choose("utilized");
        QVERIFY(m_window->featureSpectraView()->isVisible());
        waitForFeatureSpace();
    }


    // Start streams trials into the table and plot; Cancel stops the engine; Start again resumes from the log and
    // ends with the ranks of an uninterrupted search; Apply puts the ranks file in the Method box.
    void rankSearchStartCancelResumeApply()
    {
        MainWindow& w = *m_window;
        QVERIFY(w.showTab(QStringLiteral("rank search")));
        RankSearchView* v = w.rankSearchView();
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString out = dir.filePath(QStringLiteral("ranks.json"));
        v->methodCombo()->setCurrentIndex(v->methodCombo()->findData(QStringLiteral("sfsd")));
        v->deltaSpin()->setValue(0.01);
        v->tokensSpin()->setValue(2048);
        v->startLayerSpin()->setValue(3);
        v->outEdit()->setText(out);
        v->restartCheck()->setChecked(true);
        const SearchOptions o = v->options();
        QCOMPARE(o.method, std::string("sfsd"));
        QCOMPARE(o.searchTokens, int64_t(2048));
        QCOMPARE(o.startLayer, int64_t(3));
        QCOMPARE(o.out.string(), out.toStdString());

        QSignalSpy trials(w.document(), &StudioDocument::searchTrial);
        QSignalSpy finished(w.engine(), &EngineController::jobFinished);
        const QMetaObject::Connection canceller = QObject::connect(w.document(), &StudioDocument::searchTrial, v, [v, &trials] {
            if (trials.count() == 2)
                v->cancelButton()->click();
        });
        v->startButton()->click();
        auto searchEnded = [&finished]() -> int {   // 1: ok, 0: failed or cancelled, -1: not yet
            for (const QList<QVariant>& f : finished)
                if (f.at(0).toString() == QStringLiteral("Rank search"))
                    return f.at(1).toBool() ? 1 : 0;
            return -1;
        };
        QTRY_VERIFY_WITH_TIMEOUT(searchEnded() >= 0, 120000);
        QCOMPARE(searchEnded(), 0);   // cancelled
        const int before = int(v->trials().size());
        QVERIFY(before >= 2);
        QCOMPARE(v->table()->rowCount(), before);
        QCOMPARE(v->acceptedGraph()->data()->size() + v->rejectedGraph()->data()->size(), before);
        QVERIFY(!QFile::exists(out));
        int logLines = 0;
        {
            std::ifstream log((out + QStringLiteral(".log")).toStdString());
            for (std::string line; std::getline(log, line);)
                logLines += !line.empty();
        }
        QCOMPARE(logLines, 1 + before);   // the header, then every trial the view saw
        QVERIFY(!v->result());

        // Resume: the same file without "start over".
        QObject::disconnect(canceller);
        v->restartCheck()->setChecked(false);
        QSignalSpy done(w.document(), &StudioDocument::searchFinished);
        v->startButton()->click();
        QVERIFY(done.wait(180000));
        QTRY_VERIFY_WITH_TIMEOUT(!w.engine()->isBusy(), 30000);
        QVERIFY(v->result());
        const SearchSummary resumed = *v->result();
        QCOMPARE(resumed.resumedTrials, int64_t(before));
        QCOMPARE(v->trials().size(), resumed.trials.size());
        for (int i = 0; i < before; ++i)
            QVERIFY(v->trials()[size_t(i)].resumed);
        QCOMPARE(v->table()->rowCount(), int(resumed.trials.size()));
        for (const SearchTrial& t : v->trials())
            QVERIFY(t.layer >= 3);
        QVERIFY(QFile::exists(out));
        // The plot is every trial at (parameters, perplexity).
        QCOMPARE(v->acceptedGraph()->data()->size() + v->rejectedGraph()->data()->size(), int(resumed.trials.size()));

        // The same search uninterrupted, into another file.
        v->outEdit()->setText(dir.filePath(QStringLiteral("again.json")));
        v->restartCheck()->setChecked(true);
        v->startButton()->click();
        QVERIFY(done.wait(180000));
        QTRY_VERIFY_WITH_TIMEOUT(!w.engine()->isBusy(), 30000);
        QCOMPARE(v->result()->resumedTrials, int64_t(0));
        QVERIFY(v->result()->ranks == resumed.ranks);

        // A larger budget reaches the engine: its ranks file records it and no rank grows.
        v->outEdit()->setText(dir.filePath(QStringLiteral("loose.json")));
        v->deltaSpin()->setValue(1.0);
        v->startButton()->click();
        QVERIFY(done.wait(180000));
        QTRY_VERIFY_WITH_TIMEOUT(!w.engine()->isBusy(), 30000);
        std::ifstream loose(dir.filePath(QStringLiteral("loose.json")).toStdString());
        const nlohmann::json j = nlohmann::json::parse(loose);
        QCOMPARE(j.at("search").at("delta").get<double>(), 1.0);
        QCOMPARE(j.at("search").at("method").get<std::string>(), std::string("sfsd"));
        int64_t tighter = 0, looser = 0;
        for (const auto& [part, ranks] : resumed.ranks)
            for (size_t l = 0; l < ranks.size(); ++l) {
                const int64_t a = ranks[l], b = v->result()->ranks.at(part)[l];
                tighter += a < 0 ? 0 : 1;
                looser += b < 0 ? 0 : 1;
            }
        QVERIFY(looser >= tighter);
        QVERIFY(v->result()->parametersAfter <= resumed.parametersAfter);
        QTest::qWait(50);
        maybeShoot(m_window.get(), QStringLiteral("rank_search.png"));

        // Apply: the Method box gets sfsd with this ranks file, and the live counts read it at once.
        QVERIFY(v->applyButton()->isEnabled());
        v->applyButton()->click();
        const CompressionSettings s = w.compressionPanel()->settings();
        QCOMPARE(s.method, std::string("sfsd"));
        QCOMPARE(s.featureSpace.ranksFile.string(), dir.filePath(QStringLiteral("loose.json")).toStdString());
        QVERIFY2(w.liveCounts().last().ok, qPrintable(w.liveCounts().last().error));
        QCOMPARE(w.liveCounts().last().plan.modelAfter, v->result()->parametersAfter);
        waitForFeatureSpace();
        for (const FeatureProjection& p : w.document()->featureSpace()->projections)
            QCOMPARE(p.chosen, v->result()->ranks.at(p.part)[size_t(p.layer)]);
    }

    void cleanupTestCase() { m_window.reset(); }
};

QTEST_MAIN(TestUiFeatureSpace)
#include "test_ui_feature_space.moc"
