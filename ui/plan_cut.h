#pragma once
// A plain copy of what the Spectra and Heatmaps tabs need from the live plan (part names, shapes, groups, k),
// so that the views keep nothing that points into LiveCounts' architecture table.
#include "compression_plan.h"

#include <QString>

#include <string>
#include <vector>

namespace basis::ui {

struct GroupCut {
    std::vector<int64_t> layers;
    int64_t k = 0;
};

struct PartCut {
    std::string part;
    bool shared = false, compressed = false;
    int64_t in = 0, out = 0;
    int64_t groupSize = 1;             // the spectra's group size: the plan's for shared parts, 1 for private ones
    std::vector<GroupCut> groups;      // empty when the part stays dense
    // Index of the group holding `layer` (groups are consecutive runs of groupSize layers).
    int64_t groupOf(int64_t layer) const { return groupSize > 0 ? layer / groupSize : 0; }
};

struct PlanCut {
    double ratio = 0;
    std::string method;                // a registered method's name
    int64_t groupSize = 1;
    int64_t layers = 0;
    std::vector<PartCut> parts;        // plan order
    bool empty() const { return parts.empty(); }
};

PlanCut planCut(const CompressionPlan& plan);

// "group 3: layers 6-7", "group 4: layer 4".
QString groupLabel(int64_t index, const std::vector<int64_t>& layers);

} // namespace basis::ui
