#include "layers_view.h"

#include "layers_chart.h"
#include "layers_model.h"

#include <QHeaderView>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace basis::ui {

LayersView::LayersView(QWidget* parent) : QWidget(parent)
{
    m_model = new LayersModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(Qt::UserRole);   // numbers sort as numbers
    m_table = new QTableView;
    m_table->setModel(m_proxy);
    m_table->setAlternatingRowColors(true);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(-1, Qt::AscendingOrder);   // model order (layer, then part) until a header is clicked
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_chart = new LayersChart;

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(m_table);
    splitter->addWidget(m_chart);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);
    connect(m_model, &QAbstractItemModel::modelReset, this, &LayersView::refreshChart);
}

void LayersView::refreshChart() { m_chart->setData(m_model->weightsBeforePerLayer(), m_model->weightsAfterPerLayer()); }

} // namespace basis::ui
