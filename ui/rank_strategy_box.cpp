#include "rank_strategy_box.h"

#include "eval_results_model.h"
#include "rank_strategy.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QSpinBox>

#include <cmath>

namespace basis::ui {

namespace {

const QString kBudget = QStringLiteral("budget");
const QString kEnergy = QStringLiteral("energy");
// The slider's position while the options name no budget: half the channels, the headline setting.
constexpr int kDefaultBudgetPercent = 50;

} // namespace

RankStrategyBox::RankStrategyBox(QWidget* parent) : QGroupBox(tr("Strategy"), parent)
{
    m_strategy = new QComboBox;
    const QStringList tips = {
        tr("Every rank channel of every factorized projection (the model as stored)."),
        tr("The first k̄ = max(1, round(ρK)) channels for every input: channels are stored in order of calibration "
           "importance, so this prefix is the most important set. Saves work in prefill and decode alike."),
        tr("The prompt, at full rank, chooses the channels of largest summed energy (k̄ of them, or the fewest "
           "reaching τ of the energy); every decode step then computes only those."),
        tr("Each token keeps the fewest channels reaching τ of its own energy (or its k̄ largest): z is computed in "
           "full, only the coefficient matmul is saved.")};
    for (size_t i = 0; i < rankStrategyNames().size(); ++i) {
        const QString name = QString::fromStdString(rankStrategyNames()[i]);
        m_strategy->addItem(name, name);
        m_strategy->setItemData(int(i), tips[int(i)], Qt::ToolTipRole);
    }
    m_strategy->setToolTip(tr("Which rank channels j of z = x B each factorized projection y = (x B) C computes at run time."));

    m_limit = new QComboBox;
    m_limit->addItem(tr("channel budget ρ"), kBudget);
    m_limit->addItem(tr("energy share τ"), kEnergy);
    m_limit->setToolTip(tr("ρ: the share of each projection's K rank channels computed (k̄ = max(1, round(ρK))). "
                           "τ: the share of the energy e_j = z_j² ‖C[j,:]‖² kept (prompt-adaptive and per-token)."));

    m_budget = new QSlider(Qt::Horizontal);
    m_budget->setRange(1, 100);
    m_budget->setPageStep(5);
    m_budget->setTickInterval(25);
    m_budget->setTickPosition(QSlider::TicksBelow);
    m_budget->setValue(kDefaultBudgetPercent);
    m_budget->setToolTip(tr("ρ, the share of rank channels computed, in steps of 0.01."));
    m_budgetValue = new QLabel;
    m_budgetValue->setMinimumWidth(m_budgetValue->fontMetrics().horizontalAdvance(QStringLiteral("ρ = 0.00")));

    m_energy = new QDoubleSpinBox;
    m_energy->setRange(0.01, 1.0);
    m_energy->setDecimals(3);
    m_energy->setSingleStep(0.01);
    m_energy->setToolTip(tr("τ, the share of the energy kept: per token (per-token) or summed over the prompt "
                            "(prompt-adaptive)."));

    m_prompt = new QSpinBox;
    m_prompt->setRange(1, 1 << 16);
    m_prompt->setSuffix(tr(" tokens"));
    m_prompt->setToolTip(tr("Perplexity under a strategy: the first P tokens of each window run at full rank (they "
                            "choose prompt-adaptive's channels) and are not scored; every strategy scores the same tokens."));

    m_evaluate = new QCheckBox(tr("Apply to the Evaluate tab's perplexity and throughput runs"));
    m_evaluate->setToolTip(tr("Runs of a factorized model (the compressed copy, or a compressed folder opened) then "
                              "use this strategy; each becomes its own row, its evaluation naming the strategy."));

    auto* budgetRow = new QHBoxLayout;
    budgetRow->addWidget(m_budget, 1);
    budgetRow->addWidget(m_budgetValue);
    auto* form = new QFormLayout(this);
    form->addRow(tr("Strate&gy"), m_strategy);
    form->addRow(tr("Limited by"), m_limit);
    form->addRow(tr("Budget ρ"), budgetRow);
    form->addRow(tr("Energy τ"), m_energy);
    form->addRow(tr("Prompt P"), m_prompt);
    form->addRow(m_evaluate);

    // Initial values: the engine's defaults for a mask capture (job_options.h).
    setOptions(RankMasksJobOptions{}.rank);

    for (QComboBox* c : {m_strategy, m_limit})
        connect(c, &QComboBox::currentIndexChanged, this, [this] {
            updateControls();
            emit changed();
        });
    connect(m_budget, &QSlider::valueChanged, this, [this] {
        updateControls();
        emit changed();
    });
    connect(m_energy, &QDoubleSpinBox::valueChanged, this, &RankStrategyBox::changed);
    connect(m_prompt, &QSpinBox::valueChanged, this, &RankStrategyBox::changed);
    connect(m_evaluate, &QCheckBox::toggled, this, &RankStrategyBox::changed);
}

void RankStrategyBox::setOptions(const RankJobOptions& o)
{
    const QSignalBlocker b1(m_strategy), b2(m_limit), b3(m_budget), b4(m_energy), b5(m_prompt);
    const int i = m_strategy->findData(QString::fromStdString(o.strategy.empty() ? "baseline" : o.strategy));
    m_strategy->setCurrentIndex(std::max(0, i));
    m_limit->setCurrentIndex(m_limit->findData(o.energy > 0 ? kEnergy : kBudget));
    if (o.budget > 0)
        m_budget->setValue(int(std::lround(o.budget * 100)));
    m_energy->setValue(o.energy > 0 ? o.energy : RankMasksJobOptions{}.rank.energy);
    m_prompt->setValue(int(o.promptTokens));
    updateControls();
}

RankJobOptions RankStrategyBox::options() const
{
    RankJobOptions o;
    o.strategy = m_strategy->currentData().toString().toStdString();
    o.promptTokens = m_prompt->value();
    if (o.strategy == "baseline")
        return o;
    if (o.strategy == "global-static" || m_limit->currentData().toString() == kBudget)
        o.budget = m_budget->value() / 100.0;
    else
        o.energy = m_energy->value();
    return o;
}

bool RankStrategyBox::appliesToEvaluate() const { return m_evaluate->isChecked(); }

QString RankStrategyBox::describe(const RankJobOptions& o) { return rankLabel(o.strategy, o.budget, o.energy); }

void RankStrategyBox::updateControls()
{
    const QString strategy = m_strategy->currentData().toString();
    const bool baseline = strategy == QLatin1String("baseline");
    const bool staticPrefix = strategy == QLatin1String("global-static");
    // global-static keeps a fixed prefix: only a budget defines it.
    if (staticPrefix && m_limit->currentData().toString() != kBudget) {
        const QSignalBlocker block(m_limit);
        m_limit->setCurrentIndex(m_limit->findData(kBudget));
    }
    m_limit->setItemData(m_limit->findData(kEnergy), staticPrefix ? QVariant(0) : QVariant(), Qt::UserRole - 1);
    const bool budget = m_limit->currentData().toString() == kBudget;
    m_limit->setEnabled(!baseline && !staticPrefix);
    m_budget->setEnabled(!baseline && budget);
    m_budgetValue->setEnabled(!baseline && budget);
    m_energy->setEnabled(!baseline && !budget);
    m_budgetValue->setText(QStringLiteral("ρ = %1").arg(m_budget->value() / 100.0, 0, 'f', 2));
}

} // namespace basis::ui
