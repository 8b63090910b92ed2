#include "heatmap_view.h"

#include "plot_gradients.h"

#include <qcustomplot.h>

#include <QLabel>
#include <QSplitter>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace basis::ui {

namespace {

QString percent(double fraction) { return QString::number(100.0 * fraction, 'f', 1) + QStringLiteral(" %"); }

QCustomPlot* makePlot()
{
    auto* p = new QCustomPlot;
    p->setMouseTracking(true);
    p->setMinimumSize(300, 280);
    p->xAxis->grid()->setVisible(false);
    p->yAxis->grid()->setVisible(false);
    p->yAxis->setRangeReversed(true);   // first layer at the top, as in the Layers table
    p->axisRect()->setupFullAxesBox(false);
    p->xAxis2->setVisible(false);
    p->yAxis2->setVisible(false);
    return p;
}

} // namespace

HeatmapView::HeatmapView(QWidget* parent) : QWidget(parent)
{
    m_status = new QLabel;
    m_status->setWordWrap(true);

    m_energyPlot = makePlot();
    m_energyPlot->xAxis->setLabel(tr("part (projection)"));
    m_energyPlot->yAxis->setLabel(tr("layer"));
    m_energyPlot->plotLayout()->insertRow(0);
    m_energyPlot->plotLayout()->addElement(0, 0, new QCPTextElement(m_energyPlot, tr("Energy kept at the current setting"),
                                                                     QFont(font().family(), font().pointSize() + 1, QFont::Bold)));
    m_energyMap = new QCPColorMap(m_energyPlot->xAxis, m_energyPlot->yAxis);
    m_energyMap->setInterpolate(false);
    m_energyMap->setTightBoundary(false);
    auto* energyMargins = new QCPMarginGroup(m_energyPlot);
    m_energyPlot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, energyMargins);
    m_energyScale = new QCPColorScale(m_energyPlot);
    m_energyPlot->plotLayout()->addElement(1, 1, m_energyScale);
    m_energyScale->setType(QCPAxis::atRight);
    m_energyScale->setBarWidth(14);
    m_energyScale->axis()->setLabel(tr("energy kept: (s_1² + … + s_k²) / Σ s² (%)"));
    m_energyScale->setMarginGroup(QCP::msBottom | QCP::msTop, energyMargins);
    m_energyMap->setColorScale(m_energyScale);
    QCPColorGradient eg = viridisGradient();
    eg.setNanHandling(QCPColorGradient::nhNanColor);
    eg.setNanColor(QColor(0xf0, 0xf0, 0xf0));   // dense parts: nothing cut
    m_energyMap->setGradient(eg);

    m_maskPlot = makePlot();
    m_maskPlot->xAxis->setLabel(tr("singular-value index i of the group's S·W (1 = largest)"));
    m_maskPlot->yAxis->setLabel(tr("part · layer"));
    m_maskPlot->plotLayout()->insertRow(0);
    m_maskPlot->plotLayout()->addElement(
        0, 0, new QCPTextElement(m_maskPlot, tr("Truncation mask: kept components coloured by energy share, dropped ones grey"),
                                 QFont(font().family(), font().pointSize() + 1, QFont::Bold)));
    auto logTicker = QSharedPointer<QCPAxisTickerLog>::create();
    m_droppedMap = new QCPColorMap(m_maskPlot->xAxis, m_maskPlot->yAxis);
    m_keptMap = new QCPColorMap(m_maskPlot->xAxis, m_maskPlot->yAxis);
    auto* maskMargins = new QCPMarginGroup(m_maskPlot);
    m_maskPlot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, maskMargins);
    m_keptScale = new QCPColorScale(m_maskPlot);
    m_droppedScale = new QCPColorScale(m_maskPlot);
    m_maskPlot->plotLayout()->addElement(1, 1, m_keptScale);
    m_maskPlot->plotLayout()->addElement(1, 2, m_droppedScale);
    for (auto [map, scale, label, gradient] :
         {std::tuple{m_keptMap, m_keptScale, tr("kept: energy share s_i² / Σ s² (%)"), viridisGradient()},
          std::tuple{m_droppedMap, m_droppedScale, tr("dropped: energy share (%)"), greysGradient()}}) {
        map->setInterpolate(false);
        map->setTightBoundary(false);
        scale->setType(QCPAxis::atRight);
        scale->setBarWidth(14);
        scale->axis()->setLabel(label);
        scale->setDataScaleType(QCPAxis::stLogarithmic);
        scale->axis()->setTicker(logTicker);
        scale->axis()->setNumberFormat(QStringLiteral("gb"));
        scale->setMarginGroup(QCP::msBottom | QCP::msTop, maskMargins);
        map->setColorScale(scale);
        map->setGradient(gradient);
        map->setDataScaleType(QCPAxis::stLogarithmic);
    }

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(m_energyPlot);
    splitter->addWidget(m_maskPlot);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);
    splitter->setSizes({620, 940});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_status);
    layout->addWidget(splitter, 1);

    connect(m_energyPlot, &QCustomPlot::mouseMove, this, &HeatmapView::hoverEnergy);
    connect(m_maskPlot, &QCustomPlot::mouseMove, this, &HeatmapView::hoverMask);
    redraw();
}

void HeatmapView::setPlan(const CompressionPlan& plan, const EnergyTable* energy)
{
    m_plan = planCut(plan);
    m_energy = energy;
    m_dirty = true;
    if (isVisible())
        redraw();
}

void HeatmapView::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    if (m_dirty)
        redraw();
}

std::optional<double> HeatmapView::energyOf(const PartCut& part, int64_t layer) const
{
    if (!m_energy || !part.compressed)
        return std::nullopt;
    const int64_t g = part.groupOf(layer);
    if (size_t(g) >= part.groups.size())
        return std::nullopt;
    return m_energy->energy(part.groupSize, part.part, g, part.groups[size_t(g)].k);
}

void HeatmapView::clearItems(QCustomPlot* plot, std::vector<QCPAbstractItem*>& items)
{
    for (QCPAbstractItem* item : items)
        plot->removeItem(item);
    items.clear();
}

void HeatmapView::redraw()
{
    m_dirty = false;
    if (m_plan.empty())
        m_status->setText(tr("No setting: open a model and choose a valid compression setting."));
    else if (!m_energy)
        m_status->setText(tr("Calibrate to see the energy each layer and part keeps: it is read from the singular values "
                             "of the weights whitened by the calibration statistics."));
    else
        m_status->setText(tr("%1 % of the target weights removed, group size %2. Left: energy kept per layer and part "
                             "(white boxes: layers sharing one basis). Right: each row is a part in a layer, each column a "
                             "singular value of its group; layers of one group have identical rows because they share "
                             "the basis. Hover for values.")
                              .arg(m_plan.ratio)
                              .arg(m_plan.groupSize));
    drawEnergy();
    drawMask();
    m_energyPlot->replot(QCustomPlot::rpQueuedReplot);
    m_maskPlot->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapView::drawEnergy()
{
    clearItems(m_energyPlot, m_energyItems);
    const int nx = int(m_plan.parts.size());
    const int ny = int(m_plan.layers);
    auto xTicks = QSharedPointer<QCPAxisTickerText>::create();
    auto yTicks = QSharedPointer<QCPAxisTickerText>::create();
    if (nx == 0 || ny == 0) {
        m_energyMap->data()->clear();
        m_energyPlot->xAxis->setTicker(xTicks);
        m_energyPlot->yAxis->setTicker(yTicks);
        return;
    }
    // A size-1 dimension needs a non-empty range for the cell to have a width.
    m_energyMap->data()->setSize(nx, ny);
    m_energyMap->data()->setRange(QCPRange(0, std::max(nx - 1, 1)), QCPRange(0, std::max(ny - 1, 1)));
    double lo = 100;
    for (int x = 0; x < nx; ++x) {
        const PartCut& part = m_plan.parts[size_t(x)];
        xTicks->addTick(x, QString::fromStdString(part.part));
        for (int y = 0; y < ny; ++y) {
            const auto e = energyOf(part, y);
            const double v = e ? 100.0 * *e : qQNaN();
            m_energyMap->data()->setCell(x, y, v);
            if (e)
                lo = std::min(lo, v);
        }
    }
    const int step = ny <= 40 ? 1 : (ny <= 80 ? 2 : 4);
    for (int y = 0; y < ny; y += step)
        yTicks->addTick(y, tr("layer %1").arg(y));
    m_energyPlot->xAxis->setTicker(xTicks);
    m_energyPlot->yAxis->setTicker(yTicks);
    m_energyPlot->xAxis->setRange(-0.5, nx - 0.5);
    m_energyPlot->yAxis->setRange(-0.5, ny - 0.5);
    // Scale from just under the worst cell to 100 %, so that differences between cells show.
    const double floor = std::min(95.0, std::floor(lo / 5.0) * 5.0);
    m_energyMap->setDataRange(QCPRange(floor, 100.0));

    // Numbers in the cells while they are large enough to read; outlines around the layers of one shared group.
    const bool labels = nx * ny <= 600;
    for (int x = 0; x < nx; ++x) {
        const PartCut& part = m_plan.parts[size_t(x)];
        for (int y = 0; labels && y < ny; ++y) {
            const auto e = energyOf(part, y);
            auto* t = new QCPItemText(m_energyPlot);
            t->position->setCoords(x, y);
            t->setText(!part.compressed ? tr("dense") : e ? QString::number(100.0 * *e, 'f', 1) : QStringLiteral("…"));
            const double level = e ? (100.0 * *e - floor) / (100.0 - floor) : 1.0;
            t->setColor(level < 0.6 ? Qt::white : Qt::black);
            t->setClipToAxisRect(true);
            m_energyItems.push_back(t);
        }
        if (!part.shared)
            continue;
        for (const GroupCut& g : part.groups) {
            if (g.layers.size() < 2)
                continue;
            auto* r = new QCPItemRect(m_energyPlot);
            r->topLeft->setCoords(x - 0.48, double(g.layers.front()) - 0.48);
            r->bottomRight->setCoords(x + 0.48, double(g.layers.back()) + 0.48);
            r->setPen(QPen(Qt::white, 2));
            r->setBrush(Qt::NoBrush);
            m_energyItems.push_back(r);
        }
    }
}

void HeatmapView::drawMask()
{
    clearItems(m_maskPlot, m_maskItems);
    m_rows.clear();
    size_t columns = 0;
    for (const PartCut& part : m_plan.parts) {
        if (!part.compressed)
            continue;
        for (int64_t layer = 0; layer < m_plan.layers; ++layer) {
            MaskRow r;
            r.part = part.part;
            r.layer = layer;
            r.group = part.groupOf(layer);
            r.groupSize = part.groupSize;
            r.k = size_t(r.group) < part.groups.size() ? part.groups[size_t(r.group)].k : 0;
            const std::vector<double>* s = m_energy ? m_energy->singularValues(part.groupSize, part.part, r.group) : nullptr;
            r.length = s ? int64_t(s->size()) : 0;
            columns = std::max(columns, size_t(r.length));
            m_rows.push_back(r);
        }
    }
    auto yTicks = QSharedPointer<QCPAxisTickerText>::create();
    const int ny = int(m_rows.size());
    const int nx = int(columns);
    if (nx == 0 || ny == 0) {
        m_keptMap->data()->clear();
        m_droppedMap->data()->clear();
        m_maskPlot->yAxis->setTicker(yTicks);
        return;
    }
    for (QCPColorMap* map : {m_keptMap, m_droppedMap}) {
        map->data()->setSize(nx, ny);
        map->data()->setRange(QCPRange(1, std::max(nx, 2)), QCPRange(0, std::max(ny - 1, 1)));
        map->data()->fill(qQNaN());
    }
    double lo = HUGE_VAL, hi = 0;
    for (int y = 0; y < ny; ++y) {
        const MaskRow& r = m_rows[size_t(y)];
        const std::vector<double>* s = m_energy->singularValues(r.groupSize, r.part, r.group);
        if (!s)
            continue;
        double sum = 0;
        for (double v : *s)
            sum += v * v;
        for (int x = 0; x < int(s->size()); ++x) {
            // Shares below 1e-6 % are drawn at that floor: a log scale has no zero.
            const double share = std::max(1e-6, sum > 0 ? 100.0 * (*s)[size_t(x)] * (*s)[size_t(x)] / sum : 0.0);
            (x < r.k ? m_keptMap : m_droppedMap)->data()->setCell(x, y, share);
            lo = std::min(lo, share);
            hi = std::max(hi, share);
        }
    }
    if (hi > 0) {
        // Five decades under the largest share: the tail below is drawn at the floor colour.
        const QCPRange range(std::max(lo, hi * 1e-5), hi);
        m_keptMap->setDataRange(range);
        m_droppedMap->setDataRange(range);
    }
    m_maskPlot->xAxis->setRange(0.5, nx + 0.5);
    m_maskPlot->yAxis->setRange(-0.5, ny - 0.5);

    // Row labels: every row while they fit, else the part name in the middle of its block. Lines between parts
    // (solid) and between groups of a shared part (dotted).
    const bool everyRow = ny <= 60;
    for (int y = 0; y < ny; ++y) {
        const MaskRow& r = m_rows[size_t(y)];
        const bool firstOfPart = y == 0 || m_rows[size_t(y) - 1].part != r.part;
        if (everyRow)
            yTicks->addTick(y, QStringLiteral("%1 · L%2").arg(QString::fromStdString(r.part)).arg(r.layer));
        else if (firstOfPart)
            yTicks->addTick(y + double(m_plan.layers - 1) / 2.0, QString::fromStdString(r.part));
        const bool newGroup = y > 0 && !firstOfPart && m_rows[size_t(y) - 1].group != r.group;
        if (y == 0 || !(firstOfPart || newGroup))
            continue;
        auto* line = new QCPItemLine(m_maskPlot);
        line->start->setTypeX(QCPItemPosition::ptAxisRectRatio);
        line->end->setTypeX(QCPItemPosition::ptAxisRectRatio);
        line->start->setCoords(0, y - 0.5);
        line->end->setCoords(1, y - 0.5);
        line->setPen(firstOfPart ? QPen(Qt::black, 1.5) : QPen(QColor(0x40, 0x40, 0x40), 1, Qt::DotLine));
        m_maskItems.push_back(line);
    }
    m_maskPlot->yAxis->setTicker(yTicks);
}

QString HeatmapView::energyCellText(int64_t layer, int partColumn) const
{
    if (partColumn < 0 || size_t(partColumn) >= m_plan.parts.size() || layer < 0 || layer >= m_plan.layers)
        return {};
    const PartCut& part = m_plan.parts[size_t(partColumn)];
    const QString name = QString::fromStdString(part.part);
    if (!part.compressed)
        return tr("layer %1, %2: left dense (100 % kept)").arg(layer).arg(name);
    const int64_t g = part.groupOf(layer);
    const GroupCut& group = part.groups[size_t(g)];
    const auto e = energyOf(part, layer);
    QString text = e ? tr("layer %1, %2: %3 kept, k = %4").arg(layer).arg(name).arg(percent(*e)).arg(group.k)
                     : tr("layer %1, %2: k = %3, energy not computed yet").arg(layer).arg(name).arg(group.k);
    text += part.shared ? tr("\nshared basis, %1 of %2 x %3 matrices; energy = (s_1² + … + s_k²) / Σ s² of the group's S·W")
                              .arg(groupLabel(g, group.layers))
                              .arg(part.in)
                              .arg(part.out)
                        : tr("\nprivate (own basis), %1 x %2; energy = (s_1² + … + s_k²) / Σ s² of S·W").arg(part.in).arg(part.out);
    return text;
}

QString HeatmapView::maskCellText(int row, int64_t index) const
{
    if (row < 0 || size_t(row) >= m_rows.size() || !m_energy)
        return {};
    const MaskRow& r = m_rows[size_t(row)];
    const std::vector<double>* s = m_energy->singularValues(r.groupSize, r.part, r.group);
    if (!s || index < 1 || size_t(index) > s->size())
        return {};
    double sum = 0;
    for (double v : *s)
        sum += v * v;
    const double v = (*s)[size_t(index) - 1];
    const auto groups = layerGroups(m_plan.layers, r.groupSize);
    return tr("%1, layer %2 (%3), component %4 of %5: s = %6, %7 of the energy, %8 (k = %9)")
        .arg(QString::fromStdString(r.part))
        .arg(r.layer)
        .arg(groupLabel(r.group, groups[size_t(r.group)]))
        .arg(index)
        .arg(s->size())
        .arg(v, 0, 'g', 4)
        .arg(QString::number(sum > 0 ? 100.0 * v * v / sum : 0.0, 'g', 3) + QStringLiteral(" %"))
        .arg(index <= r.k ? tr("kept") : tr("dropped"))
        .arg(r.k);
}

void HeatmapView::hoverEnergy(QMouseEvent* event)
{
    QString text;
    if (m_energyPlot->axisRect()->rect().contains(event->pos())) {
        const int x = int(std::lround(m_energyPlot->xAxis->pixelToCoord(event->pos().x())));
        const int64_t y = std::llround(m_energyPlot->yAxis->pixelToCoord(event->pos().y()));
        text = energyCellText(y, x);
    }
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, m_energyPlot);
}

void HeatmapView::hoverMask(QMouseEvent* event)
{
    QString text;
    if (m_maskPlot->axisRect()->rect().contains(event->pos())) {
        const int64_t x = std::llround(m_maskPlot->xAxis->pixelToCoord(event->pos().x()));
        const int y = int(std::lround(m_maskPlot->yAxis->pixelToCoord(event->pos().y())));
        text = maskCellText(y, x);
    }
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, m_maskPlot);
}

} // namespace basis::ui
