#include "method_settings_box.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLineEdit>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QStandardItemModel>

namespace basis::ui {

namespace {

QComboBox* comboOf(const QStringList& items)
{
    auto* c = new QComboBox;
    for (const QString& i : items)
        c->addItem(i, i);
    return c;
}

void selectData(QComboBox* c, const QString& value)
{
    const int i = c->findData(value);
    if (i >= 0)
        c->setCurrentIndex(i);
}

} // namespace

MethodSettingsBox::MethodSettingsBox(QWidget* parent) : QWidget(parent)
{
    m_form = new QFormLayout(this);
    m_form->setContentsMargins(0, 0, 0, 0);

    m_rule = new QComboBox;
    m_rule->addItem(tr("energy"), ByEnergy);
    m_rule->addItem(tr("fraction of break-even"), ByFraction);
    m_rule->addItem(tr("ranks file"), ByRanksFile);
    m_rule->setToolTip(tr("How each projection's rank is picked: the smallest rank keeping an energy share, a fraction "
                          "of the break-even rank md/(m+d) (sfsd), or a ranks file (e.g. from the rank search)."));
    m_form->addRow(tr("Rank &rule"), m_rule);
    m_energy = new QDoubleSpinBox;
    m_energy->setRange(0.0001, 1.0);
    m_energy->setDecimals(4);
    m_energy->setSingleStep(0.005);
    m_energy->setValue(0.95);
    m_energy->setToolTip(tr("Energy e in (0, 1]: the share of the eigenvalues (or, for weight-svd, of W's squared "
                            "singular values) the kept rank covers"));
    m_form->addRow(tr("&Energy"), m_energy);
    m_fraction = new QDoubleSpinBox;
    m_fraction->setRange(0.01, 0.99);
    m_fraction->setDecimals(2);
    m_fraction->setSingleStep(0.05);
    m_fraction->setValue(0.5);
    m_fraction->setToolTip(tr("Fraction f in (0, 1) of the break-even rank: r = max(1, floor(f md/(m+d)))"));
    m_form->addRow(tr("&Fraction"), m_fraction);
    m_ranks = new QLineEdit;
    m_ranks->setPlaceholderText(tr("ranks JSON (docs/RANKS_FILE.md)"));
    m_form->addRow(tr("Ranks &file"), m_ranks);
    m_policy = comboOf({QStringLiteral("uniform"), QStringLiteral("qkv_heavier"), QStringLiteral("mlp_heavier")});
    m_policy->setToolTip(tr("Rank policy: r' = max(1, round(r × multiplier of the part)), then the break-even rule"));
    m_form->addRow(tr("&Policy"), m_policy);

    m_bits = comboOf({QStringLiteral("2"), QStringLiteral("3"), QStringLiteral("4"), QStringLiteral("8")});
    m_bits->setToolTip(tr("Bits b of the quantized matrix Q (groups of 64 input columns, a float16 scale and zero each)"));
    m_form->addRow(tr("&Bits"), m_bits);
    m_rank = new QSpinBox;
    m_rank->setRange(0, 4096);
    m_rank->setToolTip(tr("Rank k of the low-rank correction L R (0: Q alone)"));
    m_form->addRow(tr("Ran&k"), m_rank);
    m_qStep = comboOf({QStringLiteral("rtn"), QStringLiteral("ldlq")});
    m_qStep->setToolTip(tr("rtn: round to nearest; ldlq: GPTQ-style error feedback with the calibration Hessian"));
    m_form->addRow(tr("&Q step"), m_qStep);
    m_iters = new QSpinBox;
    m_iters->setRange(1, 100);
    m_iters->setToolTip(tr("Alternations of the low-rank step and the Q step; the iterate with the smallest error is kept"));
    m_form->addRow(tr("&Iterations"), m_iters);
    m_factorDtype = comboOf({QStringLiteral("float16"), QStringLiteral("bfloat16"), QStringLiteral("float32")});
    m_factorDtype->setToolTip(tr("Storage of L and R"));
    m_form->addRow(tr("Factor &dtype"), m_factorDtype);

    set(CompressionSettings{});

    auto emitChanged = [this] {
        if (!m_applying)
            emit changed();
    };
    connect(m_rule, qOverload<int>(&QComboBox::currentIndexChanged), this, [this, emitChanged] {
        updateRule();
        emitChanged();
    });
    for (QDoubleSpinBox* s : {m_energy, m_fraction})
        connect(s, qOverload<double>(&QDoubleSpinBox::valueChanged), this, emitChanged);
    for (QSpinBox* s : {m_rank, m_iters})
        connect(s, qOverload<int>(&QSpinBox::valueChanged), this, emitChanged);
    for (QComboBox* c : {m_policy, m_bits, m_qStep, m_factorDtype})
        connect(c, qOverload<int>(&QComboBox::currentIndexChanged), this, emitChanged);
    connect(m_ranks, &QLineEdit::editingFinished, this, emitChanged);
}

void MethodSettingsBox::showRow(QWidget* field, bool on)
{
    field->setEnabled(on);
    m_form->setRowVisible(field, on);
}

void MethodSettingsBox::showMethod(const CompressionMethod& m)
{
    m_featureSpace = m.uses(setting::Energy) || m.uses(setting::Fraction) || m.uses(setting::Ranks);
    // Only the rules the method knows can be chosen (the fraction is sfsd's).
    auto* model = qobject_cast<QStandardItemModel*>(m_rule->model());
    const bool rules[3] = {m.uses(setting::Energy), m.uses(setting::Fraction), m.uses(setting::Ranks)};
    for (int i = 0; i < 3; ++i)
        model->item(i)->setEnabled(rules[i]);
    if (m_featureSpace && !rules[m_rule->currentIndex()]) {
        const QSignalBlocker block(m_rule);
        m_rule->setCurrentIndex(rules[ByEnergy] ? ByEnergy : ByRanksFile);
    }
    showRow(m_rule, m_featureSpace);
    showRow(m_policy, m.uses(setting::Policy));
    showRow(m_bits, m.uses(setting::Bits));
    showRow(m_rank, m.uses(setting::Rank));
    showRow(m_qStep, m.uses(setting::QStep));
    showRow(m_iters, m.uses(setting::Iters));
    showRow(m_factorDtype, m.uses(setting::FactorDtype));
    updateRule();
    setVisible(m_featureSpace || m.uses(setting::Bits));
}

void MethodSettingsBox::disableRankRule()
{
    for (QWidget* w : {static_cast<QWidget*>(m_rule), static_cast<QWidget*>(m_energy), static_cast<QWidget*>(m_fraction),
                       static_cast<QWidget*>(m_ranks), static_cast<QWidget*>(m_policy)})
        w->setEnabled(false);
}

void MethodSettingsBox::updateRule()
{
    const int rule = m_rule->currentIndex();
    showRow(m_energy, m_featureSpace && rule == ByEnergy);
    showRow(m_fraction, m_featureSpace && rule == ByFraction);
    showRow(m_ranks, m_featureSpace && rule == ByRanksFile);
}

void MethodSettingsBox::fill(CompressionSettings& s) const
{
    FeatureSpaceSettings& f = s.featureSpace;
    f.energy.reset();
    f.fraction.reset();
    f.ranksFile.clear();
    if (m_featureSpace) {
        if (m_rule->currentIndex() == ByEnergy)
            f.energy = m_energy->value();
        else if (m_rule->currentIndex() == ByFraction)
            f.fraction = m_fraction->value();
        else
            f.ranksFile = m_ranks->text().toStdString();
    }
    f.policy = m_policy->currentData().toString().toStdString();
    s.quant.bits = m_bits->currentData().toString().toLongLong();
    s.quant.rank = m_rank->value();
    s.quant.qStep = m_qStep->currentData().toString().toStdString();
    s.quant.iters = m_iters->value();
    s.quant.factorDtype = m_factorDtype->currentData().toString().toStdString();
}

void MethodSettingsBox::set(const CompressionSettings& s)
{
    m_applying = true;
    const FeatureSpaceSettings& f = s.featureSpace;
    if (f.energy)
        m_energy->setValue(*f.energy);
    if (f.fraction)
        m_fraction->setValue(*f.fraction);
    m_ranks->setText(QString::fromStdString(f.ranksFile.string()));
    m_rule->setCurrentIndex(f.fraction ? ByFraction : !f.ranksFile.empty() ? ByRanksFile : ByEnergy);
    selectData(m_policy, QString::fromStdString(f.policy));
    selectData(m_bits, QString::number(s.quant.bits));
    m_rank->setValue(int(s.quant.rank));
    selectData(m_qStep, QString::fromStdString(s.quant.qStep));
    m_iters->setValue(int(s.quant.iters));
    selectData(m_factorDtype, QString::fromStdString(s.quant.factorDtype));
    m_applying = false;
    updateRule();
}

} // namespace basis::ui
