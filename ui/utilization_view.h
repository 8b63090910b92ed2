#pragma once
// The Utilization tab of the feature-space methods: r / min(m, d) per layer and part as a heatmap, r the rank the
// setting chooses (by energy, fraction or ranks file, before the policy), and the mean layer utilization (MLU).
// Cells that stay dense (break-even rule, policy, or the file) are outlined. Numbers are the engine's
// (Workspace::featureSpace), delivered by the document.
#include "job_results.h"

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

class UtilizationView : public QWidget {
    Q_OBJECT
public:
    explicit UtilizationView(QWidget* parent = nullptr);

    // The latest result (null: none yet, `status` says why). The view keeps a copy.
    void setSummary(const FeatureSpaceSummary* summary, const QString& status = {});

    // Columns: the summary's parts in order; rows: layers. Cell value: utilization in %.
    QCustomPlot* plot() const { return m_plot; }
    QCPColorMap* map() const { return m_map; }
    QLabel* mluLabel() const { return m_mlu; }
    QString cellText(int64_t layer, int partColumn) const;   // the hover text

private:
    void redraw();
    void hover(QMouseEvent* event);
    const FeatureProjection* at(int64_t layer, int partColumn) const;

    std::optional<FeatureSpaceSummary> m_summary;
    QLabel* m_status = nullptr;
    QLabel* m_mlu = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCPColorMap* m_map = nullptr;
    QCPColorScale* m_scale = nullptr;
    std::vector<QCPAbstractItem*> m_items;
};

} // namespace basis::ui
