#pragma once
// Parameters kept (%) against perplexity (log axis) of every perplexity run, one colour per evaluation
// (dataset, context, protocol): the dense model as a diamond, compressed models as circles, and the Pareto
// front (no other run of that evaluation has both fewer parameters and a lower perplexity) as a dashed line.
// Hovering a point shows its run.
#include "eval_results_model.h"

#include <QWidget>

#include <vector>

class QCustomPlot;
class QMouseEvent;

namespace basis::ui {

class ParetoPlot : public QWidget {
    Q_OBJECT
public:
    explicit ParetoPlot(QWidget* parent = nullptr);
    void setResults(const std::vector<EvalResult>& results);
    QCustomPlot* plot() const { return m_plot; }

    // Export at the widget's size (at least 800 x 500); false and the reason otherwise.
    bool savePng(const QString& file, QString* error);
    bool savePdf(const QString& file, QString* error);

    // Text of the point nearest to a pixel (within 12 px), as the hover tooltip shows it; empty when none.
    QString pointTextAt(const QPointF& pixel) const;
    // Where a (parameters kept %, perplexity) point is drawn, in the plot's pixels, after a replot.
    QPointF pixelOf(double keptPercent, double ppl);

private:
    void onMouseMove(QMouseEvent* event);
    QSize exportSize() const;

    struct Point {
        double x, y;
        QString text;
    };
    QCustomPlot* m_plot = nullptr;
    std::vector<Point> m_points;
};

// Indices of the points on the lower-left front (fewer parameters and lower perplexity are both better), by x.
std::vector<size_t> paretoFront(const std::vector<std::pair<double, double>>& xy);

} // namespace basis::ui
