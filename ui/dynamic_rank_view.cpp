#include "dynamic_rank_view.h"

#include "rank_mask_plots.h"
#include "rank_strategy.h"
#include "rank_strategy_box.h"

#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QVBoxLayout>

#include <algorithm>
#include <set>

namespace basis::ui {

namespace {

// A prompt in the style of the built-in model's training stories, so that its masks are those of text it knows.
const char* const kDefaultPrompt =
    "Once upon a time, there was a little girl named Lily. She loved to play in the park with her mom. "
    "One day, she saw a big red ball under a tree.";

QString percent(double fraction, int decimals = 1) { return QString::number(100.0 * fraction, 'f', decimals) + QStringLiteral(" %"); }

} // namespace

QString maskStatisticsText(const RankMasksSummary& s, const RankMaskSummary* selected)
{
    const RankMaskCapture& c = s.capture;
    double meanK = 0;
    for (const RankMaskSummary& m : c.masks)
        meanK += m.meanK;
    meanK /= double(std::max<size_t>(1, c.masks.size()));
    const int64_t tokens = c.masks.empty() ? 0 : c.masks.front().tokens;
    QString text = QObject::tr("<b>%1</b> on the %2 model, %3 tokens, %4 projections: mean k %5 channels "
                               "(%6 of the stored rank), energy kept %7; token masks that are one contiguous block "
                               "%8 (starting at channel 1: %9), %10 blocks per token.")
                       .arg(RankStrategyBox::describe({rankStrategyName(c.rank.settings.strategy), c.rank.settings.budget,
                                                       c.rank.settings.energy, c.rank.settings.promptTokens}),
                            QString::fromStdString(s.model.variant))
                       .arg(tokens)
                       .arg(c.masks.size())
                       .arg(meanK, 0, 'f', 2)
                       .arg(percent(c.rank.meanShare))
                       .arg(percent(c.rank.energyKept, 2))
                       .arg(percent(c.contiguousShare))
                       .arg(percent(c.prefixShare))
                       .arg(c.meanBlocks, 0, 'f', 2);
    if (selected)
        text += QObject::tr("<br>%1 layer %2: K = %3, mean k %4, energy kept %5, contiguous %6, %7 blocks per token.")
                    .arg(QString::fromStdString(selected->part))
                    .arg(selected->layer)
                    .arg(selected->rank)
                    .arg(selected->meanK, 0, 'f', 2)
                    .arg(percent(selected->energyKept, 2))
                    .arg(percent(selected->contiguousShare))
                    .arg(selected->meanBlocks, 0, 'f', 2);
    return text;
}

DynamicRankView::DynamicRankView(QWidget* parent) : QWidget(parent)
{
    m_strategy = new RankStrategyBox;

    m_prompt = new QPlainTextEdit;
    m_prompt->setPlainText(QString::fromUtf8(kDefaultPrompt));
    m_prompt->setToolTip(tr("The text whose masks are drawn. prompt-adaptive chooses its channels from the whole text; "
                            "per-token chooses them for each token."));
    m_prompt->setMinimumHeight(90);
    m_run = new QPushButton(tr("&Show masks"));
    m_run->setToolTip(tr("Run the prompt under the strategy on the engine thread and draw which rank channels each "
                         "token computes."));
    connect(m_run, &QPushButton::clicked, this, &DynamicRankView::masksRequested);
    auto* promptBox = new QGroupBox(tr("Prompt"));
    auto* promptLayout = new QVBoxLayout(promptBox);
    promptLayout->addWidget(m_prompt);
    promptLayout->addWidget(m_run);

    m_part = new QComboBox;
    m_part->setToolTip(tr("The projection (part) the token map shows and the layer map lists."));
    m_layer = new QComboBox;
    m_layer->setToolTip(tr("The layer the token map shows (or click a row of the layer map)."));
    auto* showBox = new QGroupBox(tr("Show"));
    auto* showForm = new QFormLayout(showBox);
    showForm->addRow(tr("&Part"), m_part);
    showForm->addRow(tr("La&yer"), m_layer);

    m_hint = new QLabel;
    m_hint->setWordWrap(true);
    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(m_strategy);
    leftLayout->addWidget(promptBox);
    leftLayout->addWidget(showBox);
    leftLayout->addWidget(m_hint);
    leftLayout->addStretch(1);
    auto* leftScroll = new QScrollArea;
    leftScroll->setWidget(left);
    leftScroll->setWidgetResizable(true);
    leftScroll->setFrameShape(QFrame::NoFrame);
    leftScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    leftScroll->setMinimumWidth(360);
    leftScroll->setMaximumWidth(480);

    m_statistics = new QLabel;
    m_statistics->setWordWrap(true);
    m_statistics->setTextFormat(Qt::RichText);
    m_plots = new RankMaskPlots;
    auto* right = new QWidget;
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(m_statistics);
    rightLayout->addWidget(m_plots, 1);

    auto* splitter = new QSplitter;
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(leftScroll);
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({400, 1200});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);

    connect(m_part, &QComboBox::currentIndexChanged, this, &DynamicRankView::showSelection);
    connect(m_layer, &QComboBox::currentIndexChanged, this, &DynamicRankView::showSelection);
    connect(m_plots, &RankMaskPlots::layerClicked, this, [this](int64_t layer) {
        const int i = m_layer->findData(qlonglong(layer));
        if (i >= 0)
            m_layer->setCurrentIndex(i);
    });
    clearMasks();
    updateForm();
}

RankMasksJobOptions DynamicRankView::masksOptions() const
{
    RankMasksJobOptions o;
    o.text = m_prompt->toPlainText().toStdString();
    o.rank = m_strategy->options();
    return o;
}

void DynamicRankView::setMasks(const RankMasksSummary& masks)
{
    m_masks = masks;
    m_plots->setMasks(&*m_masks);
    fillChoices();
    showSelection();
}

void DynamicRankView::clearMasks()
{
    m_masks.reset();
    m_plots->setMasks(nullptr);
    fillChoices();
    m_statistics->setText(tr("Type a prompt and click <b>Show masks</b> to see which rank channels each token computes "
                             "under the strategy."));
}

void DynamicRankView::fillChoices()
{
    // Keep the part and layer chosen when the new capture has them.
    const QString part = m_part->currentData().toString();
    const QVariant layer = m_layer->currentData();
    const QSignalBlocker b1(m_part), b2(m_layer);
    m_part->clear();
    m_layer->clear();
    if (!m_masks)
        return;
    std::vector<std::string> parts;
    std::set<int64_t> layers;
    for (const RankMaskSummary& m : m_masks->capture.masks) {
        if (std::find(parts.begin(), parts.end(), m.part) == parts.end())
            parts.push_back(m.part);
        layers.insert(m.layer);
    }
    for (const std::string& p : parts)
        m_part->addItem(QString::fromStdString(p), QString::fromStdString(p));
    for (int64_t l : layers)
        m_layer->addItem(tr("layer %1").arg(l), qlonglong(l));
    m_part->setCurrentIndex(std::max(0, m_part->findData(part)));
    m_layer->setCurrentIndex(std::max(0, m_layer->findData(layer)));
}

void DynamicRankView::showSelection()
{
    if (!m_masks)
        return;
    m_plots->select(m_layer->currentData().toLongLong(), m_part->currentData().toString().toStdString());
    m_statistics->setText(maskStatisticsText(*m_masks, m_plots->selected()));
}

void DynamicRankView::setBusy(bool busy)
{
    m_busy = busy;
    updateForm();
}

void DynamicRankView::setFactorizedAvailable(bool available, const QString& what)
{
    m_available = available;
    m_hint->setText(available ? tr("Masks of the %1.").arg(what)
                              : tr("Strategies choose among the rank channels of a factorized model: compress the model "
                                   "(Compression tab) or open a compressed model folder."));
    updateForm();
}

void DynamicRankView::updateForm() { m_run->setEnabled(!m_busy && m_available); }

} // namespace basis::ui
