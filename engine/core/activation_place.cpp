#include "activation_place.h"

#include "error.h"

namespace basis {

std::string activationPlaceName(ActivationPlace place)
{
    switch (place) {
    case ActivationPlace::Memory: return "memory";
    case ActivationPlace::Disk: return "disk";
    default: return "auto";
    }
}

ActivationPlace parseActivationPlace(const std::string& name)
{
    if (name == "auto" || name.empty())
        return ActivationPlace::Auto;
    if (name == "memory")
        return ActivationPlace::Memory;
    if (name == "disk")
        return ActivationPlace::Disk;
    throw Error("unknown activations place '" + name + "' (expected auto, memory or disk)");
}

bool activationsOnDisk(ActivationPlace place, int64_t bytes, int64_t available)
{
    if (place != ActivationPlace::Auto)
        return place == ActivationPlace::Disk;
    return available > 0 && bytes > available / 2;
}

} // namespace basis
