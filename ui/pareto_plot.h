#pragma once
// Every run of one evaluation as a point: x = parameters kept (% of the dense model) or the model's size in MB
// as stored, y = perplexity (log axis) or, for a zero-shot task, accuracy. One colour per method (and group size,
// for methods that share bases across layers), one marker per rank allocator (circle: the ratio rule or a uniform
// budget, triangle: greedy, inverted triangle: greedy on relative energy, square: loss-aware; diamond: the dense
// model), and a dashed front per method (no other
// run of that method, or the dense model, is both smaller and better). Hovering a point shows its run; clicking it
// emits pointClicked with the run, so its settings can be loaded into the controls.
#include "eval_results_model.h"

#include <QWidget>

#include <vector>

class QCustomPlot;
class QMouseEvent;

namespace basis::ui {

class ParetoPlot : public QWidget {
    Q_OBJECT
public:
    enum class XAxis { KeptPercent, SizeMB };

    explicit ParetoPlot(QWidget* parent = nullptr);
    void setResults(const std::vector<EvalResult>& results);
    void setXAxis(XAxis x);
    XAxis xAxis() const { return m_x; }
    // Which evaluation is drawn; empty (the default): the one with the most runs. evaluations() lists them all.
    void setEvaluation(const QString& evaluation);
    QString evaluation() const { return m_shown; }
    QStringList evaluations() const;
    QCustomPlot* plot() const { return m_plot; }
    // The series drawn, by legend name ("basis-sharing g2", "svd-llm", "dense"), in legend order.
    QStringList seriesNames() const { return m_series; }

    // Export at the widget's size (at least 800 x 500); false and the reason otherwise.
    bool savePng(const QString& file, QString* error);
    bool savePdf(const QString& file, QString* error);
    bool saveSvg(const QString& file, QString* error);

    // Text of the point nearest to a pixel (within 12 px), as the hover tooltip shows it; empty when none.
    QString pointTextAt(const QPointF& pixel) const;
    // The run drawn nearest to a pixel (within 12 px), or null.
    const EvalResult* pointAt(const QPointF& pixel) const;
    // Where a run is drawn, in the plot's pixels, after a replot.
    QPointF pixelOf(const EvalResult& r);
    QPointF pixelOf(double keptPercent, double ppl);

signals:
    void pointClicked(const basis::ui::EvalResult& run);

private:
    void redraw();
    void onMouseMove(QMouseEvent* event);
    void onMousePress(QMouseEvent* event);
    QSize exportSize() const;
    double xOf(const EvalResult& r) const;

    struct Point {
        double x, y;
        QString text;
        EvalResult run;
    };
    QCustomPlot* m_plot = nullptr;
    std::vector<EvalResult> m_results;
    std::vector<Point> m_points;
    QStringList m_series;
    QString m_asked, m_shown;
    XAxis m_x = XAxis::KeptPercent;
};

// Indices of the points on the lower-left front (fewer parameters and lower perplexity are both better), by x.
std::vector<size_t> paretoFront(const std::vector<std::pair<double, double>>& xy);

// The series a run belongs to: "dense", "svd-llm", "basis-sharing g2", "basis-sharing + healed (lora) g2".
QString paretoSeries(const EvalResult& r);

} // namespace basis::ui
