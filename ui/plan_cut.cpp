#include "plan_cut.h"

#include <QCoreApplication>

#include <algorithm>

namespace basis::ui {

PlanCut planCut(const CompressionPlan& plan)
{
    PlanCut c;
    c.ratio = plan.settings.ratio;
    c.method = plan.settings.method;
    c.groupSize = plan.settings.groupSize;
    for (const PartPlan& p : plan.parts) {
        if (!p.spec)
            continue;
        PartCut part;
        part.part = p.spec->part;
        part.shared = p.shared;
        part.compressed = p.compressed;
        part.in = p.spec->in;
        part.out = p.spec->out;
        part.groupSize = p.shared ? plan.settings.groupSize : 1;
        if (!p.compressed && part.in * part.out > 0)   // a dense part has no groups: its weights give the layers
            c.layers = std::max(c.layers, p.weightsBefore / (part.in * part.out));
        for (const GroupPlan& g : p.groups) {
            part.groups.push_back({g.layers, g.k});
            if (!g.layers.empty())
                c.layers = std::max(c.layers, g.layers.back() + 1);
        }
        c.parts.push_back(std::move(part));
    }
    return c;
}

QString groupLabel(int64_t index, const std::vector<int64_t>& layers)
{
    if (layers.empty())
        return QCoreApplication::translate("PlanCut", "group %1").arg(index);
    if (layers.size() == 1)
        return QCoreApplication::translate("PlanCut", "group %1: layer %2").arg(index).arg(layers.front());
    return QCoreApplication::translate("PlanCut", "group %1: layers %2-%3").arg(index).arg(layers.front()).arg(layers.back());
}

} // namespace basis::ui
