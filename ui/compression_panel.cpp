#include "compression_panel.h"

#include "arch_registry.h"
#include "method_registry.h"
#include "method_settings_box.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <map>

namespace basis::ui {

namespace {
enum PartMode { Shared = 0, Private = 1, Dense = 2 };
}

CompressionPanel::CompressionPanel(QWidget* parent) : QWidget(parent)
{
    auto* form = new QFormLayout;
    m_method = new QComboBox;
    QString methodTip;
    for (const CompressionMethod* m : methods()) {
        const QString display = QString::fromStdString(m->displayName());
        m_method->addItem(display, QString::fromStdString(m->name()));
        methodTip += QStringLiteral("<p><b>%1</b>: %2</p>").arg(display.toHtmlEscaped(),
                                                                 QString::fromStdString(m->description()).toHtmlEscaped());
    }
    m_method->setToolTip(methodTip);
    form->addRow(tr("&Method"), m_method);

    m_groupSpin = new QSpinBox;
    m_groupSpin->setRange(1, 1);
    form->addRow(tr("&Group size"), m_groupSpin);

    m_ratioSlider = new QSlider(Qt::Horizontal);
    m_ratioSlider->setRange(1, 99);
    m_ratioSlider->setPageStep(5);
    m_ratioSpin = new QDoubleSpinBox;
    m_ratioSpin->setRange(1, 99);
    m_ratioSpin->setDecimals(1);
    m_ratioSpin->setSingleStep(1);
    m_ratioSpin->setSuffix(QStringLiteral(" %"));
    auto* ratioRow = new QHBoxLayout;
    ratioRow->addWidget(m_ratioSlider, 1);
    ratioRow->addWidget(m_ratioSpin);
    // A row holding a layout gets no buddy from addRow: give the mnemonic a target explicitly.
    auto* ratioLabel = new QLabel(tr("&Ratio"));
    ratioLabel->setBuddy(m_ratioSpin);
    form->addRow(ratioLabel, ratioRow);
    const QString ratioTip = tr("Percent of the target projections' weights removed (not of singular values kept). "
                                "Each group's k is rounded down, so the exact share removed, shown in the summary, "
                                "is a little higher.");
    m_ratioSlider->setToolTip(ratioTip);
    m_ratioSpin->setToolTip(ratioTip);

    m_sizeMode = new QComboBox;
    m_sizeMode->addItem(tr("ratio rule (published)"), QStringLiteral("ratio"));
    m_sizeMode->addItem(tr("exact budget"), QStringLiteral("budget"));
    m_sizeMode->setToolTip(tr("<b>ratio rule</b>: each group's rank k = ⌊(1 − r) n m g / (n + g m)⌋, as published (the "
                              "share removed lands a little off r, differently per group size); <b>exact budget</b>: "
                              "exactly this share of the target projections' weights is removed, within one rank "
                              "step per group, so methods and group sizes compare at equal size."));
    m_allocator = new QComboBox;
    m_allocator->addItem(tr("uniform"), QStringLiteral("uniform"));
    m_allocator->addItem(tr("greedy"), QStringLiteral("greedy"));
    m_allocator->addItem(tr("greedy, relative energy"), QStringLiteral("greedy-relative"));
    m_allocator->addItem(tr("loss-aware"), QStringLiteral("loss"));
    m_allocator->setToolTip(tr("How an exact budget is shared out. <b>uniform</b>: the same share from every group; "
                               "<b>greedy</b>: rank steps to the group whose whitened spectrum buys the most energy "
                               "per parameter; <b>greedy, relative energy</b>: the same with each group's energy as a "
                               "share of its own total (a projection with large outputs does not outbid the others); "
                               "<b>loss-aware</b>: of the uniform, greedy and relative allocations and the uniform rule "
                               "with each part removing ×0.5 and ×1.5 its share, the one of the lowest loss on the "
                               "calibration text. The "
                               "live counts show the uniform allocation until the compression has chosen, then "
                               "the ranks it chose."));
    auto* sizeRow = new QHBoxLayout;
    sizeRow->addWidget(m_sizeMode, 1);
    sizeRow->addWidget(m_allocator, 1);
    auto* sizeLabel = new QLabel(tr("Si&ze"));
    sizeLabel->setBuddy(m_sizeMode);
    form->addRow(sizeLabel, sizeRow);

    m_update = new QCheckBox(tr("Refit coefficients after compression (&update)"));
    m_update->setToolTip(tr("With every basis fixed, refit each layer's coefficients C = (BᵀH′B)⁻¹BᵀH′W from statistics "
                            "H′ collected on the compressed model. Costs a second calibration pass."));
    form->addRow(QString(), m_update);

    m_methodSettings = new MethodSettingsBox;

    auto* partsBox = new QGroupBox(tr("Parts"));
    auto* partsLayout = new QVBoxLayout(partsBox);
    m_splitRow = new QWidget;
    m_splitRow->setLayout(new QHBoxLayout);
    m_splitRow->layout()->setContentsMargins(0, 0, 0, 0);
    partsLayout->addWidget(m_splitRow);
    m_partsGrid = new QGridLayout;
    partsLayout->addLayout(m_partsGrid);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(form);
    layout->addWidget(m_methodSettings);
    layout->addWidget(partsBox);
    layout->addStretch(1);

    connect(m_method, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        updateEnabled();
        changed();
    });
    connect(m_groupSpin, qOverload<int>(&QSpinBox::valueChanged), this, [this] { changed(); });
    connect(m_ratioSlider, &QSlider::valueChanged, this, [this](int v) {
        if (std::lround(m_ratioSpin->value()) != v) {
            const QSignalBlocker block(m_ratioSpin);
            m_ratioSpin->setValue(v);
        }
        changed();
    });
    connect(m_ratioSpin, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double v) {
        const QSignalBlocker block(m_ratioSlider);
        m_ratioSlider->setValue(int(std::lround(v)));
        changed();
    });
    connect(m_update, &QCheckBox::toggled, this, [this] { changed(); });
    connect(m_sizeMode, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        updateEnabled();
        changed();
    });
    connect(m_allocator, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { changed(); });
    connect(m_methodSettings, &MethodSettingsBox::changed, this, [this] { changed(); });
    m_ratioSpin->setValue(20);
    updateEnabled();
}

void CompressionPanel::changed()
{
    updateTooltips();
    if (!m_applying)
        emit settingsChanged();
}

void CompressionPanel::updateEnabled()
{
    // A control is enabled when the chosen method lists its setting (method.h); e.g. only methods that group
    // layers read the group size.
    const CompressionMethod& m = method(m_method->currentData().toString().toStdString());
    m_groupSpin->setEnabled(m.uses(setting::GroupSize));
    m_update->setEnabled(m.uses(setting::Update));
    // An exact budget shares out low-rank factors: the methods with a ratio (not the quantizers' bits and rank), and
    // the feature-space methods, whose ranks it then sets instead of their rank rule (uniformly: no allocator yet).
    const bool budgets = (m.uses(setting::Ratio) && !m.allowsRankZero()) || m.featureSpace();
    const bool budgetMode = budgets && m_sizeMode->currentData().toString() == QLatin1String("budget");
    m_ratioSlider->setEnabled(m.uses(setting::Ratio) || budgetMode);
    m_ratioSpin->setEnabled(m.uses(setting::Ratio) || budgetMode);
    m_sizeMode->setEnabled(budgets);
    m_allocator->setEnabled(budgetMode && !m.featureSpace());
    const bool parts = m.uses(setting::SharedParts) || m.uses(setting::PrivateParts);
    for (auto& [name, combo] : m_parts)
        combo->setEnabled(parts);
    for (auto& [name, box] : m_splitChecks)
        box->setEnabled(parts && !m.featureSpace());   // the feature-space methods take fused projections whole
    m_methodSettings->showMethod(m);
    if (m.featureSpace() && budgetMode)
        m_methodSettings->disableRankRule();
}

void CompressionPanel::updateTooltips()
{
    m_groupSpin->setToolTip(tr("Consecutive layers that share one basis for the shared parts: groups [0..g−1], "
                               "[g..2g−1], …, a smaller last group when g does not divide the %1 layers. Only Basis "
                               "Sharing groups layers; g = 1 is SVD-LLM.")
                                .arg(m_config.layers));
}

void CompressionPanel::setModel(const ModelConfig& config, const ArchTable& table)
{
    m_config = config;
    m_table = table;
    for (auto& [name, box] : m_splitChecks)
        delete box;
    m_splitChecks.clear();
    for (const FusedSplit& split : architecture(config.arch).fusedSplits) {
        QStringList parts;
        for (const FusedPart& p : split.parts)
            parts << QString::fromStdString(p.part);
        const QString fused = QString::fromStdString(split.fused);
        auto* box = new QCheckBox(tr("%1 as %2").arg(fused, parts.join(QStringLiteral(", "))));
        box->setObjectName(QStringLiteral("split_") + fused);
        box->setToolTip(tr("%1 is one stored weight: compressed whole, one basis of its input serves all of %2. "
                           "Checked, its rows %2 are parts of their own (shared, private or dense each); the saved "
                           "model stores them apart and a dense export joins them back.")
                            .arg(fused, parts.join(QStringLiteral(", "))));
        connect(box, &QCheckBox::toggled, this, [this] {
            if (m_applying)
                return;
            rebuildParts();
            changed();
        });
        m_splitRow->layout()->addWidget(box);
        m_splitChecks.emplace_back(fused, box);
    }
    m_splitRow->setVisible(!m_splitChecks.empty());
    for (auto& [name, combo] : m_parts)
        delete combo;
    m_parts.clear();
    rebuildParts();
    {
        const QSignalBlocker block(m_groupSpin);
        m_groupSpin->setRange(1, int(std::max<int64_t>(1, config.layers)));
    }
    CompressionSettings defaults;
    defaults.groupSize = std::min<int64_t>(2, std::max<int64_t>(1, config.layers));
    setSettings(defaults);
}

void CompressionPanel::rebuildParts()
{
    std::map<QString, int> before;
    for (const auto& [name, combo] : m_parts)
        before[name] = combo->currentIndex();
    ModelConfig config = m_config;
    config.splitFused.clear();
    for (const auto& [name, box] : m_splitChecks)
        if (box->isChecked())
            config.splitFused.push_back(name.toStdString());
    const ArchTable shown = archTable(config);
    // Where a row's choice comes from when the row is new: a part takes its fused projection's, a re-fused
    // projection the first of its parts'.
    ModelConfig whole = m_config;
    whole.splitFused.clear();
    const ArchTable fusedTable = archTable(whole), partsTable = tableWithAllParts(m_config);
    auto inherited = [&](const ProjectionSpec& s) {
        for (const ProjectionSpec& w : fusedTable.projections)
            if (!s.fusedModule.empty() && w.module == s.fusedModule && before.count(QString::fromStdString(w.part)))
                return before[QString::fromStdString(w.part)];
        for (const ProjectionSpec& p : partsTable.projections)
            if (p.fusedModule == s.module && before.count(QString::fromStdString(p.part)))
                return before[QString::fromStdString(p.part)];
        return int(Shared);
    };
    std::vector<int> choices;
    for (const ProjectionSpec& s : shown.projections) {
        const QString part = QString::fromStdString(s.part);
        choices.push_back(before.count(part) ? before[part] : inherited(s));
    }
    for (auto& [name, combo] : m_parts)
        delete combo;
    m_parts.clear();
    while (QLayoutItem* item = m_partsGrid->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    int row = 0;
    const bool applying = m_applying;
    m_applying = true;   // the rows' first choices are not user changes
    for (const ProjectionSpec& s : shown.projections) {
        const QString part = QString::fromStdString(s.part);
        auto* label = new QLabel(part);
        label->setToolTip(QStringLiteral("%1: %2 × %3").arg(QString::fromStdString(s.module)).arg(s.in).arg(s.out));
        auto* combo = new QComboBox;
        combo->setObjectName(QStringLiteral("part_") + part);
        combo->addItems({tr("shared"), tr("private"), tr("dense")});
        combo->setToolTip(tr("<b>shared</b>: one basis per group of layers; <b>private</b>: compressed layer by layer; "
                             "<b>dense</b>: left as it is."));
        connect(combo, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { changed(); });
        m_partsGrid->addWidget(label, row, 0);
        m_partsGrid->addWidget(combo, row, 1);
        m_partsGrid->addWidget(new QLabel(QStringLiteral("%1 × %2").arg(s.in).arg(s.out)), row, 2);
        combo->setCurrentIndex(choices[size_t(row)]);
        m_parts.emplace_back(part, combo);
        ++row;
    }
    m_applying = applying;
    updateEnabled();
}

void CompressionPanel::setSettings(const CompressionSettings& s)
{
    method(s.method);   // an unknown name throws before any control moves
    // Resolve the part lists as a method that groups layers would, so that a per-layer method keeps the user's
    // shared choice for later.
    CompressionSettings asShared = s;
    for (const CompressionMethod* m : methods())
        if (m->groupsLayers()) {
            asShared.method = m->name();
            break;
        }
    const CompressionPlan plan = planCompression(m_config, m_table, asShared);   // throws before any control moves
    m_applying = true;
    // The fused projections the settings address as parts are shown as parts.
    for (auto& [name, box] : m_splitChecks)
        box->setChecked(std::find(plan.splitFused.begin(), plan.splitFused.end(), name.toStdString()) != plan.splitFused.end());
    rebuildParts();
    m_method->setCurrentIndex(m_method->findData(QString::fromStdString(s.method)));
    m_groupSpin->setValue(int(s.groupSize));
    m_ratioSpin->setValue(s.budget > 0 ? s.budget : s.ratio);
    m_sizeMode->setCurrentIndex(m_sizeMode->findData(s.budget > 0 ? QStringLiteral("budget") : QStringLiteral("ratio")));
    m_allocator->setCurrentIndex(std::max(0, m_allocator->findData(QString::fromStdString(s.allocator))));
    m_update->setChecked(s.update);
    m_methodSettings->set(s);
    for (auto& [name, combo] : m_parts) {
        const PartPlan* p = plan.part(name.toStdString());
        combo->setCurrentIndex(!p || !p->compressed ? Dense : p->shared ? Shared : Private);
    }
    m_applying = false;
    updateEnabled();
    updateTooltips();
    emit settingsChanged();
}

CompressionSettings CompressionPanel::settings() const
{
    CompressionSettings s;
    s.method = m_method->currentData().toString().toStdString();
    s.groupSize = m_groupSpin->value();
    s.ratio = m_ratioSpin->value();
    if (m_sizeMode->isEnabled() && m_sizeMode->currentData().toString() == QLatin1String("budget")) {
        s.budget = m_ratioSpin->value();
        s.allocator = m_allocator->isEnabled() ? m_allocator->currentData().toString().toStdString() : "uniform";
    }
    s.update = m_update->isChecked();
    m_methodSettings->fill(s);
    if (s.budget > 0 && method(s.method).featureSpace()) {   // the budget sets every rank, not the rule or a policy
        s.featureSpace.energy.reset();
        s.featureSpace.fraction.reset();
        s.featureSpace.ranksFile.clear();
        s.featureSpace.policy = "uniform";
    }
    for (const auto& [name, combo] : m_parts) {
        if (combo->currentIndex() == Shared)
            s.shared.push_back(name.toStdString());
        else if (combo->currentIndex() == Private)
            s.privateParts.push_back(name.toStdString());
    }
    return s;
}

QCheckBox* CompressionPanel::splitCheck(const QString& fused) const
{
    for (const auto& [name, box] : m_splitChecks)
        if (name == fused)
            return box;
    return nullptr;
}

QComboBox* CompressionPanel::partCombo(const QString& part) const
{
    for (const auto& [name, combo] : m_parts)
        if (name == part)
            return combo;
    return nullptr;
}

} // namespace basis::ui
