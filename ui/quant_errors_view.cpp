#include "quant_errors_view.h"

#include <qcustomplot.h>

#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace basis::ui {

namespace {

QTableWidgetItem* item(const QString& text, const QVariant& value = {})
{
    auto* i = new QTableWidgetItem(text);
    i->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    if (value.isValid())
        i->setData(Qt::UserRole, value);
    return i;
}

} // namespace

QuantErrorsView::QuantErrorsView(QWidget* parent) : QWidget(parent)
{
    m_status = new QLabel;
    m_status->setWordWrap(true);
    m_table = new QTableWidget;
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->verticalHeader()->setVisible(false);
    m_table->setToolTip(tr("Relative H-error ||(W − Q − L R) H^½||_F / ||W H^½||_F after each iteration; bold: the "
                           "iterate kept (the smallest). Choose a row to plot it."));

    m_plot = new QCustomPlot;
    m_plot->setMinimumSize(360, 280);
    m_plot->xAxis->setLabel(tr("iteration"));
    m_plot->yAxis->setLabel(tr("relative H-error ||(W − Q − L R) H^½|| / ||W H^½||"));
    m_plot->legend->setVisible(true);
    m_errors = m_plot->addGraph();
    m_errors->setPen(QPen(QColor(0x1f, 0x4e, 0x99), 2));
    m_errors->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 7));
    m_errors->setName(tr("error after each iteration"));
    m_kept = m_plot->addGraph();
    m_kept->setLineStyle(QCPGraph::lsNone);
    m_kept->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssStar, QColor(0xc0, 0x10, 0x10), 14));
    m_kept->setName(tr("iterate kept"));

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(m_table);
    splitter->addWidget(m_plot);
    splitter->setSizes({800, 760});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_status);
    layout->addWidget(splitter, 1);

    connect(m_table, &QTableWidget::currentCellChanged, this, [this](int row) { showRow(row); });
    setCompression(CompressionSummary{});
}

void QuantErrorsView::setCompression(const CompressionSummary& s)
{
    m_groups.clear();
    for (const GroupSummary& g : s.groups)
        if (!g.iterationErrors.empty())
            m_groups.push_back(g);
    size_t iterations = 0;
    for (const GroupSummary& g : m_groups)
        iterations = std::max(iterations, g.iterationErrors.size());
    if (m_groups.empty())
        m_status->setText(s.settings.method.empty() || s.groups.empty()
                              ? tr("Compress with a quantizing method (caldera, rtn, gptq) to see its error per projection "
                                   "and iteration.")
                              : tr("%1 has no iterations: the error table is that of caldera, rtn and gptq.")
                                    .arg(QString::fromStdString(s.settings.method)));
    else
        m_status->setText(tr("%1, %2 bits, rank %3, Q step %4, %5 iterations: relative H-error of each projection after "
                             "each iteration, as the engine computed it; the iterate kept is the smallest.")
                              .arg(QString::fromStdString(s.settings.method))
                              .arg(s.settings.quant.bits)
                              .arg(s.settings.quant.rank)
                              .arg(QString::fromStdString(s.settings.quant.qStep))
                              .arg(s.settings.quant.iters));
    const QSignalBlocker block(m_table);
    m_table->clear();
    m_table->setRowCount(int(m_groups.size()));
    m_table->setColumnCount(3 + int(iterations));
    QStringList header{tr("part"), tr("layer"), tr("kept")};
    for (size_t i = 0; i < iterations; ++i)
        header << tr("iter %1").arg(i + 1);
    m_table->setHorizontalHeaderLabels(header);
    QFont bold = font();
    bold.setBold(true);
    for (size_t r = 0; r < m_groups.size(); ++r) {
        const GroupSummary& g = m_groups[r];
        const int row = int(r);
        m_table->setItem(row, 0, item(QString::fromStdString(g.part)));
        QStringList layers;
        for (int64_t l : g.layers)
            layers << QString::number(l);
        m_table->setItem(row, 1, item(layers.join(QStringLiteral(", ")), qint64(g.layers.empty() ? -1 : g.layers.front())));
        m_table->setItem(row, 2, item(QString::number(g.bestIteration + 1), qint64(g.bestIteration)));
        for (size_t i = 0; i < g.iterationErrors.size(); ++i) {
            QTableWidgetItem* cell = item(QString::number(g.iterationErrors[i], 'g', 5), g.iterationErrors[i]);
            if (int64_t(i) == g.bestIteration)
                cell->setFont(bold);
            m_table->setItem(row, 3 + int(i), cell);
        }
    }
    m_table->resizeColumnsToContents();
    m_shown = -1;
    if (!m_groups.empty())
        m_table->setCurrentCell(0, 0);
    showRow(m_groups.empty() ? -1 : 0);
}

void QuantErrorsView::showRow(int row)
{
    m_shown = row >= 0 && size_t(row) < m_groups.size() ? row : -1;
    m_errors->data()->clear();
    m_kept->data()->clear();
    if (m_shown < 0) {
        m_plot->replot();
        return;
    }
    const GroupSummary& g = m_groups[size_t(m_shown)];
    QVector<double> x, y;
    for (size_t i = 0; i < g.iterationErrors.size(); ++i) {
        x.push_back(double(i + 1));
        y.push_back(g.iterationErrors[i]);
    }
    m_errors->setData(x, y, true);
    if (g.bestIteration >= 0 && size_t(g.bestIteration) < g.iterationErrors.size())
        m_kept->addData(double(g.bestIteration + 1), g.iterationErrors[size_t(g.bestIteration)]);
    m_errors->setName(tr("%1, layer %2").arg(QString::fromStdString(g.part)).arg(g.layers.empty() ? -1 : g.layers.front()));
    m_plot->xAxis->setRange(0.5, double(g.iterationErrors.size()) + 0.5);
    const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
    const double pad = std::max((*hi - *lo) * 0.1, *hi * 0.01);
    m_plot->yAxis->setRange(*lo - pad, *hi + pad);
    auto ticks = QSharedPointer<QCPAxisTickerFixed>::create();
    ticks->setTickStep(1.0);
    ticks->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    m_plot->xAxis->setTicker(ticks);
    m_plot->replot();
}

} // namespace basis::ui
