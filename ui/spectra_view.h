#pragma once
// The Spectra tab: the singular values (log scale) and cumulative energy of one part and group of the current
// setting, with the cut at k that follows the controls, and the same part at other group sizes overlaid (the
// group holding the same first layer) so that what sharing costs is visible. Spectra come from EnergyTable; the
// group sizes it lacks are asked for with spectraWanted() and computed on the engine thread by MainWindow.
#include "energy_table.h"
#include "plan_cut.h"

#include <QWidget>

#include <map>
#include <vector>

class QComboBox;
class QCustomPlot;
class QCPGraph;
class QCPItemLine;
class QCPItemText;
class QLabel;
class QListWidget;
class QMouseEvent;

namespace basis::ui {

class SpectraView : public QWidget {
    Q_OBJECT
public:
    explicit SpectraView(QWidget* parent = nullptr);

    // The live plan; `energy` is null until calibrated. The view keeps the pointer: it lives as long as the window.
    void setPlan(const CompressionPlan& plan, const EnergyTable* energy);
    // Group sizes drawn (1, the current one and the ticked ones) whose spectra the table does not have yet.
    std::vector<int64_t> missingGroupSizes() const;

    QComboBox* partCombo() const { return m_part; }
    QComboBox* groupCombo() const { return m_group; }
    QListWidget* sizesList() const { return m_sizes; }
    QCustomPlot* plot() const { return m_plot; }
    QLabel* comparisonLabel() const { return m_comparison; }

    // What is drawn now, for tests: k of the selected group (0: dense or none), the x of the cut line, the energy
    // kept shown in its label (fraction, -1 when unknown), and the curves per group size.
    int64_t shownK() const { return m_shownK; }
    double kLineX() const;
    QString kLineLabel() const;
    double shownEnergy() const { return m_shownEnergy; }
    std::vector<int64_t> drawnGroupSizes() const;
    QCPGraph* singularValuesGraph(int64_t groupSize) const;
    QCPGraph* cumulativeGraph(int64_t groupSize) const;

signals:
    void spectraWanted();   // a group size to draw lacks its spectra

protected:
    void showEvent(QShowEvent* event) override;

private:
    void fillChoosers();
    void fillGroups();
    void fillSizes();
    void redraw();
    void showHover(QMouseEvent* event);
    const PartCut* currentPart() const;
    std::vector<int64_t> sizesToDraw() const;

    PlanCut m_plan;
    const EnergyTable* m_energy = nullptr;
    int64_t m_layer = 0;                 // first layer of the chosen group: kept when the group size changes
    std::vector<int64_t> m_ticked{1};    // overlay group sizes ticked by the user

    QComboBox* m_part = nullptr;
    QComboBox* m_group = nullptr;
    QListWidget* m_sizes = nullptr;
    QLabel* m_status = nullptr;
    QLabel* m_comparison = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCPItemLine* m_kLine = nullptr;
    QCPItemText* m_kText = nullptr;
    std::map<int64_t, QCPGraph*> m_sGraphs, m_cGraphs;
    int64_t m_shownK = 0;
    double m_shownEnergy = -1;
};

} // namespace basis::ui
