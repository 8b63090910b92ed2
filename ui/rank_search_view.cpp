#include "rank_search_view.h"

#include "method_registry.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>

namespace basis::ui {

RankSearchView::RankSearchView(QWidget* parent) : QWidget(parent)
{
    const SearchOptions defaults;
    m_method = new QComboBox;
    for (const CompressionMethod* m : methods())
        if (m->featureSpace())
            m_method->addItem(QString::fromStdString(m->name()), QString::fromStdString(m->name()));
    m_method->setCurrentIndex(m_method->findData(QString::fromStdString(defaults.method)));
    m_method->setToolTip(tr("The method whose factorization each candidate rank tries."));
    m_delta = new QDoubleSpinBox;
    m_delta->setDecimals(3);
    m_delta->setRange(0.001, 10.0);
    m_delta->setSingleStep(0.01);
    m_delta->setValue(defaults.delta);
    m_delta->setToolTip(tr("Budget δ: a candidate is accepted while the perplexity stays ≤ base × (1 + δ), base the "
                           "dense model's on the search tokens."));
    m_tokens = new QSpinBox;
    m_tokens->setRange(16, 1 << 24);
    m_tokens->setSingleStep(1024);
    m_tokens->setValue(int(defaults.searchTokens));
    m_tokens->setToolTip(tr("The first N tokens of the search text, in windows of the calibration's context."));
    m_startLayer = new QSpinBox;
    m_startLayer->setRange(0, 4096);
    m_startLayer->setValue(int(defaults.startLayer));
    m_startLayer->setToolTip(tr("Layers below this one stay dense."));
    m_text = new QLineEdit;
    m_text->setPlaceholderText(tr("the calibration text"));
    m_text->setToolTip(tr("A text file the perplexity is measured on; empty: the calibration text."));
    m_out = new QLineEdit;
    m_out->setToolTip(tr("The ranks JSON written at the end; its trial log is the same name + .log. Starting again "
                         "with the same file resumes a cancelled search from its log."));
    m_restart = new QCheckBox(tr("Start over (discard the log of an earlier search)"));
    m_restart->setChecked(defaults.restart);
    m_start = new QPushButton(tr("Start / resume search"));
    m_cancel = new QPushButton(tr("Cancel"));
    m_apply = new QPushButton(tr("Apply as ranks file"));
    m_apply->setToolTip(tr("Set the Method box to the search's method with this ranks file."));
    m_status = new QLabel(tr("Calibrate, then start: the search visits the projections from the last layer down."));
    m_status->setWordWrap(true);

    auto* form = new QFormLayout;
    form->addRow(tr("Method:"), m_method);
    form->addRow(tr("Budget δ:"), m_delta);
    form->addRow(tr("Search tokens:"), m_tokens);
    form->addRow(tr("Start layer:"), m_startLayer);
    form->addRow(tr("Search text:"), m_text);
    form->addRow(tr("Ranks file:"), m_out);
    form->addRow(m_restart);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_start);
    buttons->addWidget(m_cancel);
    buttons->addWidget(m_apply);
    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->addLayout(form);
    leftLayout->addLayout(buttons);
    leftLayout->addWidget(m_status);
    m_table = new QTableWidget(0, 8);
    m_table->setHorizontalHeaderLabels({tr("layer"), tr("part"), tr("f"), tr("rank"), tr("perplexity"), tr("parameters"),
                                        tr("accepted"), tr("from log")});
    m_table->verticalHeader()->setVisible(false);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    leftLayout->addWidget(m_table, 1);

    m_plot = new QCustomPlot;
    m_plot->setMinimumSize(420, 300);
    m_plot->xAxis->setLabel(tr("parameters of the model with the candidate in place"));
    m_plot->yAxis->setLabel(tr("search-text perplexity"));
    m_plot->legend->setVisible(true);
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    m_rejected = m_plot->addGraph();
    m_rejected->setLineStyle(QCPGraph::lsNone);
    m_rejected->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCross, QColor(0x90, 0x90, 0x90), 7));
    m_rejected->setName(tr("rejected trial"));
    m_accepted = m_plot->addGraph();
    m_accepted->setLineStyle(QCPGraph::lsNone);
    m_accepted->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(0x2a, 0x9d, 0x3f), 8));
    m_accepted->setName(tr("accepted trial"));
    m_path = m_plot->addGraph();
    m_path->setPen(QPen(QColor(0x2a, 0x9d, 0x3f), 1, Qt::DashLine));
    m_path->setName(tr("the search's path"));

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(left);
    splitter->addWidget(m_plot);
    splitter->setSizes({760, 800});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);

    connect(m_start, &QPushButton::clicked, this, [this] { emit startRequested(options()); });
    connect(m_cancel, &QPushButton::clicked, this, &RankSearchView::cancelRequested);
    connect(m_apply, &QPushButton::clicked, this, [this] {
        if (m_result)
            emit applyRequested(QString::fromStdString(m_result->out.string()), m_method->currentData().toString());
    });
    setBusy(false, false);
}

SearchOptions RankSearchView::options() const
{
    SearchOptions o;
    o.method = m_method->currentData().toString().toStdString();
    o.delta = m_delta->value();
    o.searchTokens = m_tokens->value();
    o.startLayer = m_startLayer->value();
    o.searchText = m_text->text().trimmed().toStdString();
    const QString out = m_out->text().trimmed();
    o.out = (out.isEmpty() ? QDir(m_folder).filePath(QStringLiteral("ranks.json")) : out).toStdString();
    o.restart = m_restart->isChecked();
    return o;
}

void RankSearchView::setDefaultFolder(const QString& folder)
{
    m_folder = folder;
    m_out->setPlaceholderText(QDir(folder).filePath(QStringLiteral("ranks.json")));
}

void RankSearchView::setBusy(bool engineBusy, bool searching)
{
    m_start->setEnabled(!engineBusy);
    m_cancel->setEnabled(searching);
    m_apply->setEnabled(!engineBusy && m_result.has_value());
}

void RankSearchView::clearTrials()
{
    m_trials.clear();
    m_result.reset();
    m_table->setRowCount(0);
    replot();
}

void RankSearchView::addTrial(const SearchTrial& t)
{
    m_trials.push_back(t);
    const int row = m_table->rowCount();
    m_table->insertRow(row);
    const QStringList cells{QString::number(t.layer), QString::fromStdString(t.part), QString::number(t.fraction, 'f', 1),
                            QString::number(t.rank), QString::number(t.ppl, 'f', 4), QString::number(t.parameters),
                            t.accepted ? tr("yes") : tr("no"), t.resumed ? tr("yes") : QString()};
    for (int c = 0; c < cells.size(); ++c)
        m_table->setItem(row, c, new QTableWidgetItem(cells[c]));
    m_table->scrollToBottom();
    m_status->setText(tr("%1 trials: layer %2 %3 at f = %4 (rank %5): perplexity %6, %7")
                          .arg(m_trials.size())
                          .arg(t.layer)
                          .arg(QString::fromStdString(t.part))
                          .arg(t.fraction, 0, 'f', 1)
                          .arg(t.rank)
                          .arg(t.ppl, 0, 'f', 4)
                          .arg(t.accepted ? tr("accepted") : tr("rejected")));
    replot();
}

void RankSearchView::setResult(const SearchSummary& s)
{
    m_result = s;
    int64_t dense = 0, factorized = 0;
    for (const auto& [part, ranks] : s.ranks)
        for (int64_t r : ranks)
            (r < 0 ? dense : factorized) += 1;
    m_status->setText(tr("Done in %1 s: base perplexity %2, final %3 (budget %4); parameters %5 → %6; %7 projections "
                         "factorized, %8 dense; %9 trials read back from the log. Ranks: %10")
                          .arg(s.seconds, 0, 'f', 1)
                          .arg(s.basePpl, 0, 'f', 4)
                          .arg(s.finalPpl, 0, 'f', 4)
                          .arg(s.basePpl * (1.0 + m_delta->value()), 0, 'f', 4)
                          .arg(s.parametersBefore)
                          .arg(s.parametersAfter)
                          .arg(factorized)
                          .arg(dense)
                          .arg(s.resumedTrials)
                          .arg(QString::fromStdString(s.out.string())));
    replot();
}

void RankSearchView::replot()
{
    QVector<double> ax, ay, rx, ry, px, py;
    for (const SearchTrial& t : m_trials) {
        (t.accepted ? ax : rx).push_back(double(t.parameters));
        (t.accepted ? ay : ry).push_back(t.ppl);
        if (t.accepted) {
            px.push_back(double(t.parameters));
            py.push_back(t.ppl);
        }
    }
    m_accepted->setData(ax, ay, true);
    m_rejected->setData(rx, ry, true);
    m_path->data()->clear();
    for (int i = 0; i < px.size(); ++i)
        m_path->addData(px[i], py[i]);   // in the order accepted (parameters fall as the search goes)
    m_plot->rescaleAxes();
    m_plot->xAxis->scaleRange(1.1);
    m_plot->yAxis->scaleRange(1.2);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace basis::ui
