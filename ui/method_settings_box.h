#pragma once
// The settings of the methods beyond ratio and groups: the feature-space methods' rank rule (energy, fraction or a
// ranks file) and policy, and the quantizing methods' bits, rank, Q step, iterations and factor dtype. Each row is
// shown and enabled exactly when the chosen method's descriptor lists its setting (method.h).
#include "compression_plan.h"
#include "method.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLineEdit;
class QSpinBox;

namespace basis::ui {

class MethodSettingsBox : public QWidget {
    Q_OBJECT
public:
    explicit MethodSettingsBox(QWidget* parent = nullptr);

    void showMethod(const CompressionMethod& m);
    // The box's values into s (only the settings the method reads), and back.
    void fill(CompressionSettings& s) const;
    void set(const CompressionSettings& s);
    // An exact budget sets every rank of a feature-space method: the rank rule, its value and the policy are off
    // (until the next showMethod).
    void disableRankRule();

    QComboBox* rankRuleCombo() const { return m_rule; }
    QDoubleSpinBox* energySpin() const { return m_energy; }
    QDoubleSpinBox* fractionSpin() const { return m_fraction; }
    QLineEdit* ranksEdit() const { return m_ranks; }
    QComboBox* policyCombo() const { return m_policy; }
    QComboBox* bitsCombo() const { return m_bits; }
    QSpinBox* rankSpin() const { return m_rank; }
    QComboBox* qStepCombo() const { return m_qStep; }
    QSpinBox* itersSpin() const { return m_iters; }
    QComboBox* factorDtypeCombo() const { return m_factorDtype; }

signals:
    void changed();

private:
    enum Rule { ByEnergy = 0, ByFraction = 1, ByRanksFile = 2 };
    void showRow(QWidget* field, bool on);
    void updateRule();

    QFormLayout* m_form = nullptr;
    QComboBox* m_rule = nullptr;
    QDoubleSpinBox* m_energy = nullptr;
    QDoubleSpinBox* m_fraction = nullptr;
    QLineEdit* m_ranks = nullptr;
    QComboBox* m_policy = nullptr;
    QComboBox* m_bits = nullptr;
    QSpinBox* m_rank = nullptr;
    QComboBox* m_qStep = nullptr;
    QSpinBox* m_iters = nullptr;
    QComboBox* m_factorDtype = nullptr;
    bool m_featureSpace = false;
    bool m_applying = false;
};

} // namespace basis::ui
