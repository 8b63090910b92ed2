#include "utilization_view.h"

#include "feature_spectra_view.h"

#include <qcustomplot.h>

#include <QLabel>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace basis::ui {

UtilizationView::UtilizationView(QWidget* parent) : QWidget(parent)
{
    m_status = new QLabel;
    m_status->setWordWrap(true);
    m_mlu = new QLabel;
    QFont big = font();
    big.setPointSize(big.pointSize() + 2);
    big.setBold(true);
    m_mlu->setFont(big);

    m_plot = new QCustomPlot;
    m_plot->setMouseTracking(true);
    m_plot->setMinimumSize(400, 300);
    m_plot->xAxis->grid()->setVisible(false);
    m_plot->yAxis->grid()->setVisible(false);
    m_plot->yAxis->setRangeReversed(true);   // first layer at the top, as in the Layers table
    m_plot->xAxis->setLabel(tr("part (projection)"));
    m_plot->yAxis->setLabel(tr("layer"));
    m_map = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_map->setInterpolate(false);
    m_map->setTightBoundary(false);
    m_scale = new QCPColorScale(m_plot);
    m_plot->plotLayout()->addElement(0, 1, m_scale);
    m_scale->setType(QCPAxis::atRight);
    m_scale->setBarWidth(14);
    m_scale->axis()->setLabel(tr("utilization r / min(m, d) (%)"));
    auto* margins = new QCPMarginGroup(m_plot);
    m_plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_map->setColorScale(m_scale);
    QCPColorGradient g;   // viridis stops, as the Heatmaps tab
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(0x44, 0x01, 0x54));
    g.setColorStopAt(0.25, QColor(0x3b, 0x52, 0x8b));
    g.setColorStopAt(0.5, QColor(0x21, 0x91, 0x8c));
    g.setColorStopAt(0.75, QColor(0x5e, 0xc9, 0x62));
    g.setColorStopAt(1.0, QColor(0xfd, 0xe7, 0x25));
    g.setNanHandling(QCPColorGradient::nhNanColor);
    g.setNanColor(QColor(0xf0, 0xf0, 0xf0));
    m_map->setGradient(g);
    m_map->setDataRange(QCPRange(0, 100));

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_mlu);
    layout->addWidget(m_status);
    layout->addWidget(m_plot, 1);
    connect(m_plot, &QCustomPlot::mouseMove, this, &UtilizationView::hover);
    setSummary(nullptr, tr("Choose a feature-space method (utilized, hybrid, weight-svd, sfsd) and calibrate to see "
                           "how much of each projection's rank the data use."));
}

void UtilizationView::setSummary(const FeatureSpaceSummary* summary, const QString& status)
{
    if (summary)
        m_summary = *summary;
    else
        m_summary.reset();
    m_status->setText(status);
    m_status->setVisible(!status.isEmpty());
    redraw();
}

const FeatureProjection* UtilizationView::at(int64_t layer, int partColumn) const
{
    if (!m_summary || partColumn < 0 || size_t(partColumn) >= m_summary->parts.size())
        return nullptr;
    for (const FeatureProjection& p : m_summary->projections)
        if (p.layer == layer && p.part == m_summary->parts[size_t(partColumn)])
            return &p;
    return nullptr;
}

QString UtilizationView::cellText(int64_t layer, int partColumn) const
{
    const FeatureProjection* p = at(layer, partColumn);
    if (!p)
        return {};
    return tr("layer %1, %2: utilization %3 %\n%4")
        .arg(layer)
        .arg(QString::fromStdString(p->part))
        .arg(100.0 * p->utilization, 0, 'f', 1)
        .arg(featureCutText(*p));
}

void UtilizationView::redraw()
{
    for (QCPAbstractItem* item : m_items)
        m_plot->removeItem(item);
    m_items.clear();
    auto xTicks = QSharedPointer<QCPAxisTickerText>::create();
    auto yTicks = QSharedPointer<QCPAxisTickerText>::create();
    const int nx = m_summary ? int(m_summary->parts.size()) : 0;
    const int ny = m_summary ? int(m_summary->layers) : 0;
    if (nx == 0 || ny == 0) {
        m_map->data()->clear();
        m_mlu->setText(tr("MLU: –"));
    } else {
        m_mlu->setText(tr("%1: mean layer utilization (MLU) %2 % over %3 projections; %4 stay dense%5")
                           .arg(QString::fromStdString(m_summary->settings.method))
                           .arg(100.0 * m_summary->mlu, 0, 'f', 1)
                           .arg(m_summary->projections.size())
                           .arg(std::count_if(m_summary->projections.begin(), m_summary->projections.end(),
                                              [](const FeatureProjection& p) { return p.dense; }))
                           .arg(m_summary->flips ? tr(" (%1 made dense by the policy)").arg(m_summary->flips) : QString()));
        m_map->data()->setSize(nx, ny);
        m_map->data()->setRange(QCPRange(0, std::max(nx - 1, 1)), QCPRange(0, std::max(ny - 1, 1)));
        for (int x = 0; x < nx; ++x)
            xTicks->addTick(x, QString::fromStdString(m_summary->parts[size_t(x)]));
        const int step = ny <= 40 ? 1 : (ny <= 80 ? 2 : 4);
        for (int y = 0; y < ny; y += step)
            yTicks->addTick(y, tr("layer %1").arg(y));
        const bool labels = nx * ny <= 600;
        for (int x = 0; x < nx; ++x)
            for (int y = 0; y < ny; ++y) {
                const FeatureProjection* p = at(y, x);
                const double v = p && p->chosen >= 0 ? 100.0 * p->utilization : qQNaN();
                m_map->data()->setCell(x, y, v);
                if (!p)
                    continue;
                if (labels) {
                    auto* t = new QCPItemText(m_plot);
                    t->position->setCoords(x, y);
                    t->setText(p->chosen < 0 ? tr("dense")
                                             : tr("%1 %\nr = %2").arg(v, 0, 'f', 1).arg(p->chosen));
                    t->setColor(std::isnan(v) || v >= 60 ? Qt::black : Qt::white);
                    t->setClipToAxisRect(true);
                    m_items.push_back(t);
                }
                if (p->dense) {   // kept dense: W unchanged whatever its utilization
                    auto* r = new QCPItemRect(m_plot);
                    r->topLeft->setCoords(x - 0.46, y - 0.46);
                    r->bottomRight->setCoords(x + 0.46, y + 0.46);
                    r->setPen(QPen(QColor(0xc0, 0x10, 0x10), 2, Qt::DashLine));
                    r->setBrush(Qt::NoBrush);
                    m_items.push_back(r);
                }
            }
        m_status->setText(m_status->text().isEmpty()
                              ? tr("Each cell: the rank r the setting chooses over min(m, d). Red dashed outline: the "
                                   "projection stays dense (r (m + d) ≥ m d, or the policy's rank does not pay). Hover "
                                   "for values.")
                              : m_status->text());
        m_status->setVisible(true);
    }
    m_plot->xAxis->setTicker(xTicks);
    m_plot->yAxis->setTicker(yTicks);
    m_plot->xAxis->setRange(-0.5, nx - 0.5);
    m_plot->yAxis->setRange(-0.5, ny - 0.5);
    m_plot->replot();
}

void UtilizationView::hover(QMouseEvent* event)
{
    const QPointF pos = event->position();
    const int x = int(std::lround(m_plot->xAxis->pixelToCoord(pos.x())));
    const int y = int(std::lround(m_plot->yAxis->pixelToCoord(pos.y())));
    const QString text = cellText(y, x);
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, m_plot);
}

} // namespace basis::ui
