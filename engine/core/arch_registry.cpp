#include "arch_registry.h"

#include "error.h"

namespace basis {

// Each architecture file defines one of these functions; arch_list.inc has one line per architecture.
#define BASIS_ARCH(name) const ArchDefinition& name##Architecture();
#include "archs/arch_list.inc"
#undef BASIS_ARCH

const std::vector<const ArchDefinition*>& architectures()
{
    static const std::vector<const ArchDefinition*> all = {
#define BASIS_ARCH(name) &name##Architecture(),
#include "archs/arch_list.inc"
#undef BASIS_ARCH
    };
    return all;
}

std::string supportedModelTypes()
{
    std::string names;
    for (const ArchDefinition* a : architectures())
        names += (names.empty() ? "" : ", ") + a->modelType;
    return names;
}

const ArchDefinition& architecture(const std::string& modelType)
{
    for (const ArchDefinition* a : architectures())
        if (a->modelType == modelType)
            return *a;
    throw Error("unknown model_type '" + modelType + "' (supported: " + supportedModelTypes() + ")");
}

} // namespace basis
