#include "resources.h"

#include "error.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <system_error>

namespace basis {

namespace fs = std::filesystem;

namespace {

fs::path programDir()
{
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);   // Linux: the running program, symlinks resolved
    return ec ? fs::path() : exe.parent_path();
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

} // namespace

std::vector<fs::path> resourceDirCandidates()
{
    std::vector<fs::path> dirs;
    if (const char* env = std::getenv("BASIS_RESOURCES_DIR"); env && *env)
        dirs.emplace_back(env);
    if (const fs::path exe = programDir(); !exe.empty())
        dirs.push_back((exe / ".." / "share" / "basis-studio" / "resources").lexically_normal());
#ifdef BASIS_SOURCE_RESOURCES_DIR
    dirs.emplace_back(BASIS_SOURCE_RESOURCES_DIR);
#endif
    return dirs;
}

std::optional<fs::path> findResource(const fs::path& relative)
{
    for (const fs::path& dir : resourceDirCandidates()) {
        std::error_code ec;
        if (fs::exists(dir / relative, ec))
            return dir / relative;
    }
    return std::nullopt;
}

fs::path requireResource(const fs::path& relative)
{
    if (auto found = findResource(relative))
        return *found;
    std::string looked;
    for (const fs::path& dir : resourceDirCandidates())
        looked += (looked.empty() ? "" : ", ") + (dir / relative).string();
    throw Error("built-in resource " + relative.string() + " not found; looked in: " +
                (looked.empty() ? std::string("(nowhere: no program folder, no source tree)") : looked) +
                " (set BASIS_RESOURCES_DIR to the resources/ folder of Basis Studio)");
}

const std::vector<BuiltinModel>& builtinModels()
{
    static const std::vector<BuiltinModel> models = {
        {"stories260k", "stories260K",
         "Karpathy's real pretrained stories260K (Llama-2 architecture, 260K parameters, TinyStories; MIT)"},
    };
    return models;
}

fs::path builtinModelDir(const std::string& name)
{
    const std::string wanted = lower(name);
    for (const BuiltinModel& m : builtinModels())
        if (m.name == wanted)
            return requireResource(fs::path("models") / m.folder / "config.json").parent_path();
    std::string known;
    for (const BuiltinModel& m : builtinModels())
        known += (known.empty() ? "builtin:" : ", builtin:") + m.name;
    throw Error("unknown built-in model 'builtin:" + name + "' (built in: " + known + ")");
}

fs::path builtinDataDir()
{
    const auto found = findResource("data/tinystories-valid/calib.txt");
    return found ? found->parent_path().parent_path() : fs::path();
}

} // namespace basis
