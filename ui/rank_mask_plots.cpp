#include "rank_mask_plots.h"

#include "plot_gradients.h"
#include "rank_strategy.h"

#include <qcustomplot.h>

#include <QSplitter>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace basis::ui {

namespace {

QCustomPlot* makePlot(const QString& title, const QFont& font)
{
    auto* p = new QCustomPlot;
    p->setMouseTracking(true);
    p->setMinimumSize(300, 260);
    p->xAxis->grid()->setVisible(false);
    p->yAxis->grid()->setVisible(false);
    p->yAxis->setRangeReversed(true);   // the first token (layer) at the top
    p->axisRect()->setupFullAxesBox(false);
    p->xAxis2->setVisible(false);
    p->yAxis2->setVisible(false);
    p->plotLayout()->insertRow(0);
    p->plotLayout()->addElement(0, 0, new QCPTextElement(p, title, QFont(font.family(), font.pointSize() + 1, QFont::Bold)));
    return p;
}

QCPColorScale* addScale(QCustomPlot* plot, int column, QCPColorMap* map, const QString& label, QCPMarginGroup* margins)
{
    auto* scale = new QCPColorScale(plot);
    plot->plotLayout()->addElement(1, column, scale);
    scale->setType(QCPAxis::atRight);
    scale->setBarWidth(14);
    scale->axis()->setLabel(label);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    map->setColorScale(scale);
    map->setInterpolate(false);
    map->setTightBoundary(false);
    return scale;
}

void setLogScale(QCPColorScale* scale, QCPColorMap* map)
{
    scale->setDataScaleType(QCPAxis::stLogarithmic);
    scale->axis()->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    scale->axis()->setNumberFormat(QStringLiteral("gb"));
    map->setDataScaleType(QCPAxis::stLogarithmic);
}

// The sum of a token's e_tj over all K channels.
double tokenEnergy(const RankMaskSummary& m, int64_t t)
{
    double sum = 0;
    for (int64_t j = 0; j < m.rank; ++j)
        sum += m.energy[size_t(t * m.rank + j)];
    return sum;
}

double keptEnergy(const RankMaskSummary& m, int64_t t)
{
    double sum = 0;
    for (int64_t j = 0; j < m.rank; ++j)
        if (m.keep[size_t(t * m.rank + j)])
            sum += m.energy[size_t(t * m.rank + j)];
    return sum;
}

QString percent(double fraction, int decimals = 1) { return QString::number(100.0 * fraction, 'f', decimals) + QStringLiteral(" %"); }

} // namespace

QString tokenLabel(const std::string& token)
{
    QString s = QString::fromStdString(token);
    if (s.isEmpty())   // BOS and other special tokens decode to nothing
        return QObject::tr("(special)");
    s.replace(QLatin1Char('\n'), QStringLiteral("↵")).replace(QLatin1Char('\t'), QStringLiteral("→"));
    return QLatin1Char('\'') + s + QLatin1Char('\'');
}

RankMaskPlots::RankMaskPlots(QWidget* parent) : QWidget(parent)
{
    m_tokensPlot = makePlot(tr("Masks per token: kept channels coloured by their energy, dropped ones grey"), font());
    m_tokensPlot->xAxis->setLabel(tr("rank channel j (stored order: calibration importance, 1 = most important)"));
    m_tokensPlot->yAxis->setLabel(tr("token of the prompt"));
    m_droppedMap = new QCPColorMap(m_tokensPlot->xAxis, m_tokensPlot->yAxis);
    m_keptMap = new QCPColorMap(m_tokensPlot->xAxis, m_tokensPlot->yAxis);
    auto* tokenMargins = new QCPMarginGroup(m_tokensPlot);
    m_tokensPlot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, tokenMargins);
    QCPColorScale* kept = addScale(m_tokensPlot, 1, m_keptMap, tr("kept: e_tj / Σ_j e_tj (%)"), tokenMargins);
    QCPColorScale* dropped = addScale(m_tokensPlot, 2, m_droppedMap, tr("dropped: e_tj / Σ_j e_tj (%)"), tokenMargins);
    setLogScale(kept, m_keptMap);
    setLogScale(dropped, m_droppedMap);
    m_keptMap->setGradient(viridisGradient());
    m_droppedMap->setGradient(greysGradient());

    m_layersPlot = makePlot(tr("How often each channel is kept over the prompt, layer by layer"), font());
    m_layersPlot->xAxis->setLabel(tr("rank channel j (1 = most important)"));
    m_layersPlot->yAxis->setLabel(tr("layer"));
    m_frequencyMap = new QCPColorMap(m_layersPlot->xAxis, m_layersPlot->yAxis);
    auto* layerMargins = new QCPMarginGroup(m_layersPlot);
    m_layersPlot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, layerMargins);
    addScale(m_layersPlot, 1, m_frequencyMap, tr("tokens keeping the channel (%)"), layerMargins);
    m_frequencyMap->setGradient(viridisGradient());
    m_frequencyMap->setDataRange(QCPRange(0, 100));

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(m_tokensPlot);
    splitter->addWidget(m_layersPlot);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(splitter);

    connect(m_tokensPlot, &QCustomPlot::mouseMove, this, &RankMaskPlots::hoverTokens);
    connect(m_layersPlot, &QCustomPlot::mouseMove, this, &RankMaskPlots::hoverLayers);
    connect(m_layersPlot, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
        if (!m_layersPlot->axisRect()->rect().contains(event->pos()))
            return;
        const int64_t layer = std::llround(m_layersPlot->yAxis->pixelToCoord(event->pos().y()));
        for (const RankMaskSummary* m : partMasks())
            if (m->layer == layer)
                emit layerClicked(layer);
    });
    setMasks(nullptr);
}

void RankMaskPlots::setMasks(const RankMasksSummary* masks)
{
    m_masks = masks;
    drawTokens();
    drawLayers();
}

void RankMaskPlots::select(int64_t layer, const std::string& part)
{
    m_layer = layer;
    m_part = part;
    drawTokens();
    drawLayers();
}

const RankMaskSummary* RankMaskPlots::selected() const
{
    if (!m_masks)
        return nullptr;
    for (const RankMaskSummary& m : m_masks->capture.masks)
        if (m.layer == m_layer && m.part == m_part)
            return &m;
    return nullptr;
}

std::vector<const RankMaskSummary*> RankMaskPlots::partMasks() const
{
    std::vector<const RankMaskSummary*> out;
    if (m_masks)
        for (const RankMaskSummary& m : m_masks->capture.masks)
            if (m.part == m_part)
                out.push_back(&m);
    std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->layer < b->layer; });
    return out;
}

void RankMaskPlots::drawTokens()
{
    const RankMaskSummary* m = selected();
    auto yTicks = QSharedPointer<QCPAxisTickerText>::create();
    if (!m || m->tokens == 0 || m->rank == 0) {
        m_keptMap->data()->clear();
        m_droppedMap->data()->clear();
        m_tokensPlot->yAxis->setTicker(yTicks);
        m_tokensPlot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const int nx = int(m->rank), ny = int(m->tokens);
    for (QCPColorMap* map : {m_keptMap, m_droppedMap}) {
        map->data()->setSize(nx, ny);
        // A size-1 dimension needs a non-empty range for its cell to have a width.
        map->data()->setRange(QCPRange(1, std::max(nx, 2)), QCPRange(0, std::max(ny - 1, 1)));
        map->data()->fill(qQNaN());
    }
    double hi = 0;
    for (int t = 0; t < ny; ++t) {
        const double total = tokenEnergy(*m, t);
        for (int j = 0; j < nx; ++j) {
            const size_t i = size_t(t) * size_t(nx) + size_t(j);
            // Shares below 1e-6 % are drawn at that floor: a log scale has no zero.
            const double share = std::max(1e-6, total > 0 ? 100.0 * m->energy[i] / total : 0.0);
            (m->keep[i] ? m_keptMap : m_droppedMap)->data()->setCell(j, t, share);
            hi = std::max(hi, share);
        }
    }
    if (hi > 0) {
        // Five decades under the largest share: the tail below is drawn at the floor colour.
        const QCPRange range(hi * 1e-5, hi);
        m_keptMap->setDataRange(range);
        m_droppedMap->setDataRange(range);
    }
    const int step = ny <= 40 ? 1 : ny <= 80 ? 2 : ny <= 160 ? 4 : 8;
    for (int t = 0; t < ny; t += step)
        yTicks->addTick(t, QStringLiteral("%1 %2").arg(t).arg(tokenLabel(m_masks->tokens[size_t(t)])));
    m_tokensPlot->yAxis->setTicker(yTicks);
    m_tokensPlot->xAxis->setRange(0.5, nx + 0.5);
    m_tokensPlot->yAxis->setRange(-0.5, ny - 0.5);
    m_tokensPlot->replot(QCustomPlot::rpQueuedReplot);
}

void RankMaskPlots::drawLayers()
{
    for (QCPAbstractItem* item : m_layerItems)
        m_layersPlot->removeItem(item);
    m_layerItems.clear();
    const std::vector<const RankMaskSummary*> masks = partMasks();
    auto yTicks = QSharedPointer<QCPAxisTickerText>::create();
    int64_t columns = 0, lastLayer = 0;
    for (const RankMaskSummary* m : masks) {
        columns = std::max(columns, m->rank);
        lastLayer = std::max(lastLayer, m->layer);
    }
    if (masks.empty() || columns == 0) {
        m_frequencyMap->data()->clear();
        m_layersPlot->yAxis->setTicker(yTicks);
        m_layersPlot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    // Rows are layer numbers (a part factorized in only some layers leaves the others empty); a private part's
    // layers may have different K: columns past a layer's K stay empty.
    const int nx = int(columns), ny = int(lastLayer + 1);
    m_frequencyMap->data()->setSize(nx, ny);
    m_frequencyMap->data()->setRange(QCPRange(1, std::max(nx, 2)), QCPRange(0, std::max(ny - 1, 1)));
    m_frequencyMap->data()->fill(qQNaN());
    for (const RankMaskSummary* m : masks) {
        for (int64_t j = 0; j < m->rank; ++j)
            m_frequencyMap->data()->setCell(int(j), int(m->layer), 100.0 * m->keepFrequency[size_t(j)]);
        yTicks->addTick(double(m->layer), tr("layer %1").arg(m->layer));
    }
    m_layersPlot->yAxis->setTicker(yTicks);
    m_layersPlot->xAxis->setRange(0.5, nx + 0.5);
    m_layersPlot->yAxis->setRange(-0.5, ny - 0.5);
    if (const RankMaskSummary* s = selected()) {   // the layer the token plot shows
        auto* r = new QCPItemRect(m_layersPlot);
        r->topLeft->setCoords(0.5, double(s->layer) - 0.5);
        r->bottomRight->setCoords(double(s->rank) + 0.5, double(s->layer) + 0.5);
        r->setPen(QPen(QColor(0xd6, 0x27, 0x28), 2));
        r->setBrush(Qt::NoBrush);
        m_layerItems.push_back(r);
    }
    m_layersPlot->replot(QCustomPlot::rpQueuedReplot);
}

QString RankMaskPlots::tokenCellText(int64_t token, int64_t channel) const
{
    const RankMaskSummary* m = selected();
    if (!m || token < 0 || token >= m->tokens || channel < 1 || channel > m->rank)
        return {};
    const size_t i = size_t(token * m->rank + channel - 1);
    const double total = tokenEnergy(*m, token);
    const int64_t k = m->kPerToken[size_t(token)];
    return tr("token %1 %2, %3 layer %4, channel %5 of %6: e = %7 (%8 of the token's energy), %9\n"
              "this token keeps %10 of %6 channels, %11 of its energy")
        .arg(token)
        .arg(tokenLabel(m_masks->tokens[size_t(token)]), QString::fromStdString(m->part))
        .arg(m->layer)
        .arg(channel)
        .arg(m->rank)
        .arg(double(m->energy[i]), 0, 'g', 4)
        .arg(QString::number(total > 0 ? 100.0 * m->energy[i] / total : 0.0, 'g', 3) + QStringLiteral(" %"))
        .arg(m->keep[i] ? tr("kept") : tr("dropped"))
        .arg(k)
        .arg(percent(total > 0 ? keptEnergy(*m, token) / total : 1.0));
}

QString RankMaskPlots::layerCellText(int64_t layer, int64_t channel) const
{
    for (const RankMaskSummary* m : partMasks()) {
        if (m->layer != layer)
            continue;
        if (channel < 1 || channel > m->rank)
            return {};
        return tr("%1 layer %2, channel %3 of %4: kept by %5 of the %6 tokens\n"
                  "this projection: mean k %7 of %4, energy kept %8, one contiguous block in %9 of the tokens")
            .arg(QString::fromStdString(m->part))
            .arg(layer)
            .arg(channel)
            .arg(m->rank)
            .arg(percent(m->keepFrequency[size_t(channel - 1)]))
            .arg(m->tokens)
            .arg(m->meanK, 0, 'f', 2)
            .arg(percent(m->energyKept, 2))
            .arg(percent(m->contiguousShare));
    }
    return {};
}

void RankMaskPlots::hoverTokens(QMouseEvent* event)
{
    QString text;
    if (m_tokensPlot->axisRect()->rect().contains(event->pos()))
        text = tokenCellText(std::llround(m_tokensPlot->yAxis->pixelToCoord(event->pos().y())),
                             std::llround(m_tokensPlot->xAxis->pixelToCoord(event->pos().x())));
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, m_tokensPlot);
}

void RankMaskPlots::hoverLayers(QMouseEvent* event)
{
    QString text;
    if (m_layersPlot->axisRect()->rect().contains(event->pos()))
        text = layerCellText(std::llround(m_layersPlot->yAxis->pixelToCoord(event->pos().y())),
                             std::llround(m_layersPlot->xAxis->pixelToCoord(event->pos().x())));
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, m_layersPlot);
}

} // namespace basis::ui
