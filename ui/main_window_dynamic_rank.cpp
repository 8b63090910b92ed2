// MainWindow: the Dynamic rank tab. Its strategy controls run the mask capture of its prompt
// (Workspace::rankMasks, on the engine thread) and, when "apply to Evaluate" is ticked, the Evaluate tab's
// perplexity and throughput runs of a factorized model (the RankJobOptions of their job options).
#include "main_window.h"

#include "dynamic_rank_view.h"
#include "engine_controller.h"
#include "evaluate_view.h"
#include "rank_strategy_box.h"
#include "studio_document.h"

#include <QCheckBox>
#include <QTabWidget>

namespace basis::ui {

void MainWindow::buildDynamicRankTab()
{
    m_dynamicRank = new DynamicRankView;
    m_tabs->addTab(m_dynamicRank, tr("&Dynamic rank"));
    connect(m_dynamicRank, &DynamicRankView::masksRequested, this, &MainWindow::showRankMasks);
    connect(m_dynamicRank->strategyBox(), &RankStrategyBox::changed, this, &MainWindow::updateRankNote);
    connect(m_doc, &StudioDocument::modelLoaded, this, [this](const ModelSummary& s) {
        m_dynamicRank->clearMasks();
        m_dynamicRank->setFactorizedAvailable(s.compressed, tr("compressed model opened"));
        updateRankNote();
    });
    connect(m_doc, &StudioDocument::compressed, this, [this](const CompressionSummary& s) {
        m_dynamicRank->setFactorizedAvailable(true, tr("compressed copy (%1, ratio %2 %, g = %3)")
                                                        .arg(QString::fromStdString(s.settings.method))
                                                        .arg(s.settings.ratio)
                                                        .arg(s.settings.groupSize));
        updateRankNote();
    });
    connect(m_doc, &StudioDocument::rankMasksReady, this, [this](const RankMasksSummary& s) {
        m_dynamicRank->setMasks(s);
        const RankRunStatistics& r = s.capture.rank;
        log(Severity::Info, tr("Rank masks of %1 tokens on the %2 model under %3: %4 % of the rank channels, %5 % of "
                               "the energy kept, %6 % of the token masks one contiguous block.")
                                .arg(s.tokens.size())
                                .arg(QString::fromStdString(s.model.variant),
                                     RankStrategyBox::describe(m_dynamicRank->masksOptions().rank))
                                .arg(100.0 * r.meanShare, 0, 'f', 1)
                                .arg(100.0 * r.energyKept, 0, 'f', 2)
                                .arg(100.0 * s.capture.contiguousShare, 0, 'f', 1));
    });
    updateRankNote();
}

void MainWindow::showRankMasks()
{
    if (!hasModel() || m_engine->isBusy())
        return;
    RankMasksJobOptions o = m_dynamicRank->masksOptions();
    if (o.text.empty()) {
        log(Severity::Error, tr("Rank masks: type a prompt first."));
        return;
    }
    // The compressed copy when there is one, else the loaded model (a compressed folder; the engine says when not).
    o.compressed = m_doc->hasCompressed();
    m_tabs->setCurrentWidget(m_dynamicRank);
    m_engine->rankMasks(o);
}

RankJobOptions MainWindow::evaluateRank(bool compressed) const
{
    const bool factorized = compressed ? m_doc->hasCompressed() : (m_doc->hasModel() && m_doc->model()->compressed);
    if (!m_dynamicRank->strategyBox()->appliesToEvaluate() || !factorized)
        return {};
    return m_dynamicRank->strategyBox()->options();
}

void MainWindow::applyConfigToDynamicRank(const RankJobOptions& rank)
{
    if (!rank.active())
        return;
    m_dynamicRank->strategyBox()->setOptions(rank);
    m_dynamicRank->strategyBox()->evaluateCheck()->setChecked(true);
    updateRankNote();
}

void MainWindow::updateRankNote()
{
    const RankStrategyBox* box = m_dynamicRank->strategyBox();
    if (!box->appliesToEvaluate()) {
        m_evaluate->setRankNote({});
        return;
    }
    const RankJobOptions o = box->options();
    m_evaluate->setRankNote(tr("Dynamic rank: perplexity and throughput runs of the compressed model use %1 (prompt P = %2 "
                               "tokens at full rank, not scored); set in the Dynamic rank tab.")
                                .arg(RankStrategyBox::describe(o))
                                .arg(o.promptTokens));
}

} // namespace basis::ui
