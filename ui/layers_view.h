#pragma once
// The Layers tab: the layers x parts table over LayersModel, and the per-layer bar chart under it.
#include <QWidget>

class QTableView;
class QSortFilterProxyModel;

namespace basis::ui {

class LayersChart;
class LayersModel;

class LayersView : public QWidget {
    Q_OBJECT
public:
    explicit LayersView(QWidget* parent = nullptr);
    LayersModel* model() const { return m_model; }
    LayersChart* chart() const { return m_chart; }
    QTableView* table() const { return m_table; }
    void refreshChart();

private:
    LayersModel* m_model = nullptr;
    QSortFilterProxyModel* m_proxy = nullptr;
    QTableView* m_table = nullptr;
    LayersChart* m_chart = nullptr;
};

} // namespace basis::ui
