#pragma once
// The Heatmaps tab: (a) energy kept per layer and part at the current setting, (b) the truncation mask: one row
// per part and layer, one column per singular value of its group, kept components coloured by their energy share
// and dropped ones grey, so that a shared basis (identical rows for the layers of a group) and its cut show.
// Both follow the controls live; drawing waits until the tab is shown.
#include "energy_table.h"
#include "plan_cut.h"

#include <QWidget>

#include <optional>
#include <vector>

class QCustomPlot;
class QCPAbstractItem;
class QCPColorMap;
class QCPColorScale;
class QLabel;
class QMouseEvent;

namespace basis::ui {

class HeatmapView : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapView(QWidget* parent = nullptr);

    // The live plan; `energy` is null until calibrated. The view keeps the pointer: it lives as long as the window.
    void setPlan(const CompressionPlan& plan, const EnergyTable* energy);

    struct MaskRow {
        std::string part;
        int64_t layer = 0, group = 0, groupSize = 1;
        int64_t k = 0;           // components kept
        int64_t length = 0;      // singular values of the group
    };
    // What is drawn (valid after the tab was shown): energy map columns are parts in plan order, rows layers
    // (cell (part, layer), value in %, NaN for a dense part); mask rows in order, mask columns = index - 1.
    QCustomPlot* energyPlot() const { return m_energyPlot; }
    QCustomPlot* maskPlot() const { return m_maskPlot; }
    QCPColorMap* energyMap() const { return m_energyMap; }
    QCPColorMap* keptMap() const { return m_keptMap; }
    QCPColorMap* droppedMap() const { return m_droppedMap; }
    const std::vector<MaskRow>& maskRows() const { return m_rows; }
    const PlanCut& plan() const { return m_plan; }
    QString energyCellText(int64_t layer, int partColumn) const;   // the hover text of a cell
    QString maskCellText(int row, int64_t index) const;            // index from 1
    bool upToDate() const { return !m_dirty; }

protected:
    void showEvent(QShowEvent* event) override;

private:
    void redraw();
    void drawEnergy();
    void drawMask();
    void clearItems(QCustomPlot* plot, std::vector<QCPAbstractItem*>& items);
    void hoverEnergy(QMouseEvent* event);
    void hoverMask(QMouseEvent* event);
    std::optional<double> energyOf(const PartCut& part, int64_t layer) const;

    PlanCut m_plan;
    const EnergyTable* m_energy = nullptr;
    bool m_dirty = true;
    std::vector<MaskRow> m_rows;

    QLabel* m_status = nullptr;
    QCustomPlot* m_energyPlot = nullptr;
    QCustomPlot* m_maskPlot = nullptr;
    QCPColorMap* m_energyMap = nullptr;
    QCPColorMap* m_keptMap = nullptr;
    QCPColorMap* m_droppedMap = nullptr;
    QCPColorScale* m_energyScale = nullptr;
    QCPColorScale* m_keptScale = nullptr;
    QCPColorScale* m_droppedScale = nullptr;
    std::vector<QCPAbstractItem*> m_energyItems, m_maskItems;   // cell labels, group outlines, separators
};

} // namespace basis::ui
