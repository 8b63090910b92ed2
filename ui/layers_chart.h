#pragma once
// Projection weights per layer before and after the current setting, as grouped bars (QCustomPlot).
#include <QWidget>

#include <vector>

class QCustomPlot;
class QCPBars;

namespace basis::ui {

class LayersChart : public QWidget {
    Q_OBJECT
public:
    explicit LayersChart(QWidget* parent = nullptr);
    void setData(const std::vector<double>& before, const std::vector<double>& after);
    QCustomPlot* plot() const { return m_plot; }

private:
    QCustomPlot* m_plot = nullptr;
    QCPBars* m_before = nullptr;
    QCPBars* m_after = nullptr;
};

} // namespace basis::ui
