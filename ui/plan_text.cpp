#include "plan_text.h"

#include <QLocale>
#include <QStringList>

#include <set>

namespace basis::ui {

QString formatCount(int64_t n) { return QLocale(QLocale::English).toString(qlonglong(n)); }

QString formatPercent(double percent) { return QString::number(percent, 'f', 2) + QStringLiteral(" %"); }

QString formatShape(int64_t nIn, int64_t nOut) { return QStringLiteral("%1 × %2").arg(nIn).arg(nOut); }

QString kList(const PartPlan& part)
{
    if (!part.compressed)
        return QStringLiteral("dense");
    QStringList ks;
    for (const GroupPlan& g : part.groups)
        ks << QString::number(g.k);
    return ks.join(QStringLiteral(", "));
}

QString kTooltip(const PartPlan& part, double ratio)
{
    const ProjectionSpec& s = *part.spec;
    // A ranks file can keep every layer of a compressed part dense: no group then.
    if (!part.compressed || part.groups.empty())
        return QStringLiteral("%1 (%2) stays dense: %3 weights per layer.").arg(QString::fromStdString(s.part),
                                                                                QString::fromStdString(s.module),
                                                                                formatCount(s.in * s.out));
    QString t = QStringLiteral("<p><b>%1</b> (%2), W is n_in × n_out = %3, %4.</p>")
                    .arg(QString::fromStdString(s.part), QString::fromStdString(s.module), formatShape(s.in, s.out),
                         part.shared ? QStringLiteral("shared by the layers of each group")
                                     : QStringLiteral("private: compressed layer by layer"));
    t += QStringLiteral("<p>k = floor((1 − r/100) · n<sub>in</sub> · n<sub>out</sub> · g / (n<sub>in</sub> + g · "
                        "n<sub>out</sub>))</p>");
    // The first group is always full; a smaller last group keeps its k (the engine's published rule).
    const auto g = static_cast<int64_t>(part.groups.front().layers.size());
    const double exact = (1.0 - ratio / 100.0) * double(s.in) * double(s.out) * double(g) / double(s.in + g * s.out);
    t += QStringLiteral("<p>g = %1: floor((1 − %2/100) · %3 · %4 · %1 / (%3 + %1 · %4)) = floor(%5) = <b>%6</b></p>")
             .arg(g)
             .arg(ratio)
             .arg(s.in)
             .arg(s.out)
             .arg(exact, 0, 'f', 2)
             .arg(rankFor(ratio, s.in, s.out, g));
    std::set<size_t> seen;
    for (const GroupPlan& grp : part.groups) {
        const auto n = static_cast<int64_t>(grp.layers.size());
        if (!seen.insert(grp.layers.size()).second)
            continue;
        const int64_t dense = grp.weightsBefore, kept = grp.weightsAfter;
        QString what = n == g ? QStringLiteral("Each group of %1 layer(s)").arg(n)
                              : QStringLiteral("The last group (%1 layer(s)) keeps the full group's k, capped at "
                                               "min(n<sub>in</sub>, %1 · n<sub>out</sub>), as the published code does: "
                                               "k = <b>%2</b>;")
                                    .arg(n)
                                    .arg(grp.k);
        t += QStringLiteral("<p>%1 basis %2 × %3 + %4 × coefficients %3 × %5 = %6 of %7 dense weights (%8 removed, "
                            "%9 % asked)</p>")
                 .arg(what + (n == g ? QStringLiteral(":") : QString()))
                 .arg(s.in)
                 .arg(grp.k)
                 .arg(n)
                 .arg(s.out)
                 .arg(formatCount(kept), formatCount(dense),
                      formatPercent(dense ? 100.0 * double(dense - kept) / double(dense) : 0.0))
                 .arg(ratio);
    }
    return t;
}

QString modelCountsTooltip(const CompressionPlan& plan)
{
    return QStringLiteral("<p>Every distinct parameter of the model (embeddings, norms, head, all projections), "
                          "before and after: %1 → %2, %3 removed.</p><p>Only the target projections shrink, so the "
                          "whole model loses less than the ratio.</p>")
        .arg(formatCount(plan.modelBefore), formatCount(plan.modelAfter), formatPercent(plan.removedPercentOfModel()));
}

QString targetCountsTooltip(const CompressionPlan& plan)
{
    return QStringLiteral("<p>Weights of the projections that are compressed (shared and private parts): %1 → %2, "
                          "%3 removed for a ratio of %4 % asked.</p><p>k is rounded down per group, so a little more "
                          "than the ratio is removed; a shared basis is counted once per group.</p>")
        .arg(formatCount(plan.targetBefore), formatCount(plan.targetAfter), formatPercent(plan.removedPercentOfTarget()))
        .arg(plan.settings.ratio);
}

} // namespace basis::ui
