#include "plan_summary_view.h"

#include "plan_text.h"

#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

namespace basis::ui {

namespace {
enum Column { PartCol, ModeCol, ShapeCol, GroupsCol, KCol, BeforeCol, AfterCol, Columns };

QTableWidgetItem* item(const QString& text, const QString& tip = {}, bool number = false)
{
    auto* it = new QTableWidgetItem(text);
    it->setToolTip(tip);
    it->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    if (number)
        it->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return it;
}
} // namespace

QString beforeAfterText(int64_t before, int64_t after, double removedPercent)
{
    return QStringLiteral("%1 → %2 (%3 removed)").arg(formatCount(before), formatCount(after), formatPercent(removedPercent));
}

PlanSummaryView::PlanSummaryView(QWidget* parent) : QWidget(parent)
{
    m_model = new QLabel;
    m_target = new QLabel;
    for (QLabel* l : {m_model, m_target})
        l->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error = new QLabel;
    m_error->setWordWrap(true);
    m_error->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_error->hide();
    m_note = new QLabel;
    m_note->setWordWrap(true);
    m_note->setStyleSheet(QStringLiteral("color: palette(mid);"));

    auto* form = new QFormLayout;
    form->addRow(tr("Whole model"), m_model);
    form->addRow(tr("Target projections"), m_target);

    m_parts = new QTableWidget(0, Columns);
    m_parts->setHorizontalHeaderLabels({tr("Part"), tr("Mode"), tr("Shape"), tr("Groups"), tr("k"), tr("Weights before"),
                                        tr("Weights after")});
    m_parts->verticalHeader()->hide();
    m_parts->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_parts->horizontalHeader()->setStretchLastSection(true);
    m_parts->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_parts->setAlternatingRowColors(true);
    m_parts->horizontalHeaderItem(KCol)->setToolTip(
        tr("Rank kept per group: k = floor((1 − r/100) · n_in · n_out · g / (n_in + g · n_out)). Hover a cell for "
           "this part's numbers."));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(m_parts, 1);
    layout->addWidget(m_note);
}

void PlanSummaryView::setPlan(const CompressionPlan& plan)
{
    m_error->hide();
    m_model->setText(beforeAfterText(plan.modelBefore, plan.modelAfter, plan.removedPercentOfModel()));
    m_model->setToolTip(modelCountsTooltip(plan));
    m_target->setText(beforeAfterText(plan.targetBefore, plan.targetAfter, plan.removedPercentOfTarget()));
    m_target->setToolTip(targetCountsTooltip(plan));

    m_parts->setUpdatesEnabled(false);
    m_parts->setRowCount(int(plan.parts.size()));
    for (int r = 0; r < int(plan.parts.size()); ++r) {
        const PartPlan& p = plan.parts[size_t(r)];
        const ProjectionSpec& s = *p.spec;
        const QString mode = !p.compressed ? tr("dense") : p.shared ? tr("shared") : tr("private");
        const QString kTip = kTooltip(p, plan.settings.ratio);
        m_parts->setItem(r, PartCol, item(QString::fromStdString(s.part), QString::fromStdString(s.module)));
        m_parts->setItem(r, ModeCol, item(mode));
        m_parts->setItem(r, ShapeCol, item(formatShape(s.in, s.out), tr("n_in × n_out of one layer's weight")));
        m_parts->setItem(r, GroupsCol, item(p.compressed ? QString::number(p.groups.size()) : QStringLiteral("–"), {}, true));
        m_parts->setItem(r, KCol, item(kList(p), kTip));
        m_parts->setItem(r, BeforeCol, item(formatCount(p.weightsBefore), tr("all layers, this part"), true));
        m_parts->setItem(r, AfterCol, item(formatCount(p.weightsAfter), tr("bases counted once per group"), true));
    }
    m_parts->setUpdatesEnabled(true);
}

void PlanSummaryView::setError(const QString& message)
{
    m_model->setText(QStringLiteral("–"));
    m_target->setText(QStringLiteral("–"));
    m_parts->setRowCount(0);
    m_error->setText(message);
    m_error->show();
}

void PlanSummaryView::setNote(const QString& note) { m_note->setText(note); }

} // namespace basis::ui
