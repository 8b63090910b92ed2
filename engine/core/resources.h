#pragma once
// The data that ships with Basis Studio (resources/ in the source tree, share/basis-studio/resources once
// installed): the built-in stories260K model and the TinyStories texts, so a fresh checkout runs with nothing
// beside it. Torch-free and Qt-free: the CLI, the YAML pipeline and the studio all find them here.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace basis {

// Where resources are looked for, in order: $BASIS_RESOURCES_DIR when set; <program folder>/../share/basis-studio/
// resources (an installed build); the source tree's resources/ this program was built from.
std::vector<std::filesystem::path> resourceDirCandidates();

// The first candidate holding `relative` (a file or folder), or nothing.
std::optional<std::filesystem::path> findResource(const std::filesystem::path& relative);

// As findResource, but throws basis::Error naming every place looked in.
std::filesystem::path requireResource(const std::filesystem::path& relative);

// Built-in models, named as `builtin:NAME` (case-insensitive): "stories260k".
struct BuiltinModel {
    std::string name;            // as written after builtin:
    std::string folder;          // under resources/models/
    std::string description;
};
const std::vector<BuiltinModel>& builtinModels();
std::filesystem::path builtinModelDir(const std::string& name);   // throws for an unknown name or missing files

// The data folder that ships with the program (resources/data: tinystories-valid/calib.txt, eval.txt), or empty.
std::filesystem::path builtinDataDir();

} // namespace basis
