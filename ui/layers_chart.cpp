#include "layers_chart.h"

#include <qcustomplot.h>

#include <QVBoxLayout>

#include <algorithm>

namespace basis::ui {

LayersChart::LayersChart(QWidget* parent) : QWidget(parent)
{
    m_plot = new QCustomPlot;
    m_plot->setMinimumHeight(220);
    auto* group = new QCPBarsGroup(m_plot);
    group->setSpacingType(QCPBarsGroup::stAbsolute);
    group->setSpacing(2);
    m_before = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_before->setName(tr("before (dense)"));
    m_before->setPen(QPen(QColor(0x60, 0x60, 0x60)));
    m_before->setBrush(QColor(0xb0, 0xb0, 0xb0));
    m_after = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_after->setName(tr("after (this setting)"));
    m_after->setPen(QPen(QColor(0x1f, 0x4e, 0x99)));
    m_after->setBrush(QColor(0x3d, 0x7e, 0xdb));
    for (QCPBars* b : {m_before, m_after}) {
        b->setWidth(0.38);
        b->setBarsGroup(group);
    }
    m_plot->xAxis->setLabel(tr("Layer"));
    m_plot->yAxis->setLabel(tr("Projection weights per layer (parameters)"));
    m_plot->yAxis->setNumberFormat(QStringLiteral("gbc"));   // 1.5·10⁵ rather than 150000 for large models
    m_plot->yAxis->setNumberPrecision(3);
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);   // whole layers, fewer labels when there are many
    m_plot->xAxis->setTicker(ticker);
    m_plot->xAxis->grid()->setVisible(false);
    m_plot->legend->setVisible(true);
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
}

void LayersChart::setData(const std::vector<double>& before, const std::vector<double>& after)
{
    QVector<double> x, b(before.begin(), before.end()), a(after.begin(), after.end());
    for (size_t i = 0; i < before.size(); ++i)
        x << double(i);
    m_before->setData(x, b, true);
    m_after->setData(x, a, true);
    const double top = before.empty() ? 1.0 : *std::max_element(before.begin(), before.end());
    m_plot->xAxis->setRange(-0.6, double(before.size()) - 0.4);
    m_plot->yAxis->setRange(0, top * 1.5);   // room for the legend above the bars
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace basis::ui
