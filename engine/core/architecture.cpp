#include "architecture.h"

#include "arch_registry.h"
#include "error.h"

#include <algorithm>

namespace basis {

ProjectionSpec projection(std::string part, std::string module, Role role, InputSite site, int64_t in, int64_t out,
                          bool inOut, bool bias)
{
    return ProjectionSpec{std::move(part), std::move(module), role, site, in, out, inOut, bias};
}

std::string inputSiteName(InputSite site)
{
    switch (site) {
    case InputSite::AttnIn: return "attn_in";
    case InputSite::AttnOut: return "attn_out";
    case InputSite::MlpIn: return "mlp_in";
    case InputSite::MlpOut: return "mlp_out";
    }
    return "?";
}

std::string ArchTable::layerTensor(int64_t layer, const std::string& moduleAndParam) const
{
    std::string prefix = layerPrefix;
    const auto at = prefix.find("{L}");
    prefix.replace(at, 3, std::to_string(layer));
    return prefix + moduleAndParam;
}

const ProjectionSpec* ArchTable::findPart(const std::string& name) const
{
    for (const auto& p : projections)
        if (p.part == name || p.module == name)
            return &p;
    return nullptr;
}

std::vector<std::string> ArchTable::partNames() const
{
    std::vector<std::string> names;
    for (const auto& p : projections)
        names.push_back(p.part);
    return names;
}

namespace {

const FusedSplit* findSplit(const ArchDefinition& def, const std::string& fused)
{
    for (const FusedSplit& s : def.fusedSplits)
        if (s.fused == fused)
            return &s;
    return nullptr;
}

std::string splittable(const ArchDefinition& def)
{
    std::string names;
    for (const FusedSplit& s : def.fusedSplits)
        names += (names.empty() ? "" : ", ") + s.fused;
    return names.empty() ? "none" : names;
}

int64_t partRows(const ModelConfig& c, Role role)
{
    switch (role) {
    case Role::Q: return c.heads * c.headDim;
    case Role::K:
    case Role::V: return c.kvHeads * c.headDim;
    case Role::Gate:
    case Role::Up: return c.intermediate;
    default: throw Error("internal: a fused projection's part has no size of its own");
    }
}

} // namespace

ArchTable archTable(const ModelConfig& c)
{
    const ArchDefinition& def = architecture(c.arch);
    ArchTable t = def.table(c);
    for (const std::string& name : c.splitFused) {
        const FusedSplit* split = findSplit(def, name);
        auto at = std::find_if(t.projections.begin(), t.projections.end(), [&](const ProjectionSpec& p) { return p.part == name; });
        if (!split || at == t.projections.end())
            throw Error("'" + name + "' is not a fused projection of " + c.arch + " that can be split (splittable: " +
                        splittable(def) + ")");
        const ProjectionSpec fused = *at;
        std::vector<ProjectionSpec> parts;
        int64_t offset = 0;
        for (const FusedPart& fp : split->parts) {
            ProjectionSpec p = fused;
            p.part = fp.part;
            p.module = fp.module;
            p.role = fp.role;
            p.out = partRows(c, fp.role);
            p.fusedModule = fused.module;
            p.fusedOffset = offset;
            p.fusedOut = fused.out;
            offset += p.out;
            parts.push_back(p);
        }
        if (offset != fused.out)
            throw Error("internal: the parts of " + name + " have " + std::to_string(offset) + " rows, the projection " +
                        std::to_string(fused.out));
        at = t.projections.erase(at);
        t.projections.insert(at, parts.begin(), parts.end());
    }
    return t;
}

ArchTable tableWithAllParts(const ModelConfig& c)
{
    ModelConfig all = c;
    all.splitFused.clear();
    for (const FusedSplit& f : architecture(c.arch).fusedSplits)
        all.splitFused.push_back(f.fused);
    return archTable(all);
}

std::vector<std::string> fusedPartsNamed(const ModelConfig& c, const std::vector<std::string>& names)
{
    const ArchDefinition& def = architecture(c.arch);
    if (def.fusedSplits.empty())
        return {};
    ModelConfig whole = c;
    whole.splitFused.clear();
    const ArchTable t = def.table(whole);
    std::vector<std::string> out;
    for (const ProjectionSpec& p : t.projections) {
        const FusedSplit* split = findSplit(def, p.part);
        if (!split)
            continue;
        bool fusedNamed = false;
        std::string partNamed;
        for (const std::string& n : names) {
            fusedNamed = fusedNamed || n == p.part || n == p.module;
            for (const FusedPart& fp : split->parts)
                if (n == fp.part || n == fp.module)
                    partNamed = fp.part;
        }
        if (partNamed.empty())
            continue;
        if (fusedNamed)
            throw Error("parts '" + p.part + "' and '" + partNamed + "' are both named: '" + partNamed +
                        "' is inside the fused projection '" + p.part + "'; name the fused projection or its parts");
        out.push_back(p.part);
    }
    return out;
}

std::vector<std::string> defaultSharedParts(const ModelConfig& c)
{
    return architecture(c.arch).defaultShared;
}

} // namespace basis
