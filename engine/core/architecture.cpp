#include "architecture.h"

#include "arch_registry.h"
#include "error.h"

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

ArchTable archTable(const ModelConfig& c)
{
    return architecture(c.arch).table(c);
}

std::vector<std::string> defaultSharedParts(const ModelConfig& c)
{
    return architecture(c.arch).defaultShared;
}

} // namespace basis
