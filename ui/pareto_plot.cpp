#include "pareto_plot.h"

#include "method_registry.h"

#include <qcustomplot.h>

#include <QFile>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

namespace basis::ui {

namespace {

const QColor kColours[] = {QColor(0x1f, 0x77, 0xb4), QColor(0xd6, 0x27, 0x28), QColor(0x2c, 0xa0, 0x2c),
                           QColor(0x94, 0x67, 0xbd), QColor(0xff, 0x7f, 0x0e), QColor(0x8c, 0x56, 0x4b),
                           QColor(0xe3, 0x77, 0xc2), QColor(0x17, 0xbe, 0xcf), QColor(0xbc, 0xbd, 0x22)};
const QColor kDense(0x30, 0x30, 0x30);

bool isDense(const EvalResult& r) { return r.model.variant == "dense" && r.model.healed.empty(); }

// The marker of a run's allocator: what distinguishes runs of one method at one size.
QCPScatterStyle::ScatterShape shapeOf(const EvalResult& r)
{
    if (isDense(r))
        return QCPScatterStyle::ssDiamond;
    if (r.model.allocator == "greedy")
        return QCPScatterStyle::ssTriangle;
    if (r.model.allocator == "greedy-relative")
        return QCPScatterStyle::ssTriangleInverted;
    if (r.model.allocator == "loss")
        return QCPScatterStyle::ssSquare;
    return QCPScatterStyle::ssCircle;
}

QString allocatorName(const EvalResult& r)
{
    return r.model.budget > 0 ? QString::fromStdString(r.model.allocator.empty() ? "uniform" : r.model.allocator)
                              : QObject::tr("ratio rule");
}

QString settingsText(const EvalResult& r)
{
    if (isDense(r))
        return QObject::tr("dense");
    if (r.model.budget <= 0 && r.model.ratio <= 0)   // sized by other settings (a quantizer's bits and rank)
        return methodLabel(r.model) + (r.rank.isEmpty() ? QString() : QStringLiteral(" · ") + r.rank);
    const QString size = r.model.budget > 0 ? QObject::tr("budget %1 % (%2)").arg(r.model.budget).arg(allocatorName(r))
                                            : QObject::tr("ratio %1 %").arg(r.model.ratio);
    return QStringLiteral("%1 %2, g %3%4")
        .arg(methodLabel(r.model), size)
        .arg(r.model.groupSize)
        .arg(r.rank.isEmpty() ? QString() : QStringLiteral(" · ") + r.rank);
}

// Runs under dynamic-rank strategies are scored with the prompt protocol: the strategies of one prompt length are
// one evaluation on the plot (one picture for "same budget, different strategy"), each strategy a series.
QString plotEvaluation(const EvalResult& r)
{
    if (r.rank.isEmpty())
        return r.evaluation;
    QString e = r.evaluation;
    const int at = e.indexOf(QStringLiteral(", ") + r.rank);
    if (at >= 0)
        e.remove(at, r.rank.size() + 2);
    return e;
}

bool higherIsBetter(const EvalResult& r) { return !r.hasPpl() && std::isfinite(r.acc); }
double yOf(const EvalResult& r) { return r.hasPpl() ? r.ppl : r.acc; }
bool plottable(const EvalResult& r) { return (r.hasPpl() && r.ppl > 0) || std::isfinite(r.acc); }

} // namespace

QString paretoSeries(const EvalResult& r)
{
    if (isDense(r))
        return QObject::tr("dense");
    const CompressionMethod* m = findMethod(r.model.method);
    const bool grouped = m ? m->groupsLayers() : r.model.groupSize > 1;
    const QString method = grouped ? QStringLiteral("%1 g%2").arg(methodLabel(r.model)).arg(r.model.groupSize) : methodLabel(r.model);
    return r.rank.isEmpty() ? method : method + QStringLiteral(" · ") + r.rank;
}

std::vector<size_t> paretoFront(const std::vector<std::pair<double, double>>& xy)
{
    std::vector<size_t> order(xy.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return xy[a] < xy[b]; });
    std::vector<size_t> front;
    double best = std::numeric_limits<double>::infinity();
    for (size_t i : order)
        if (xy[i].second < best) {
            best = xy[i].second;
            front.push_back(i);
        }
    return front;
}

ParetoPlot::ParetoPlot(QWidget* parent) : QWidget(parent)
{
    m_plot = new QCustomPlot;
    m_plot->setMinimumHeight(260);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());   // labelled in redraw
    m_plot->legend->setVisible(true);
    // Top right is the dominated corner (more parameters and a higher perplexity): no point is ever hidden there
    // for long, while compressed models sit top left and the dense one bottom right.
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    m_plot->setMouseTracking(true);
    connect(m_plot, &QCustomPlot::mouseMove, this, &ParetoPlot::onMouseMove);
    connect(m_plot, &QCustomPlot::mousePress, this, &ParetoPlot::onMousePress);
    redraw();
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
}

void ParetoPlot::setResults(const std::vector<EvalResult>& results)
{
    m_results = results;
    redraw();
}

void ParetoPlot::setXAxis(XAxis x)
{
    m_x = x;
    redraw();
}

void ParetoPlot::setEvaluation(const QString& evaluation)
{
    m_asked = evaluation;
    redraw();
}

QStringList ParetoPlot::evaluations() const
{
    QStringList out;
    for (const EvalResult& r : m_results)
        if (plottable(r) && !out.contains(plotEvaluation(r)))
            out << plotEvaluation(r);
    return out;
}

double ParetoPlot::xOf(const EvalResult& r) const
{
    if (m_x == XAxis::SizeMB && r.model.bytes > 0)
        return double(r.model.bytes) / 1e6;
    return r.keptPercent();
}

void ParetoPlot::redraw()
{
    m_plot->clearGraphs();
    m_plot->clearItems();
    m_points.clear();
    m_series.clear();

    // The evaluation asked for, else the one with the most runs (the first of those).
    std::map<QString, int> counts;
    for (const EvalResult& r : m_results)
        if (plottable(r))
            ++counts[plotEvaluation(r)];
    m_shown = counts.count(m_asked) ? m_asked : QString();
    if (m_shown.isEmpty())
        for (const QString& e : evaluations())
            if (m_shown.isEmpty() || counts[e] > counts[m_shown])
                m_shown = e;
    std::vector<const EvalResult*> runs;
    for (const EvalResult& r : m_results)
        if (plottable(r) && plotEvaluation(r) == m_shown)
            runs.push_back(&r);
    const bool accuracy = !runs.empty() && higherIsBetter(*runs.front());

    m_plot->xAxis->setLabel(m_x == XAxis::SizeMB ? tr("Model size as stored (MB)") : tr("Parameters kept (% of the dense model)"));
    m_plot->yAxis->setLabel(accuracy ? tr("Accuracy (higher is better)") : tr("Perplexity (log scale, lower is better)"));
    m_plot->yAxis->setScaleType(accuracy ? QCPAxis::stLinear : QCPAxis::stLogarithmic);

    // Series in order of first appearance, the dense one last; each with its colour.
    std::vector<QString> order;
    std::map<QString, std::vector<const EvalResult*>> bySeries;
    const EvalResult* dense = nullptr;
    for (const EvalResult* r : runs) {
        if (isDense(*r)) {
            dense = r;
            continue;
        }
        const QString s = paretoSeries(*r);
        if (!bySeries.count(s))
            order.push_back(s);
        bySeries[s].push_back(r);
    }
    auto sign = [&](double y) { return accuracy ? -y : y; };
    std::set<QCPScatterStyle::ScatterShape> shapesUsed;
    for (size_t si = 0; si < order.size(); ++si) {
        const QColor colour = kColours[si % std::size(kColours)];
        const auto& points = bySeries[order[si]];
        // The front of the method, the dense point included (every method's front ends there).
        std::vector<std::pair<double, double>> xy;
        for (const EvalResult* r : points)
            xy.push_back({xOf(*r), sign(yOf(*r))});
        if (dense)
            xy.push_back({xOf(*dense), sign(yOf(*dense))});
        const std::vector<size_t> front = paretoFront(xy);
        if (front.size() > 1) {
            QVector<double> fx, fy;
            for (size_t i : front) {
                fx << xy[i].first;
                fy << sign(xy[i].second);
            }
            QCPGraph* line = m_plot->addGraph();
            line->setPen(QPen(colour, 1.2, Qt::DashLine));
            line->setData(fx, fy, true);
            line->removeFromLegend();
        }
        // One graph per marker shape; the first carries the series' legend entry.
        std::map<int, std::pair<QVector<double>, QVector<double>>> byShape;
        for (const EvalResult* r : points) {
            byShape[int(shapeOf(*r))].first << xOf(*r);
            byShape[int(shapeOf(*r))].second << yOf(*r);
            shapesUsed.insert(shapeOf(*r));
        }
        bool named = false;
        for (auto& [shape, data] : byShape) {
            QCPGraph* g = m_plot->addGraph();
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ScatterShape(shape), QPen(colour.darker(130), 1.5), colour, 9));
            g->setData(data.first, data.second);
            g->setName(order[si]);
            if (named)
                g->removeFromLegend();
            named = true;
        }
        m_series << order[si];
    }
    if (dense) {
        QCPGraph* g = m_plot->addGraph();
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(kDense, 1.5), QColor(0x90, 0x90, 0x90), 13));
        g->setData({xOf(*dense)}, {yOf(*dense)});
        g->setName(tr("dense"));
        m_series << tr("dense");
    }
    // What the markers mean, when more than one allocator is drawn (grey, no data).
    if (shapesUsed.size() > 1)
        for (auto [shape, name] : {std::pair{QCPScatterStyle::ssCircle, tr("○ ratio rule / uniform budget")},
                                   std::pair{QCPScatterStyle::ssTriangle, tr("△ greedy allocator")},
                                   std::pair{QCPScatterStyle::ssTriangleInverted, tr("▽ greedy, relative energy")},
                                   std::pair{QCPScatterStyle::ssSquare, tr("□ loss-aware allocator")}}) {
            if (!shapesUsed.count(shape))
                continue;
            QCPGraph* g = m_plot->addGraph();
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(shape, QPen(Qt::gray, 1.5), Qt::white, 9));
            g->setName(name.mid(2));
        }
    if (!order.empty()) {
        QCPGraph* legendLine = m_plot->addGraph();
        legendLine->setPen(QPen(Qt::gray, 1.2, Qt::DashLine));
        legendLine->setName(tr("front of each method"));
    }

    double xMin = std::numeric_limits<double>::infinity(), xMax = -xMin, yMin = xMin, yMax = -xMin;
    const bool labels = runs.size() <= 10;   // beyond that the legend and the hover text name the points
    for (const EvalResult* r : runs) {
        const double x = xOf(*r), y = yOf(*r);
        xMin = std::min(xMin, x);
        xMax = std::max(xMax, x);
        yMin = std::min(yMin, y);
        yMax = std::max(yMax, y);
        const QString size = r->model.bytes > 0 ? tr(", %1 MB").arg(double(r->model.bytes) / 1e6, 0, 'f', 3) : QString();
        m_points.push_back({x, y,
                            tr("%1 (%2)\n%3\nparameters %4 (%5 % kept%6)\n%7 %8")
                                    .arg(settingsText(*r), QString::fromStdString(r->model.variant), r->evaluation)
                                    .arg(r->model.parameters)
                                    .arg(r->keptPercent(), 0, 'f', 2)
                                    .arg(size, accuracy ? tr("accuracy") : tr("perplexity"))
                                    .arg(y, 0, 'f', 4) +
                                (std::isfinite(r->rankShare)
                                     ? tr("\nrank channels computed %1 %, energy kept %2")
                                           .arg(100.0 * r->rankShare, 0, 'f', 1)
                                           .arg(std::isfinite(r->rankEnergy)
                                                    ? QString::number(100.0 * r->rankEnergy, 'f', 2) + QStringLiteral(" %")
                                                    : tr("not measured"))
                                     : QString()),
                            *r});
    }
    if (runs.empty()) {
        m_plot->xAxis->setRange(0, 100);
        m_plot->yAxis->setRange(accuracy ? 0 : 1, accuracy ? 1 : 100);
    } else {
        const double span = std::max(xMax - xMin, m_x == XAxis::SizeMB ? xMax * 0.1 : 10.0);
        // Room on the right of the rightmost point for its label.
        m_plot->xAxis->setRange(xMin - 0.15 * span, xMax + (labels ? 0.35 : 0.25) * span);
        if (accuracy)
            m_plot->yAxis->setRange(yMin - 0.1 * std::max(yMax - yMin, 0.02), yMax + 0.25 * std::max(yMax - yMin, 0.02));
        else
            m_plot->yAxis->setRange(yMin / 1.35, yMax * 1.35);
    }
    // Labels beside the points, unless one would sit on an earlier one (the same size, close values): that
    // point is named by its hover text and the legend instead.
    if (labels) {
        const QCPRange xr = m_plot->xAxis->range(), yr = m_plot->yAxis->range();
        auto yFrac = [&](double y) {
            return accuracy ? (y - yr.lower) / yr.size() : std::log(y / yr.lower) / std::log(yr.upper / yr.lower);
        };
        std::vector<std::pair<double, double>> placed;
        for (const Point& p : m_points) {
            const double fx = (p.x - xr.lower) / xr.size(), fy = yFrac(p.y);
            const bool clash = std::any_of(placed.begin(), placed.end(), [&](const auto& q) {
                return std::abs(q.first - fx) < 0.2 && std::abs(q.second - fy) < 0.045;
            });
            if (clash)
                continue;
            placed.push_back({fx, fy});
            auto* label = new QCPItemText(m_plot);
            label->position->setCoords(p.x, p.y);
            label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
            label->setPadding(QMargins(8, 0, 0, 4));
            label->setText(QStringLiteral("%1: %2").arg(settingsText(p.run)).arg(p.y, 0, 'f', accuracy ? 4 : 2));
            label->setColor(QColor(0x40, 0x40, 0x40));
        }
    }
    auto ticker = qSharedPointerCast<QCPAxisTickerText>(m_plot->yAxis->ticker());
    ticker->clear();
    const QCPRange range = m_plot->yAxis->range();
    if (accuracy) {
        // A round step (1, 2 or 5 times a power of ten) for about five ticks.
        const double raw = range.size() / 5, unit = std::pow(10.0, std::floor(std::log10(raw)));
        const double step = raw / unit < 1.5 ? unit : raw / unit < 3.5 ? 2 * unit : raw / unit < 7.5 ? 5 * unit : 10 * unit;
        for (double v = std::ceil(range.lower / step) * step; v <= range.upper; v += step)
            ticker->addTick(v, QString::number(v, 'g', 4));
    } else {
        // A log axis over one or two decades gets few powers of ten: label 1, 1.5, 2, 3, 5, 7 of every decade instead.
        for (int e = int(std::floor(std::log10(range.lower))); e <= int(std::ceil(std::log10(range.upper))); ++e)
            for (double m : {1.0, 1.5, 2.0, 3.0, 5.0, 7.0}) {
                const double v = m * std::pow(10.0, e);
                if (v >= range.lower && v <= range.upper)
                    ticker->addTick(v, QString::number(v, 'g', 4));
            }
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

const EvalResult* ParetoPlot::pointAt(const QPointF& pixel) const
{
    double best = 12 * 12;
    const EvalResult* found = nullptr;
    for (const Point& p : m_points) {
        const double dx = m_plot->xAxis->coordToPixel(p.x) - pixel.x();
        const double dy = m_plot->yAxis->coordToPixel(p.y) - pixel.y();
        if (dx * dx + dy * dy <= best) {
            best = dx * dx + dy * dy;
            found = &p.run;
        }
    }
    return found;
}

QString ParetoPlot::pointTextAt(const QPointF& pixel) const
{
    const EvalResult* r = pointAt(pixel);
    if (!r)
        return {};
    for (const Point& p : m_points)
        if (&p.run == r)
            return p.text;
    return {};
}

QPointF ParetoPlot::pixelOf(const EvalResult& r)
{
    m_plot->replot();
    return {m_plot->xAxis->coordToPixel(xOf(r)), m_plot->yAxis->coordToPixel(yOf(r))};
}

QPointF ParetoPlot::pixelOf(double keptPercent, double ppl)
{
    m_plot->replot();
    return {m_plot->xAxis->coordToPixel(keptPercent), m_plot->yAxis->coordToPixel(ppl)};
}

void ParetoPlot::onMouseMove(QMouseEvent* event)
{
    const QString text = pointTextAt(event->position());
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, m_plot);
}

void ParetoPlot::onMousePress(QMouseEvent* event)
{
    if (const EvalResult* r = pointAt(event->position()))
        emit pointClicked(*r);
}

QSize ParetoPlot::exportSize() const { return m_plot->size().expandedTo(QSize(800, 500)); }

bool ParetoPlot::savePng(const QString& file, QString* error)
{
    const QSize s = exportSize();
    QSaveFile out(file);
    const QPixmap pixmap = m_plot->toPixmap(s.width(), s.height(), 2.0);
    if (out.open(QIODevice::WriteOnly) && pixmap.save(&out, "PNG") && out.commit())
        return true;
    if (error)
        *error = tr("cannot write the PNG %1: %2").arg(file, out.errorString());
    return false;
}

bool ParetoPlot::savePdf(const QString& file, QString* error)
{
    // QCustomPlot writes a PDF only to a named file: write a sibling, then rename it over the target.
    const QSize s = exportSize();
    const QString temp = file + QStringLiteral(".part");
    std::error_code ec;
    if (m_plot->savePdf(temp, s.width(), s.height())) {
        std::filesystem::rename(temp.toStdString(), file.toStdString(), ec);
        if (!ec)
            return true;
    }
    QFile::remove(temp);
    if (error)
        *error = tr("cannot write the PDF %1%2").arg(file, ec ? QStringLiteral(": ") + QString::fromStdString(ec.message())
                                                              : QString());
    return false;
}

bool ParetoPlot::saveSvg(const QString& file, QString* error)
{
    // QCustomPlot draws onto any QPainter: an SVG generator writing into a QSaveFile keeps the write atomic.
    const QSize s = exportSize();
    QSaveFile out(file);
    if (out.open(QIODevice::WriteOnly)) {
        QSvgGenerator svg;
        svg.setOutputDevice(&out);
        svg.setSize(s);
        svg.setViewBox(QRect(QPoint(0, 0), s));
        svg.setTitle(tr("Basis Studio Pareto view"));
        QCPPainter painter;
        if (painter.begin(&svg)) {
            m_plot->toPainter(&painter, s.width(), s.height());
            painter.end();
            if (out.commit())
                return true;
        }
    }
    if (error)
        *error = tr("cannot write the SVG %1: %2").arg(file, out.errorString());
    return false;
}

} // namespace basis::ui
