#include "plan_summary_view.h"

#include "plan_text.h"

#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace basis::ui {

namespace {
enum Column { PartCol, ModeCol, ShapeCol, GroupsCol, KCol, BeforeCol, AfterCol, EnergyCol, Columns };

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
    m_size = new QLabel;
    m_energy = new QLabel;
    m_energy->setWordWrap(true);
    for (QLabel* l : {m_model, m_target, m_size, m_energy})
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
    form->addRow(tr("Size as stored"), m_size);
    form->addRow(tr("Energy kept"), m_energy);

    m_parts = new QTableWidget(0, Columns);
    m_parts->setHorizontalHeaderLabels({tr("Part"), tr("Mode"), tr("Shape"), tr("Groups"), tr("k"), tr("Weights before"),
                                        tr("Weights after"), tr("Energy kept")});
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

void PlanSummaryView::setPlan(const CompressionPlan& plan, const std::vector<std::vector<double>>* energies,
                              const QString& energyStatus)
{
    m_error->hide();
    m_model->setText(beforeAfterText(plan.modelBefore, plan.modelAfter, plan.removedPercentOfModel()));
    m_model->setToolTip(modelCountsTooltip(plan));
    m_target->setText(beforeAfterText(plan.targetBefore, plan.targetAfter, plan.removedPercentOfTarget()));
    m_target->setToolTip(targetCountsTooltip(plan));
    // Bytes put low-rank and quantized methods on one axis (a quantized Q keeps every parameter, in fewer bits).
    m_size->setText(tr("%1 → %2 MB; targets %3 bits per weight (%4 by the method's formula)")
                        .arg(double(plan.modelBytesBefore) / 1e6, 0, 'f', 3)
                        .arg(double(plan.modelBytesAfter) / 1e6, 0, 'f', 3)
                        .arg(plan.bitsPerWeight(), 0, 'f', 2)
                        .arg(plan.bitsPerWeightFormula, 0, 'f', 2));
    m_size->setToolTip(tr("Bytes as stored: dense weights at the model's dtype, a shared basis once, packed integer "
                          "codes with their float16 scales and zeros. Bits per weight: the targets' stored bits over "
                          "their dense weights (short last groups and row padding counted)."));

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
        QString energy = QStringLiteral("–"), energyTip;
        if (energies && size_t(r) < energies->size() && !(*energies)[size_t(r)].empty()) {
            const auto& e = (*energies)[size_t(r)];
            const auto [lo, hi] = std::minmax_element(e.begin(), e.end());
            energy = e.size() == 1 || *hi - *lo < 5e-5 ? formatPercent(100 * *lo)
                                                       : formatPercent(100 * *lo) + QStringLiteral(" – ") +
                                                             formatPercent(100 * *hi);
            for (size_t g = 0; g < e.size(); ++g) {
                const auto& layers = p.groups[g].layers;
                energyTip += tr("layers %1–%2: k = %3 keeps %4 of Σs²\n")
                                 .arg(layers.front())
                                 .arg(layers.back())
                                 .arg(p.groups[g].k)
                                 .arg(formatPercent(100 * e[g]));
            }
        }
        m_parts->setItem(r, EnergyCol, item(energy, energyTip.trimmed(), true));
    }
    if (energies) {
        double sum = 0, lowest = 2;
        int count = 0;
        QString where;
        for (size_t pi = 0; pi < energies->size(); ++pi)
            for (size_t g = 0; g < (*energies)[pi].size(); ++g) {
                const double e = (*energies)[pi][g];
                sum += e;
                ++count;
                if (e < lowest) {
                    lowest = e;
                    where = tr("%1, layers %2–%3")
                                .arg(QString::fromStdString(plan.parts[pi].spec->part))
                                .arg(plan.parts[pi].groups[g].layers.front())
                                .arg(plan.parts[pi].groups[g].layers.back());
                }
            }
        m_energy->setText(count ? tr("mean %1 over %2 groups; lowest %3 (%4)")
                                      .arg(formatPercent(100 * sum / count))
                                      .arg(count)
                                      .arg(formatPercent(100 * lowest), where)
                                : QStringLiteral("–"));
        m_energy->setToolTip(tr("Fraction of Σs² of each group's whitened weights S·W<sub>G</sub> kept by its first k "
                                "singular values, from the calibration statistics: what the cut costs before "
                                "anything is compressed."));
    } else {
        m_energy->setText(energyStatus.isEmpty() ? QStringLiteral("–") : energyStatus);
        m_energy->setToolTip({});
    }
    m_parts->setUpdatesEnabled(true);
}

void PlanSummaryView::setError(const QString& message)
{
    m_model->setText(QStringLiteral("–"));
    m_target->setText(QStringLiteral("–"));
    m_energy->setText(QStringLiteral("–"));
    m_parts->setRowCount(0);
    m_error->setText(message);
    m_error->show();
}

void PlanSummaryView::setNote(const QString& note) { m_note->setText(note); }

} // namespace basis::ui
