#include "sweep_dialog.h"

#include "error.h"
#include "method_registry.h"
#include "sweep.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QRegularExpression>
#include <QToolButton>
#include <QVBoxLayout>

#include <type_traits>

namespace basis::ui {

namespace {

// "20, 30 40;50" -> {20, 30, 40, 50}; a word that is not a number is an error naming the field.
template <typename T>
std::vector<T> numbers(const QString& text, const char* field)
{
    std::vector<T> out;
    for (const QString& part : text.split(QRegularExpression(QStringLiteral("[,;\\s]+")), Qt::SkipEmptyParts)) {
        bool ok = false;
        const double v = part.toDouble(&ok);
        if (!ok || (std::is_integral_v<T> && v != double(T(v))))
            throw Error(std::string(field) + ": '" + part.toStdString() + "' is not " +
                        (std::is_integral_v<T> ? "a whole number" : "a number"));
        out.push_back(T(v));
    }
    return out;
}

template <typename V>
QString joined(const V& values)
{
    QStringList parts;
    for (const auto& v : values)
        parts << QString::number(v);
    return parts.join(QStringLiteral(", "));
}

} // namespace

SweepDialog::SweepDialog(const RunConfig& base, const SweepSpec& start, QWidget* parent) : QDialog(parent), m_base(base)
{
    setWindowTitle(tr("Sweep"));
    m_methods = new QListWidget;
    for (const CompressionMethod* m : methods()) {
        if (!m->uses(setting::Ratio) || m->allowsRankZero())
            continue;   // budgets and ratios size low-rank factors; the quantizers are sized by bits and rank
        auto* item = new QListWidgetItem(QString::fromStdString(m->displayName()), m_methods);
        item->setData(Qt::UserRole, QString::fromStdString(m->name()));
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        const bool on = std::find(start.methods.begin(), start.methods.end(), m->name()) != start.methods.end();
        item->setCheckState(on ? Qt::Checked : Qt::Unchecked);
        item->setToolTip(QString::fromStdString(m->description()));
    }
    m_methods->setMaximumHeight(m_methods->sizeHintForRow(0) * (m_methods->count() + 1));
    m_budgets = new QLineEdit(joined(start.budgets));
    m_budgets->setToolTip(tr("Exact budgets: % of the target projections' weights removed, e.g. 20, 30, 40, 50"));
    m_ratios = new QLineEdit(joined(start.ratios));
    m_ratios->setToolTip(tr("The published ratio rule (per-matrix floor), e.g. 20, 30 — to reproduce the paper's points"));
    m_groups = new QLineEdit(joined(start.groupSizes));
    m_groups->setToolTip(tr("Group sizes of the methods that share bases across layers (the others run at g = 1)"));
    auto* allocators = new QHBoxLayout;
    m_uniform = new QCheckBox(tr("uniform"));
    m_greedy = new QCheckBox(tr("greedy"));
    m_relative = new QCheckBox(tr("greedy, relative"));
    m_loss = new QCheckBox(tr("loss-aware"));
    for (QCheckBox* c : {m_uniform, m_greedy, m_relative, m_loss}) {
        allocators->addWidget(c);
        c->setChecked(std::find(start.allocators.begin(), start.allocators.end(), allocatorName(c)) != start.allocators.end());
    }
    allocators->addStretch(1);
    m_dense = new QCheckBox(tr("the dense model too (its point on the plot)"));
    m_dense->setChecked(start.dense);
    m_results = new QLineEdit(QString::fromStdString(start.results));
    m_results->setToolTip(tr("results.jsonl: one record per run, written as each finishes (a CSV beside it). A sweep "
                             "started again on the same file continues where it stopped."));
    auto* browse = new QToolButton;
    browse->setText(QStringLiteral("…"));
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString f = QFileDialog::getSaveFileName(this, tr("Sweep results"), m_results->text(),
                                                       tr("Sweep results (*.jsonl)"), nullptr,
                                                       QFileDialog::DontConfirmOverwrite);   // an existing file resumes
        if (!f.isEmpty())
            m_results->setText(f.endsWith(QLatin1String(".jsonl")) ? f : f + QStringLiteral(".jsonl"));
    });
    auto* resultsRow = new QHBoxLayout;
    resultsRow->addWidget(m_results, 1);
    resultsRow->addWidget(browse);

    auto* form = new QFormLayout;
    form->addRow(tr("Methods"), m_methods);
    form->addRow(tr("Exact budgets (%)"), m_budgets);
    form->addRow(tr("Ratios (%, published rule)"), m_ratios);
    form->addRow(tr("Group sizes"), m_groups);
    form->addRow(tr("Allocators (budgets)"), allocators);
    form->addRow(QString(), m_dense);
    form->addRow(tr("Results file"), resultsRow);
    m_count = new QLabel;
    m_count->setWordWrap(true);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Run sweep"));
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Every setting is compressed from the calibration of the Calibration panel and "
                                    "evaluated with the Evaluate tab's perplexity settings; each finished run is a point "
                                    "of the Pareto view.")));
    layout->addLayout(form);
    layout->addWidget(m_count);
    layout->addWidget(m_buttons);

    for (QLineEdit* e : {m_budgets, m_ratios, m_groups, m_results})
        connect(e, &QLineEdit::textChanged, this, &SweepDialog::refresh);
    for (QCheckBox* c : {m_uniform, m_greedy, m_relative, m_loss, m_dense})
        connect(c, &QCheckBox::toggled, this, &SweepDialog::refresh);
    connect(m_methods, &QListWidget::itemChanged, this, &SweepDialog::refresh);
    refresh();
}

QCheckBox* SweepDialog::allocatorCheck(const QString& name) const
{
    for (QCheckBox* c : {m_uniform, m_greedy, m_relative, m_loss})
        if (name.toStdString() == allocatorName(c))
            return c;
    return nullptr;
}

std::string SweepDialog::allocatorName(const QCheckBox* c) const
{
    return c == m_uniform ? "uniform" : c == m_greedy ? "greedy" : c == m_relative ? "greedy-relative" : "loss";
}

SweepSpec SweepDialog::spec() const
{
    SweepSpec s;
    for (int i = 0; i < m_methods->count(); ++i)
        if (m_methods->item(i)->checkState() == Qt::Checked)
            s.methods.push_back(m_methods->item(i)->data(Qt::UserRole).toString().toStdString());
    if (s.methods.empty())
        throw Error("choose at least one method");
    s.budgets = numbers<double>(m_budgets->text(), "exact budgets");
    s.ratios = numbers<double>(m_ratios->text(), "ratios");
    s.groupSizes = numbers<int64_t>(m_groups->text(), "group sizes");
    s.allocators.clear();
    for (QCheckBox* c : {m_uniform, m_greedy, m_relative, m_loss})
        if (c->isChecked())
            s.allocators.push_back(allocatorName(c));
    if (!s.budgets.empty() && s.allocators.empty())
        throw Error("exact budgets need at least one allocator");
    if (s.allocators.empty())
        s.allocators.push_back("uniform");
    s.dense = m_dense->isChecked();
    s.results = m_results->text().trimmed().toStdString();
    // The engine's own checks (ranges, the results file named), with the YAML key names.
    RunConfig c = m_base;
    c.sweep = s;
    parseRunConfig(writeRunConfig(c), "the sweep");
    return s;
}

QStringList SweepDialog::runIds(QString* error) const
{
    try {
        RunConfig c = m_base;
        c.sweep = spec();
        QStringList ids;
        for (const SweepPoint& p : expandSweep(c))
            ids << QString::fromStdString(p.id);
        return ids;
    } catch (const std::exception& e) {
        if (error)
            *error = QString::fromStdString(e.what());
        return {};
    }
}

void SweepDialog::refresh()
{
    QString error;
    const QStringList ids = runIds(&error);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(error.isEmpty() && !ids.isEmpty());
    m_count->setText(error.isEmpty() ? tr("<b>%n run(s)</b>: %1", nullptr, int(ids.size())).arg(ids.join(QStringLiteral("; ")).toHtmlEscaped())
                                     : QStringLiteral("<span style='color:#b00020'>%1</span>").arg(error.toHtmlEscaped()));
}

} // namespace basis::ui
