#include "pareto_plot.h"

#include <qcustomplot.h>

#include <QFile>
#include <QSaveFile>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

namespace basis::ui {

namespace {

const QColor kColours[] = {QColor(0x1f, 0x77, 0xb4), QColor(0xd6, 0x27, 0x28), QColor(0x2c, 0xa0, 0x2c),
                           QColor(0x94, 0x67, 0xbd), QColor(0xff, 0x7f, 0x0e), QColor(0x8c, 0x56, 0x4b)};

QString pointLabel(const EvalResult& r)
{
    if (r.model.variant == "dense" && r.model.healed.empty())
        return QObject::tr("dense");
    // A run under a dynamic-rank strategy sits at its model's parameters kept (the stored weights), named by the
    // strategy: the rank channels it computed are in the tooltip, not on the x axis.
    return QStringLiteral("%1 %2 %, g %3%4")
        .arg(methodLabel(r.model))
        .arg(r.model.ratio)
        .arg(r.model.groupSize)
        .arg(r.rank.isEmpty() ? QString() : QStringLiteral(" · ") + r.rank);
}

} // namespace

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
    m_plot->xAxis->setLabel(tr("Parameters kept (% of the dense model)"));
    m_plot->yAxis->setLabel(tr("Perplexity (log scale, lower is better)"));
    m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());   // labelled in setResults
    m_plot->legend->setVisible(true);
    // Top right is the dominated corner (more parameters and a higher perplexity): no point is ever hidden there
    // for long, while compressed models sit top left and the dense one bottom right.
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    m_plot->setMouseTracking(true);
    connect(m_plot, &QCustomPlot::mouseMove, this, &ParetoPlot::onMouseMove);
    setResults({});
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
}

void ParetoPlot::setResults(const std::vector<EvalResult>& results)
{
    m_plot->clearGraphs();
    m_plot->clearItems();
    m_points.clear();

    // One colour per evaluation, in the order they first appear.
    std::vector<QString> evaluations;
    std::map<QString, std::vector<const EvalResult*>> byEvaluation;
    for (const EvalResult& r : results) {
        if (!r.hasPpl() || r.ppl <= 0)
            continue;
        if (!byEvaluation.count(r.evaluation))
            evaluations.push_back(r.evaluation);
        byEvaluation[r.evaluation].push_back(&r);
    }
    double xMin = 100, xMax = 100, yMin = std::numeric_limits<double>::infinity(), yMax = 0;
    for (size_t e = 0; e < evaluations.size(); ++e) {
        const QColor colour = kColours[e % std::size(kColours)];
        const auto& runs = byEvaluation[evaluations[e]];
        std::vector<std::pair<double, double>> xy;
        for (const EvalResult* r : runs)
            xy.push_back({r->keptPercent(), r->ppl});

        auto scatter = [&](bool dense) {
            QVector<double> x, y;
            for (const EvalResult* r : runs)
                if ((r->model.variant == "dense") == dense) {
                    x << r->keptPercent();
                    y << r->ppl;
                }
            if (x.isEmpty())
                return;
            QCPGraph* g = m_plot->addGraph();
            g->setName((dense ? tr("dense – %1") : tr("compressed – %1")).arg(evaluations[e]));
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(dense ? QCPScatterStyle::ssDiamond : QCPScatterStyle::ssCircle,
                                               QPen(colour.darker(130), 1.5), colour, dense ? 13 : 9));
            g->setData(x, y);
        };
        const std::vector<size_t> front = paretoFront(xy);
        if (front.size() > 1) {
            QVector<double> fx, fy;
            for (size_t i : front) {
                fx << xy[i].first;
                fy << xy[i].second;
            }
            QCPGraph* line = m_plot->addGraph();
            line->setPen(QPen(colour, 1.2, Qt::DashLine));
            line->setData(fx, fy, true);
            line->setName(tr("Pareto front – %1").arg(evaluations[e]));
            if (e > 0)
                line->removeFromLegend();   // one legend line says what dashes mean
            else
                line->setName(tr("Pareto front"));
        }
        scatter(true);
        scatter(false);

        for (const EvalResult* r : runs) {
            const double x = r->keptPercent(), y = r->ppl;
            xMin = std::min(xMin, x);
            xMax = std::max(xMax, x);
            yMin = std::min(yMin, y);
            yMax = std::max(yMax, y);
            auto* label = new QCPItemText(m_plot);
            label->position->setCoords(x, y);
            label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
            label->setPadding(QMargins(8, 0, 0, 4));
            label->setText(QStringLiteral("%1: %2").arg(pointLabel(*r)).arg(y, 0, 'f', 2));
            label->setColor(colour.darker(140));
            m_points.push_back({x, y, tr("%1 (%2)\n%3\nparameters %4 (%5 % kept)\nperplexity %6")
                                          .arg(pointLabel(*r), QString::fromStdString(r->model.variant), r->evaluation)
                                          .arg(r->model.parameters)
                                          .arg(r->keptPercent(), 0, 'f', 2)
                                          .arg(r->ppl, 0, 'f', 4) +
                                      (std::isfinite(r->rankShare)
                                           ? tr("\nrank channels computed %1 %, energy kept %2")
                                                 .arg(100.0 * r->rankShare, 0, 'f', 1)
                                                 .arg(std::isfinite(r->rankEnergy) ? QString::number(100.0 * r->rankEnergy, 'f', 2) + QStringLiteral(" %")
                                                                                   : tr("not measured"))
                                           : QString())});
        }
    }
    const double span = std::max(xMax - xMin, 10.0);
    // Room on the right of the rightmost point for its label.
    m_plot->xAxis->setRange(xMin - 0.15 * span, xMax + 0.35 * span);
    if (yMax > 0)
        m_plot->yAxis->setRange(yMin / 1.35, yMax * 1.35);
    else
        m_plot->yAxis->setRange(1, 100);
    // A log axis over one or two decades gets few powers of ten: label 1, 1.5, 2, 3, 5, 7 of every decade instead.
    auto ticker = qSharedPointerCast<QCPAxisTickerText>(m_plot->yAxis->ticker());
    ticker->clear();
    const QCPRange r = m_plot->yAxis->range();
    for (int e = int(std::floor(std::log10(r.lower))); e <= int(std::ceil(std::log10(r.upper))); ++e)
        for (double m : {1.0, 1.5, 2.0, 3.0, 5.0, 7.0}) {
            const double v = m * std::pow(10.0, e);
            if (v >= r.lower && v <= r.upper)
                ticker->addTick(v, QString::number(v, 'g', 4));
        }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString ParetoPlot::pointTextAt(const QPointF& pixel) const
{
    double best = 12 * 12;
    QString text;
    for (const Point& p : m_points) {
        const double dx = m_plot->xAxis->coordToPixel(p.x) - pixel.x();
        const double dy = m_plot->yAxis->coordToPixel(p.y) - pixel.y();
        if (dx * dx + dy * dy <= best) {
            best = dx * dx + dy * dy;
            text = p.text;
        }
    }
    return text;
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

} // namespace basis::ui
