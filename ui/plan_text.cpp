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
    if (!part.compressed)
        return QStringLiteral("%1 (%2) stays dense: %3 weights per layer.").arg(QString::fromStdString(s.part),
                                                                                QString::fromStdString(s.module),
                                                                                formatCount(s.in * s.out));
    QString t = QStringLiteral("<p><b>%1</b> (%2), W is n_in × n_out = %3, %4.</p>")
                    .arg(QString::fromStdString(s.part), QString::fromStdString(s.module), formatShape(s.in, s.out),
                         part.shared ? QStringLiteral("shared by the layers of each group")
                                     : QStringLiteral("private: compressed layer by layer"));
    t += QStringLiteral("<p>k = floor((1 − r/100) · n<sub>in</sub> · n<sub>out</sub> · g / (n<sub>in</sub> + g · "
                        "n<sub>out</sub>))</p>");
    std::set<size_t> sizes;
    for (const GroupPlan& g : part.groups)
        sizes.insert(g.layers.size());
    for (auto it = sizes.rbegin(); it != sizes.rend(); ++it) {
        const auto g = static_cast<int64_t>(*it);
        const double exact = (1.0 - ratio / 100.0) * double(s.in) * double(s.out) * double(g) / double(s.in + g * s.out);
        const int64_t k = rankFor(ratio, s.in, s.out, g);
        const int64_t dense = g * s.in * s.out, kept = k * (s.in + g * s.out);
        t += QStringLiteral("<p>g = %1: floor((1 − %2/100) · %3 · %4 · %1 / (%3 + %1 · %4)) = floor(%5) = <b>%6</b><br>"
                            "basis %3 × %6 + %1 × coefficients %6 × %4 = %7 of %8 dense weights "
                            "(%9 removed, %2 % asked)</p>")
                 .arg(g)
                 .arg(ratio)
                 .arg(s.in)
                 .arg(s.out)
                 .arg(exact, 0, 'f', 2)
                 .arg(k)
                 .arg(formatCount(kept), formatCount(dense),
                      formatPercent(dense ? 100.0 * double(dense - kept) / double(dense) : 0.0));
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
