#include "spectra_view.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace basis::ui {

namespace {

// One colour per group size, in drawing order; distinguishable in grey print too (darkness varies).
QColor sizeColour(size_t i)
{
    static const QColor colours[] = {QColor(0x1f, 0x4e, 0x99), QColor(0xd6, 0x5f, 0x00), QColor(0x2a, 0x9d, 0x3f),
                                     QColor(0x9b, 0x2f, 0xae), QColor(0xb0, 0x1e, 0x2f), QColor(0x00, 0x8b, 0x8b),
                                     QColor(0x80, 0x60, 0x20)};
    return colours[i % (sizeof(colours) / sizeof(colours[0]))];
}

QString percent(double fraction) { return QString::number(100.0 * fraction, 'f', 1) + QStringLiteral(" %"); }

} // namespace

SpectraView::SpectraView(QWidget* parent) : QWidget(parent)
{
    m_part = new QComboBox;
    m_part->setToolTip(tr("The projection (part) whose spectrum is drawn."));
    m_group = new QComboBox;
    m_group->setToolTip(tr("The group of layers of this part at the current setting. Shared parts are grouped "
                           "by the group size; private parts have one group per layer."));
    m_sizes = new QListWidget;
    m_sizes->setFlow(QListView::LeftToRight);
    m_sizes->setMaximumHeight(m_sizes->fontMetrics().height() * 2 + 6);
    m_sizes->setMinimumWidth(360);
    m_sizes->setToolTip(tr("Overlay the same part grouped with other numbers of layers (the group that holds the "
                           "same first layer). Group size 1 and the current one are always drawn. Spectra missing "
                           "for a size are computed on the engine thread."));
    m_status = new QLabel;
    m_status->setWordWrap(true);

    auto* controls = new QHBoxLayout;
    auto* partLabel = new QLabel(tr("&Part:"));
    partLabel->setBuddy(m_part);
    controls->addWidget(partLabel);
    controls->addWidget(m_part);
    auto* groupLabelW = new QLabel(tr("&Group:"));
    groupLabelW->setBuddy(m_group);
    controls->addWidget(groupLabelW);
    controls->addWidget(m_group);
    controls->addSpacing(16);
    controls->addWidget(new QLabel(tr("Overlay group sizes:")));
    controls->addWidget(m_sizes, 1);

    m_plot = new QCustomPlot;
    m_plot->setMinimumHeight(320);
    m_plot->setMouseTracking(true);
    m_plot->xAxis->setLabel(tr("singular-value index i (1 = largest)"));
    m_plot->yAxis->setLabel(tr("singular value s_i (whitened, log scale), solid"));
    m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    m_plot->yAxis->setNumberFormat(QStringLiteral("gb"));
    m_plot->yAxis2->setVisible(true);
    m_plot->yAxis2->setTickLabels(true);
    m_plot->yAxis2->setLabel(tr("cumulative energy kept: (s_1² + … + s_i²) / Σ s² (%), dashed"));
    m_plot->yAxis2->setRange(0, 101);
    // The legend beside the axes, at the top of its own column: inside it would cover the curves.
    m_plot->legend->setVisible(true);
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);
    auto* side = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(0, 1, side);
    side->addElement(0, 0, m_plot->legend);
    side->addElement(1, 0, new QCPLayoutElement(m_plot));
    side->setRowStretchFactor(0, 0.01);
    m_plot->plotLayout()->setColumnStretchFactor(1, 0.01);

    m_kLine = new QCPItemLine(m_plot);
    m_kLine->setPen(QPen(QColor(0xc0, 0x10, 0x10), 2, Qt::DashLine));
    for (QCPItemPosition* p : {m_kLine->start, m_kLine->end}) {
        p->setTypeX(QCPItemPosition::ptPlotCoords);
        p->setTypeY(QCPItemPosition::ptAxisRectRatio);
        p->setAxes(m_plot->xAxis, m_plot->yAxis);
        p->setAxisRect(m_plot->axisRect());
    }
    m_kLine->start->setCoords(0, 0);
    m_kLine->end->setCoords(0, 1);
    m_kText = new QCPItemText(m_plot);
    m_kText->position->setTypeX(QCPItemPosition::ptPlotCoords);
    m_kText->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    m_kText->position->setAxes(m_plot->xAxis, m_plot->yAxis);
    m_kText->position->setAxisRect(m_plot->axisRect());
    m_kText->setColor(QColor(0xc0, 0x10, 0x10));
    m_kText->setBrush(QColor(255, 255, 255, 220));
    m_kText->setPadding(QMargins(4, 2, 4, 2));
    QFont bold = font();
    bold.setBold(true);
    m_kText->setFont(bold);

    m_comparison = new QLabel;
    m_comparison->setWordWrap(true);
    m_comparison->setTextFormat(Qt::RichText);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(m_status);
    layout->addWidget(m_plot, 1);
    layout->addWidget(m_comparison);

    connect(m_part, &QComboBox::currentIndexChanged, this, [this] {
        fillGroups();
        redraw();
    });
    connect(m_group, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (i >= 0)
            m_layer = m_group->itemData(i).toLongLong();
        redraw();
    });
    connect(m_sizes, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        const int64_t g = item->data(Qt::UserRole).toLongLong();
        if (!(item->flags() & Qt::ItemIsUserCheckable))
            return;
        auto it = std::find(m_ticked.begin(), m_ticked.end(), g);
        if (item->checkState() == Qt::Checked && it == m_ticked.end())
            m_ticked.push_back(g);
        else if (item->checkState() != Qt::Checked && it != m_ticked.end())
            m_ticked.erase(it);
        redraw();
        if (!missingGroupSizes().empty())
            emit spectraWanted();
    });
    connect(m_plot, &QCustomPlot::mouseMove, this, &SpectraView::showHover);
    redraw();
}

void SpectraView::setPlan(const CompressionPlan& plan, const EnergyTable* energy)
{
    m_plan = planCut(plan);
    m_energy = energy;
    fillChoosers();
    redraw();
}

const PartCut* SpectraView::currentPart() const
{
    const int i = m_part->currentIndex();
    return i >= 0 && size_t(i) < m_plan.parts.size() ? &m_plan.parts[size_t(i)] : nullptr;
}

void SpectraView::fillChoosers()
{
    const QString chosen = m_part->currentText();
    QStringList names;
    for (const PartCut& p : m_plan.parts)
        names << QString::fromStdString(p.part);
    {
        const QSignalBlocker block(m_part);
        QStringList have;
        for (int i = 0; i < m_part->count(); ++i)
            have << m_part->itemText(i);
        if (have != names) {
            m_part->clear();
            m_part->addItems(names);
        }
        const int i = int(names.indexOf(chosen));
        m_part->setCurrentIndex(i >= 0 ? i : (names.isEmpty() ? -1 : 0));
    }
    fillGroups();
    fillSizes();
}

void SpectraView::fillGroups()
{
    const QSignalBlocker block(m_group);
    m_group->clear();
    const PartCut* part = currentPart();
    if (!part || m_plan.layers <= 0)
        return;
    m_layer = std::clamp<int64_t>(m_layer, 0, m_plan.layers - 1);
    const auto groups = layerGroups(m_plan.layers, part->groupSize);
    for (size_t i = 0; i < groups.size(); ++i)
        m_group->addItem(groupLabel(int64_t(i), groups[i]), QVariant::fromValue<qlonglong>(groups[i].front()));
    const int64_t g = part->groupOf(m_layer);
    m_group->setCurrentIndex(int(g));
    m_layer = groups[size_t(g)].front();
}

void SpectraView::fillSizes()
{
    const PartCut* part = currentPart();
    std::vector<int64_t> sizes{1};
    for (int64_t g = 2; g <= m_plan.layers; g *= 2)
        sizes.push_back(g);
    for (int64_t g : {m_plan.groupSize, m_plan.layers})
        if (g > 0 && std::find(sizes.begin(), sizes.end(), g) == sizes.end())
            sizes.push_back(g);
    std::sort(sizes.begin(), sizes.end());
    const QSignalBlocker block(m_sizes);
    m_sizes->clear();
    for (int64_t g : sizes) {
        const bool always = g == 1 || g == m_plan.groupSize || (part && g == part->groupSize);
        QString text = tr("g = %1").arg(g);
        if (g == m_plan.groupSize && m_plan.groupSize > 1)
            text += tr(" (current)");
        else if (g == m_plan.layers && g > 1)
            text += tr(" (all layers)");
        auto* item = new QListWidgetItem(text, m_sizes);
        item->setData(Qt::UserRole, QVariant::fromValue<qlonglong>(g));
        const bool ticked = always || std::find(m_ticked.begin(), m_ticked.end(), g) != m_ticked.end();
        item->setFlags(always ? Qt::ItemIsEnabled : Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
        item->setCheckState(ticked ? Qt::Checked : Qt::Unchecked);
        if (always)
            item->setToolTip(tr("Always drawn: %1").arg(g == 1 ? tr("every layer alone") : tr("the current group size")));
    }
}

std::vector<int64_t> SpectraView::sizesToDraw() const
{
    std::vector<int64_t> sizes{1, m_plan.groupSize};
    if (const PartCut* part = currentPart())
        sizes.push_back(part->groupSize);
    sizes.insert(sizes.end(), m_ticked.begin(), m_ticked.end());
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
    sizes.erase(std::remove_if(sizes.begin(), sizes.end(), [&](int64_t g) { return g < 1 || g > m_plan.layers; }),
                sizes.end());
    return sizes;
}

std::vector<int64_t> SpectraView::missingGroupSizes() const
{
    std::vector<int64_t> out;
    if (!m_energy)
        return out;
    for (int64_t g : sizesToDraw())
        if (!m_energy->has(g))
            out.push_back(g);
    return out;
}

std::vector<int64_t> SpectraView::drawnGroupSizes() const
{
    std::vector<int64_t> out;
    for (const auto& kv : m_sGraphs)
        out.push_back(kv.first);
    return out;
}

QCPGraph* SpectraView::singularValuesGraph(int64_t groupSize) const
{
    auto it = m_sGraphs.find(groupSize);
    return it == m_sGraphs.end() ? nullptr : it->second;
}

QCPGraph* SpectraView::cumulativeGraph(int64_t groupSize) const
{
    auto it = m_cGraphs.find(groupSize);
    return it == m_cGraphs.end() ? nullptr : it->second;
}

double SpectraView::kLineX() const { return m_kLine->visible() ? m_kLine->start->coords().x() : -1; }
QString SpectraView::kLineLabel() const { return m_kText->visible() ? m_kText->text() : QString(); }

void SpectraView::redraw()
{
    m_plot->clearGraphs();
    m_sGraphs.clear();
    m_cGraphs.clear();
    m_shownK = 0;
    m_shownEnergy = -1;
    m_kLine->setVisible(false);
    m_kText->setVisible(false);
    m_comparison->clear();
    const PartCut* part = currentPart();
    auto finish = [this] {
        if (isVisible())
            m_plot->replot(QCustomPlot::rpQueuedReplot);
    };
    if (!part) {
        m_status->setText(tr("No setting: open a model and choose a valid compression setting."));
        return finish();
    }
    if (!m_energy) {
        m_status->setText(tr("Calibrate to see the spectra: singular values are of the weights whitened by the "
                             "calibration statistics."));
        return finish();
    }
    const QString partName = QString::fromStdString(part->part);
    const int64_t current = part->groupSize;
    const int64_t groupIndex = part->groupOf(m_layer);
    if (part->compressed && size_t(groupIndex) < part->groups.size())
        m_shownK = part->groups[size_t(groupIndex)].k;

    double sMin = HUGE_VAL, sMax = 0, cMin = 100;
    size_t maxN = 0, colour = 0;
    QStringList missing, rows;
    for (int64_t g : sizesToDraw()) {
        const int64_t index = m_layer / g;
        const std::vector<double>* s = m_energy->singularValues(g, part->part, index);
        const std::vector<double>* c = m_energy->cumulative(g, part->part, index);
        if (!s || !c || s->empty()) {
            missing << QString::number(g);
            continue;
        }
        const auto groups = layerGroups(m_plan.layers, g);
        const std::vector<int64_t>& layers = groups[size_t(index)];
        const bool isCurrent = g == current;
        const QColor col = isCurrent ? QColor(0x10, 0x10, 0x10) : sizeColour(colour++);
        QVector<double> x, ys, yc;
        for (size_t i = 0; i < s->size(); ++i) {
            x << double(i + 1);
            const double v = (*s)[i];
            ys << (v > 0 ? v : qQNaN());   // a zero has no place on a log axis
            yc << 100.0 * (*c)[i];
            cMin = std::min(cMin, 100.0 * (*c)[i]);
            if (v > 0) {
                sMin = std::min(sMin, v);
                sMax = std::max(sMax, v);
            }
        }
        maxN = std::max(maxN, s->size());
        const QString which = groupLabel(index, layers) + (isCurrent ? tr(", current") : QString());
        QCPGraph* gs = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
        gs->setName(tr("s_i, g = %1 (%2)").arg(g).arg(which));
        gs->setPen(QPen(col, isCurrent ? 2.5 : 1.6));
        if (s->size() <= 80)
            gs->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, isCurrent ? 5 : 4));
        gs->setData(x, ys, true);
        QCPGraph* gc = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
        gc->setName(tr("energy kept %, g = %1").arg(g));
        gc->setPen(QPen(col, isCurrent ? 2.0 : 1.4, Qt::DashLine));
        gc->setData(x, yc, true);
        m_sGraphs[g] = gs;
        m_cGraphs[g] = gc;

        // Where this group size would cut at the current ratio, on its energy curve.
        const int64_t k = isCurrent && m_shownK > 0 ? m_shownK
                                                    : groupRank(m_plan.ratio, part->in, part->out, g, int64_t(layers.size()));
        if (k >= 1 && size_t(k) <= c->size()) {
            QCPGraph* mark = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
            mark->setPen(QPen(col));
            mark->setLineStyle(QCPGraph::lsNone);
            mark->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, col, col, 10));
            mark->addData(double(k), 100.0 * (*c)[size_t(k) - 1]);
            mark->removeFromLegend();
            const double weightsAfter = double(part->in * k + int64_t(layers.size()) * k * part->out) / double(layers.size());
            rows << tr("<span style='color:%1'>■</span> <b>g = %2</b> (%3): k = %4 of %5 keeps <b>%6</b> of the energy; "
                       "%7 weights per layer (dense %8)")
                        .arg(col.name())
                        .arg(g)
                        .arg(which)
                        .arg(k)
                        .arg(s->size())
                        .arg(percent((*c)[size_t(k) - 1]))
                        .arg(weightsAfter, 0, 'f', 0)
                        .arg(part->in * part->out);
        }
        if (isCurrent && m_shownK > 0 && size_t(m_shownK) <= c->size())
            m_shownEnergy = (*c)[size_t(m_shownK) - 1];
    }

    const double xMax = double(std::max<size_t>(maxN, 1));
    m_plot->xAxis->setRange(0.5, xMax + 0.5);
    if (sMax > 0)
        m_plot->yAxis->setRange(sMin / 1.6, sMax * 1.6);
    // From a round number under the first component's share to 100 %: whitened spectra often start above 80 %.
    m_plot->yAxis2->setRange(std::max(0.0, std::floor(cMin / 10.0) * 10.0 - 2.0), 101);
    if (m_shownK > 0 && m_shownEnergy >= 0) {
        m_kLine->start->setCoords(double(m_shownK), 0);
        m_kLine->end->setCoords(double(m_shownK), 1);
        m_kText->setText(tr("k = %1, energy kept %2").arg(m_shownK).arg(percent(m_shownEnergy)));
        // The label sits on the side of the line with more room, so it is never clipped.
        const bool left = double(m_shownK) > 0.6 * xMax;
        // Near the bottom: the energy curves run along the top, the singular values through the middle.
        m_kText->setPositionAlignment(Qt::AlignBottom | (left ? Qt::AlignRight : Qt::AlignLeft));
        m_kText->position->setCoords(double(m_shownK) + (left ? -0.01 : 0.01) * xMax, 0.97);
        m_kLine->setVisible(true);
        m_kText->setVisible(true);
    }

    QString status;
    if (!part->compressed)
        status = tr("%1 stays dense at this setting: no cut is drawn; the overlays show where grouping would cut.").arg(partName);
    else
        status = tr("%1, %2 at g = %3 (%4): the cut keeps the first k singular directions of S·W, whose energy share is "
                    "what the compressed layer keeps of the activations' output energy.")
                     .arg(partName, groupLabel(groupIndex, layerGroups(m_plan.layers, current)[size_t(groupIndex)]))
                     .arg(current)
                     .arg(part->shared ? tr("shared basis") : tr("private, per layer"));
    if (!missing.isEmpty())
        status += QStringLiteral("  ") + tr("Computing the spectra for g = %1 on the engine thread…").arg(missing.join(QStringLiteral(", ")));
    m_status->setText(status);
    if (!rows.isEmpty())
        m_comparison->setText(tr("What sharing costs at %1 % removed: %2, the group holding layer %3 at each group size (◆ marks its k on its curve):<br>")
                                  .arg(m_plan.ratio)
                                  .arg(partName)
                                  .arg(m_layer) +
                              rows.join(QStringLiteral("<br>")));
    const QString formula =
        tr("k = floor((1 − r/100) · n_in · n_out · g / (n_in + g · n_out)); here floor((1 − %1/100) · %2 · %3 · %4 / (%2 + %4 · %3)) "
           "= %5 (capped by what the group's SVD gives): one basis (n_in x k) for the group plus a k x n_out coefficient "
           "matrix per layer. The energy kept is (s_1² + … + s_k²) / Σ s_i² of the group's whitened matrix S·[W_1 … W_g], "
           "S the Cholesky factor of the calibration activations' X^T X.")
            .arg(m_plan.ratio)
            .arg(part->in)
            .arg(part->out)
            .arg(current)
            .arg(rankFor(m_plan.ratio, part->in, part->out, current));
    m_comparison->setToolTip(formula);
    m_status->setToolTip(formula);
    finish();
}

void SpectraView::showHover(QMouseEvent* event)
{
    const PartCut* part = currentPart();
    if (!part || !m_energy || m_sGraphs.empty() || !m_plot->axisRect()->rect().contains(event->pos())) {
        QToolTip::hideText();
        return;
    }
    const int64_t i = std::llround(m_plot->xAxis->pixelToCoord(event->pos().x()));
    QStringList lines{tr("<b>%1</b>, singular value i = %2 (whitened: s_i of S·W, S the calibration's Cholesky factor)")
                          .arg(QString::fromStdString(part->part))
                          .arg(i)};
    for (const auto& [g, graph] : m_sGraphs) {
        const std::vector<double>* s = m_energy->singularValues(g, part->part, m_layer / g);
        const std::vector<double>* c = m_energy->cumulative(g, part->part, m_layer / g);
        if (!s || i < 1 || size_t(i) > s->size())
            continue;
        const double share = (*s)[size_t(i) - 1] * (*s)[size_t(i) - 1] / std::max(1e-300, [&] {
            double sum = 0;
            for (double v : *s)
                sum += v * v;
            return sum;
        }());
        lines << tr("g = %1: s_i = %2, its share %3, first i keep %4")
                     .arg(g)
                     .arg((*s)[size_t(i) - 1], 0, 'g', 4)
                     .arg(percent(share))
                     .arg(percent((*c)[size_t(i) - 1]));
    }
    if (m_shownK > 0)
        lines << tr("Current cut: k = %1 keeps %2.").arg(m_shownK).arg(percent(m_shownEnergy));
    QToolTip::showText(event->globalPosition().toPoint(), lines.join(QStringLiteral("<br>")), m_plot);
}

void SpectraView::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace basis::ui
