#pragma once
// The live summary of a compression setting: whole-model and target-projection parameters before and after,
// percent removed, and k per part, each with a tooltip that explains it with the current numbers.
#include "compression_plan.h"

#include <QWidget>

#include <vector>

class QLabel;
class QTableWidget;

namespace basis::ui {

class PlanSummaryView : public QWidget {
    Q_OBJECT
public:
    explicit PlanSummaryView(QWidget* parent = nullptr);

    // `energies` (per part in plan order, per group) when spectra exist; otherwise `energyStatus` says why not.
    void setPlan(const CompressionPlan& plan, const std::vector<std::vector<double>>* energies = nullptr,
                 const QString& energyStatus = {});
    void setError(const QString& message);        // a setting the engine refuses: counts are cleared
    void setNote(const QString& note);            // a line under the counts (timing, caveats)

    // What the labels show, for tests and screenshots.
    QLabel* modelLabel() const { return m_model; }
    QLabel* targetLabel() const { return m_target; }
    QLabel* sizeLabel() const { return m_size; }
    QLabel* energyLabel() const { return m_energy; }
    QTableWidget* partsTable() const { return m_parts; }

private:
    QLabel* m_model = nullptr;
    QLabel* m_target = nullptr;
    QLabel* m_size = nullptr;   // bytes as stored and bits per weight
    QLabel* m_energy = nullptr;
    QLabel* m_error = nullptr;
    QLabel* m_note = nullptr;
    QTableWidget* m_parts = nullptr;
};

// "1,234 → 987 (20.05 % removed)"
QString beforeAfterText(int64_t before, int64_t after, double removedPercent);

} // namespace basis::ui
