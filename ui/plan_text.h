#pragma once
// Numbers and explanations shown next to the controls, with the current values filled in. Kept apart from
// the widgets so that the same text appears in the summary, the layers table and the tests.
#include "compression_plan.h"

#include <QString>

namespace basis::ui {

QString formatCount(int64_t n);                     // 1,234,567
QString formatPercent(double percent);              // 12.34 %
QString formatShape(int64_t nIn, int64_t nOut);     // 64 × 172

// "29, 29, 21": k of each group of a part (a smaller last group has a smaller k).
QString kList(const PartPlan& part);

// k = floor((1 - r/100) n_in n_out g / (n_in + g n_out)) with this part's sizes and the ratio filled in, what
// each group keeps against the ratio asked for, and the rule for a smaller last group.
QString kTooltip(const PartPlan& part, double ratio);

// What the before/after counts mean, with the plan's numbers.
QString modelCountsTooltip(const CompressionPlan& plan);
QString targetCountsTooltip(const CompressionPlan& plan);

} // namespace basis::ui
