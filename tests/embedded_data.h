#pragma once
// stories260K and the TinyStories calib/eval texts ship in resources/ (the built-in model and data). Tests that name
// them by their ../shared path read the embedded copies instead (byte-identical, see resources/*/README.md), so the
// tests that need nothing else run in a fresh clone with no ../shared beside it.
#include <filesystem>
#include <optional>
#include <string>

namespace basis::test {

inline std::filesystem::path embeddedPath(const std::string& relative)
{
    return std::filesystem::path(BASIS_RESOURCES_DIR_DEFAULT) / relative;
}

// The embedded copy of a ../shared-relative path, when it is one of the embedded files.
inline std::optional<std::filesystem::path> embeddedCopy(const std::string& sharedRelative)
{
    const std::string model = "models/stories260K/hf";
    if (sharedRelative == model || sharedRelative.rfind(model + "/", 0) == 0)
        return embeddedPath("models/stories260K" + sharedRelative.substr(model.size()));
    for (const char* text : {"data/tinystories-valid/calib.txt", "data/tinystories-valid/eval.txt"})
        if (sharedRelative == text)
            return embeddedPath(sharedRelative);
    return std::nullopt;
}

} // namespace basis::test
