// The compression panel reads the method registry: its Method box lists exactly the registered methods, and each
// control is enabled exactly when the chosen method's settings descriptor lists the setting it edits.
#include "compression_panel.h"
#include "error.h"
#include "method_registry.h"
#include "synth.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSlider>
#include <QSpinBox>
#include <QTest>

using namespace basis;
using namespace basis::ui;

class TestUiMethods : public QObject {
    Q_OBJECT
    CompressionPanel* m_panel = nullptr;

    void choose(const std::string& name)
    {
        m_panel->methodCombo()->setCurrentIndex(m_panel->methodCombo()->findData(QString::fromStdString(name)));
        QCOMPARE(m_panel->settings().method, name);
    }

private slots:
    void initTestCase()
    {
        m_panel = new CompressionPanel;
        const ModelConfig config = parseModelConfig(synthConfigJson(synthPreset("llama-micro"), 0), "llama-micro");
        m_panel->setModel(config, archTable(config));
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

    void cleanupTestCase() { delete m_panel; }
};

QTEST_MAIN(TestUiMethods)
#include "test_ui_methods.moc"
