#pragma once
// The dynamic-rank controls (engine/core/rank_strategy.h): the strategy, what limits it (a budget rho of rank
// channels, on a slider, or an energy share tau), and the perplexity prompt P. They fill a RankJobOptions, the same
// struct `--rank-strategy/--rank-budget/--rank-energy/--prompt-tokens` and the YAML keys fill; the Dynamic rank
// tab runs its masks with them, and when "apply to Evaluate" is ticked the Evaluate tab's perplexity and throughput
// runs of a factorized model do too.
#include "job_options.h"

#include <QGroupBox>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSlider;
class QSpinBox;

namespace basis::ui {

class RankStrategyBox : public QGroupBox {
    Q_OBJECT
public:
    explicit RankStrategyBox(QWidget* parent = nullptr);

    // What the controls say, as the engine takes it (baseline: neither rho nor tau; global-static: rho).
    RankJobOptions options() const;
    void setOptions(const RankJobOptions& options);
    bool appliesToEvaluate() const;
    // "global-static rho 0.5", "per-token tau 0.95", "baseline": how the Evaluate rows and the plot name a run.
    static QString describe(const RankJobOptions& options);

    QComboBox* strategyCombo() const { return m_strategy; }
    QComboBox* limitCombo() const { return m_limit; }
    QSlider* budgetSlider() const { return m_budget; }
    QDoubleSpinBox* energySpin() const { return m_energy; }
    QSpinBox* promptTokensSpin() const { return m_prompt; }
    QCheckBox* evaluateCheck() const { return m_evaluate; }

signals:
    void changed();

private:
    void updateControls();

    QComboBox* m_strategy = nullptr;
    QComboBox* m_limit = nullptr;      // "budget" (rho) or "energy" (tau)
    QSlider* m_budget = nullptr;       // rho in percent of the stored rank K
    QLabel* m_budgetValue = nullptr;
    QDoubleSpinBox* m_energy = nullptr;
    QSpinBox* m_prompt = nullptr;
    QCheckBox* m_evaluate = nullptr;
};

} // namespace basis::ui
