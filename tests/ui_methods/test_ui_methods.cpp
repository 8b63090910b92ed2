// The compression panel reads the method registry: its Method box lists exactly the registered methods, and each
// control is enabled exactly when the chosen method's settings descriptor lists the setting it edits.
#include "compression_panel.h"
#include "error.h"
#include "live_counts.h"
#include "method_registry.h"
#include "method_settings_box.h"
#include "synth.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QSlider>
#include <QSpinBox>
#include <QTest>

using namespace basis;
using namespace basis::ui;

class TestUiMethods : public QObject {
    Q_OBJECT
    CompressionPanel* m_panel = nullptr;
    ModelConfig m_config;
    ArchTable m_table;

    void choose(const std::string& name)
    {
        m_panel->methodCombo()->setCurrentIndex(m_panel->methodCombo()->findData(QString::fromStdString(name)));
        QCOMPARE(m_panel->settings().method, name);
    }

private slots:
    void initTestCase()
    {
        m_panel = new CompressionPanel;
        m_config = parseModelConfig(synthConfigJson(synthPreset("llama-micro"), 0), "llama-micro");
        m_table = archTable(m_config);
        m_panel->setModel(m_config, m_table);
    }

    void methodBoxListsTheRegistry()
    {
        QComboBox* box = m_panel->methodCombo();
        const std::vector<const CompressionMethod*> all = methods();
        QCOMPARE(box->count(), int(all.size()));
        for (int i = 0; i < box->count(); ++i) {
            QCOMPARE(box->itemData(i).toString().toStdString(), all[size_t(i)]->name());
            QCOMPARE(box->itemText(i).toStdString(), all[size_t(i)]->displayName());
            QVERIFY(box->toolTip().contains(QString::fromStdString(all[size_t(i)]->displayName()).toHtmlEscaped()));
        }
    }

    void controlsFollowTheDescriptor_data()
    {
        QTest::addColumn<QString>("method");
        for (const CompressionMethod* m : methods())
            QTest::newRow(m->name().c_str()) << QString::fromStdString(m->name());
    }

    void controlsFollowTheDescriptor()
    {
        QFETCH(QString, method);
        const CompressionMethod& m = basis::method(method.toStdString());
        choose(m.name());
        QCOMPARE(m_panel->groupSpin()->isEnabled(), m.uses(setting::GroupSize));
        QCOMPARE(m_panel->ratioSpin()->isEnabled(), m.uses(setting::Ratio));
        QCOMPARE(m_panel->ratioSlider()->isEnabled(), m.uses(setting::Ratio));
        QCOMPARE(m_panel->updateCheck()->isEnabled(), m.uses(setting::Update));
        QCOMPARE(m_panel->partCombo(QStringLiteral("q"))->isEnabled(),
                 m.uses(setting::SharedParts) || m.uses(setting::PrivateParts));
        const MethodSettingsBox* box = m_panel->methodSettings();
        QCOMPARE(box->policyCombo()->isEnabled(), m.uses(setting::Policy));
        QCOMPARE(box->bitsCombo()->isEnabled(), m.uses(setting::Bits));
        QCOMPARE(box->rankSpin()->isEnabled(), m.uses(setting::Rank));
        QCOMPARE(box->qStepCombo()->isEnabled(), m.uses(setting::QStep));
        QCOMPARE(box->itersSpin()->isEnabled(), m.uses(setting::Iters));
        QCOMPARE(box->factorDtypeCombo()->isEnabled(), m.uses(setting::FactorDtype));
        QCOMPARE(box->rankRuleCombo()->isEnabled(),
                 m.uses(setting::Energy) || m.uses(setting::Fraction) || m.uses(setting::Ranks));
    }

    // Each control of the quantizing methods lands in the settings the engine gets; bits, rank and the factor
    // dtype move the planned bytes (the engine side of q step and iterations: cli.quant_flags).
    void quantControlsReachTheSettings()
    {
        choose("caldera");
        MethodSettingsBox* box = m_panel->methodSettings();
        const CompressionPlan before = planCompression(m_config, m_table, m_panel->settings());
        box->bitsCombo()->setCurrentIndex(box->bitsCombo()->findData(QStringLiteral("2")));
        QCOMPARE(m_panel->settings().quant.bits, int64_t(2));
        const CompressionPlan twoBits = planCompression(m_config, m_table, m_panel->settings());
        QVERIFY(twoBits.modelBytesAfter < before.modelBytesAfter);
        box->rankSpin()->setValue(4);
        QCOMPARE(m_panel->settings().quant.rank, int64_t(4));
        QVERIFY(planCompression(m_config, m_table, m_panel->settings()).modelBytesAfter < twoBits.modelBytesAfter);
        const int64_t f16 = planCompression(m_config, m_table, m_panel->settings()).modelBytesAfter;
        box->factorDtypeCombo()->setCurrentIndex(box->factorDtypeCombo()->findData(QStringLiteral("float32")));
        QCOMPARE(m_panel->settings().quant.factorDtype, std::string("float32"));
        QVERIFY(planCompression(m_config, m_table, m_panel->settings()).modelBytesAfter > f16);
        box->qStepCombo()->setCurrentIndex(box->qStepCombo()->findData(QStringLiteral("ldlq")));
        QCOMPARE(m_panel->settings().quant.qStep, std::string("ldlq"));
        box->itersSpin()->setValue(3);
        QCOMPARE(m_panel->settings().quant.iters, int64_t(3));
        // The panel gives back what it was given.
        const CompressionSettings s = m_panel->settings();
        m_panel->setSettings(s);
        QCOMPARE(m_panel->settings().quant.bits, s.quant.bits);
        QCOMPARE(m_panel->settings().quant.qStep, s.quant.qStep);
        QCOMPARE(m_panel->settings().quant.iters, s.quant.iters);
    }

    // The feature-space rank rule: sfsd's fraction moves the planned counts (a fraction needs no statistics);
    // energy, the ranks file and the policy land in the settings; utilized cannot pick a fraction.
    void featureSpaceControlsReachTheSettings()
    {
        choose("sfsd");
        MethodSettingsBox* box = m_panel->methodSettings();
        box->rankRuleCombo()->setCurrentIndex(1);
        QVERIFY(box->fractionSpin()->isEnabled());
        QVERIFY(!box->energySpin()->isEnabled());
        box->fractionSpin()->setValue(0.5);
        QCOMPARE(*m_panel->settings().featureSpace.fraction, 0.5);
        QVERIFY(!m_panel->settings().featureSpace.energy);
        const int64_t half = planCompression(m_config, m_table, m_panel->settings()).modelAfter;
        box->fractionSpin()->setValue(0.3);
        QVERIFY(planCompression(m_config, m_table, m_panel->settings()).modelAfter < half);
        box->policyCombo()->setCurrentIndex(box->policyCombo()->findData(QStringLiteral("mlp_heavier")));
        QCOMPARE(m_panel->settings().featureSpace.policy, std::string("mlp_heavier"));
        QVERIFY(planCompression(m_config, m_table, m_panel->settings()).modelAfter !=
                planCompression(m_config, m_table, [&] {
                    CompressionSettings u = m_panel->settings();
                    u.featureSpace.policy = "uniform";
                    return u;
                }()).modelAfter);
        box->rankRuleCombo()->setCurrentIndex(0);
        box->energySpin()->setValue(0.9);
        QCOMPARE(*m_panel->settings().featureSpace.energy, 0.9);
        QVERIFY(!m_panel->settings().featureSpace.fraction);
        box->rankRuleCombo()->setCurrentIndex(2);
        box->ranksEdit()->setText(QStringLiteral("/tmp/ranks.json"));
        QCOMPARE(m_panel->settings().featureSpace.ranksFile.string(), std::string("/tmp/ranks.json"));
        box->rankRuleCombo()->setCurrentIndex(1);
        choose("utilized");   // no fraction rule: the box falls back to energy
        QCOMPARE(box->rankRuleCombo()->currentIndex(), 0);
        QVERIFY(m_panel->settings().featureSpace.energy.has_value());
    }

    // svd's descriptor has no group size: the spin box is off (as before the registry), on again for basis-sharing.
    void svdDisablesTheGroupSize()
    {
        QVERIFY(!method("svd").uses(setting::GroupSize));
        choose("svd");
        QVERIFY(!m_panel->groupSpin()->isEnabled());
        QVERIFY(m_panel->ratioSpin()->isEnabled());
        choose("basis-sharing");
        QVERIFY(m_panel->groupSpin()->isEnabled());
    }

    void unknownMethodIsRefusedBeforeAnyControlMoves()
    {
        choose("svd-llm");
        CompressionSettings s = m_panel->settings();
        s.method = "lora";
        QVERIFY_THROWS_EXCEPTION(basis::Error, m_panel->setSettings(s));
        QCOMPARE(m_panel->settings().method, std::string("svd-llm"));
    }

    // A feature-space method at an exact budget: the Size row is on, the budget sets every rank (the rank rule is off
    // and unread, the allocator is uniform), and the live counts plan it at once, within one rank step of the budget.
    void featureSpaceMethodsTakeAnExactBudget()
    {
        choose("utilized");
        QComboBox* mode = m_panel->sizeModeCombo();
        QVERIFY(mode->isEnabled());
        mode->setCurrentIndex(mode->findData(QStringLiteral("budget")));
        QVERIFY(m_panel->ratioSpin()->isEnabled());
        QVERIFY(!m_panel->allocatorCombo()->isEnabled());
        QVERIFY(!m_panel->methodSettings()->rankRuleCombo()->isEnabled());
        QVERIFY(!m_panel->methodSettings()->policyCombo()->isEnabled());
        m_panel->ratioSpin()->setValue(30);
        const CompressionSettings s = m_panel->settings();
        QCOMPARE(s.budget, 30.0);
        QCOMPARE(s.allocator, std::string("uniform"));
        QCOMPARE(s.featureSpace.policy, std::string("uniform"));
        QVERIFY(!s.featureSpace.energy && !s.featureSpace.fraction && s.featureSpace.ranksFile.empty());
        LiveCounts live;
        live.setModel(m_config);
        const LiveResult& r = live.update(s);
        QVERIFY2(r.ok, qPrintable(r.error));
        int64_t maxStep = 0;
        for (const ProjectionSpec& p : m_table.projections)
            maxStep = std::max(maxStep, p.in + p.out);
        QVERIFY(r.plan.targetAfter <= int64_t(0.7 * double(r.plan.targetBefore)));
        QVERIFY(int64_t(0.7 * double(r.plan.targetBefore)) - r.plan.targetAfter < maxStep);
        // Back to the rank rule: it is read again, the budget is not.
        mode->setCurrentIndex(mode->findData(QStringLiteral("ratio")));
        QVERIFY(m_panel->methodSettings()->rankRuleCombo()->isEnabled());
        QCOMPARE(m_panel->settings().budget, 0.0);
        QVERIFY(m_panel->settings().featureSpace.energy.has_value());
        choose("basis-sharing");
    }

    // Phi-3's fused qkv and gate_up: rows of their own once their "as parts" box is checked; the parts reach the
    // engine's plan (split there the same way) and a plan naming parts checks the boxes back.
    void fusedProjectionsCanBeAddressedAsParts()
    {
        CompressionPanel panel;
        const ModelConfig phi3 = parseModelConfig(synthConfigJson(synthPreset("phi3-micro"), 0), "phi3-micro");
        const ArchTable table = archTable(phi3);
        panel.setModel(phi3, table);
        QVERIFY(panel.splitCheck(QStringLiteral("qkv")) && panel.splitCheck(QStringLiteral("gate_up")));
        QVERIFY(!panel.splitCheck(QStringLiteral("qkv"))->isChecked());
        QVERIFY(panel.partCombo(QStringLiteral("qkv")) && !panel.partCombo(QStringLiteral("q")));
        const CompressionPlan fused = planCompression(phi3, table, panel.settings());
        QVERIFY(fused.splitFused.empty());

        panel.splitCheck(QStringLiteral("qkv"))->setChecked(true);
        QVERIFY(!panel.partCombo(QStringLiteral("qkv")));
        for (const char* part : {"q", "k", "v"})   // each part starts with the fused projection's choice: shared
            QCOMPARE(panel.partCombo(QString::fromLatin1(part))->currentText(), QStringLiteral("shared"));
        panel.partCombo(QStringLiteral("k"))->setCurrentIndex(1);   // private
        panel.partCombo(QStringLiteral("v"))->setCurrentIndex(1);
        const CompressionSettings s = panel.settings();
        QCOMPARE(s.shared, (std::vector<std::string>{"q", "gate_up"}));
        QCOMPARE(s.privateParts, (std::vector<std::string>{"k", "v", "o", "down"}));
        const CompressionPlan split = planCompression(phi3, table, s);
        QCOMPARE(split.splitFused, std::vector<std::string>{"qkv"});
        QVERIFY(split.part("k") && !split.part("k")->shared && split.part("q")->shared);
        QCOMPARE(split.parts.size(), fused.parts.size() + 2);
        QCOMPARE(split.part("k")->groups.size(), size_t(phi3.layers));   // private: a factorization per layer

        // Settings that name parts (a YAML file, a Pareto point) check the boxes and set each part's row.
        CompressionSettings named = s;
        named.shared = {"q", "gate", "up"};
        named.privateParts = {"k", "v", "o", "down"};
        panel.setSettings(named);
        QVERIFY(panel.splitCheck(QStringLiteral("qkv"))->isChecked() && panel.splitCheck(QStringLiteral("gate_up"))->isChecked());
        QCOMPARE(panel.partCombo(QStringLiteral("up"))->currentText(), QStringLiteral("shared"));
        QCOMPARE(panel.partCombo(QStringLiteral("v"))->currentText(), QStringLiteral("private"));
        QCOMPARE(planCompression(phi3, table, panel.settings()).targetAfter, planCompression(phi3, table, named).targetAfter);

        // Unchecked again: one qkv row, with the choice of its first part (q: shared).
        panel.splitCheck(QStringLiteral("qkv"))->setChecked(false);
        QCOMPARE(panel.partCombo(QStringLiteral("qkv"))->currentText(), QStringLiteral("shared"));
        QCOMPARE(planCompression(phi3, table, panel.settings()).splitFused, std::vector<std::string>{"gate_up"});
        // A LLaMA model has nothing to split: no boxes.
        QVERIFY(!m_panel->splitCheck(QStringLiteral("qkv")));
    }

    void cleanupTestCase() { delete m_panel; }
};

QTEST_MAIN(TestUiMethods)
#include "test_ui_methods.moc"
