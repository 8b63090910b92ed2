#include "model_location.h"

#include "error.h"
#include "resources.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <system_error>

namespace basis {

namespace fs = std::filesystem;

namespace {

const std::string kBuiltin = "builtin:";

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

bool hubWord(const std::string& s)
{
    if (s.empty() || s == "." || s == ".." || s.front() == '-' || s.front() == '.')
        return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::string trimmed(std::string s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.pop_back();
    return s.substr(std::min(s.size(), s.find_first_not_of(" \t\r\n")));
}

std::vector<fs::path> subfolders(const fs::path& dir)
{
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec))
            out.push_back(it->path());
    std::sort(out.begin(), out.end());
    return out;
}

// One cache folder: the snapshot the revision names, or empty with `why` saying what was there instead.
fs::path snapshotIn(const fs::path& cache, const std::string& repo, const std::string& revision, bool revisionGiven,
                    std::string& why)
{
    std::string folder = "models--" + repo;
    folder.replace(folder.find('/'), 1, "--");
    const fs::path repoDir = cache / folder;
    std::error_code ec;
    if (!fs::is_directory(repoDir, ec)) {
        why = repoDir.string() + " (absent)";
        return {};
    }
    // refs/<revision> holds the commit hash a branch or tag points at; a commit hash names its snapshot directly.
    const fs::path ref = repoDir / "refs" / revision;
    if (fs::is_regular_file(ref, ec)) {
        std::ifstream in(ref);
        std::string commit;
        std::getline(in, commit);
        commit = trimmed(commit);
        const fs::path snap = repoDir / "snapshots" / commit;
        if (!commit.empty() && fs::is_directory(snap, ec))
            return snap;
        why = ref.string() + " names commit '" + commit + "' but " + snap.string() + " is absent";
        return {};
    }
    if (const fs::path snap = repoDir / "snapshots" / revision; fs::is_directory(snap, ec))
        return snap;
    const std::vector<fs::path> snaps = subfolders(repoDir / "snapshots");
    if (!revisionGiven && snaps.size() == 1)
        return snaps.front();   // no refs/main (e.g. downloaded by commit): the only snapshot is the one
    why = ref.string() + " (absent), and " + std::to_string(snaps.size()) + " snapshot" + (snaps.size() == 1 ? "" : "s") +
          " in " + (repoDir / "snapshots").string() + (revisionGiven || snaps.empty() ? "" : " (name one with @revision)");
    return {};
}

ModelLocation fromHub(const std::string& spec)
{
    const auto at = spec.find('@');
    const std::string repo = spec.substr(0, at);
    const bool revisionGiven = at != std::string::npos;
    const std::string revision = revisionGiven ? spec.substr(at + 1) : "main";
    std::vector<std::string> looked{fs::absolute(spec).string() + " (no such folder)"};
    for (const fs::path& cache : hubCacheDirs()) {
        std::string why;
        const fs::path snap = snapshotIn(cache, repo, revision, revisionGiven, why);
        if (snap.empty()) {
            looked.push_back(why);
            continue;
        }
        std::error_code ec;
        if (!fs::exists(snap / "config.json", ec))   // exists() follows the symlink: a dangling one is a partial download
            throw Error("model '" + spec + "': the Hugging Face cache snapshot " + snap.string() +
                        " has no readable config.json (an interrupted download? its blobs/ may be incomplete)");
        ModelLocation loc;
        loc.kind = ModelLocation::Kind::HubCache;
        loc.folder = snap;
        loc.spec = spec;
        loc.description = spec + ": Hugging Face cache snapshot " + snap.string() + " (revision " + revision + ")";
        return loc;
    }
    std::string list;
    for (const std::string& l : looked)
        list += (list.empty() ? "" : "; ") + l;
    throw Error("model '" + spec + "' is not a local folder and not in the Hugging Face cache (looked offline in: " +
                list + "); download it, e.g. `huggingface-cli download " + repo +
                "`, set HF_HUB_CACHE or HF_HOME to the cache that holds it, or give a local folder");
}

} // namespace

std::vector<fs::path> hubCacheDirs()
{
    std::vector<fs::path> dirs;
    auto add = [&](const fs::path& p) {
        if (!p.empty() && std::find(dirs.begin(), dirs.end(), p.lexically_normal()) == dirs.end())
            dirs.push_back(p.lexically_normal());
    };
    for (const char* var : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"})
        if (const std::string v = env(var); !v.empty())
            add(v);
    if (const std::string home = env("HF_HOME"); !home.empty())
        add(fs::path(home) / "hub");
    if (const std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty())
        add(fs::path(xdg) / "huggingface" / "hub");
    if (const std::string home = env("HOME"); !home.empty())
        add(fs::path(home) / ".cache" / "huggingface" / "hub");
    return dirs;
}

bool isBuiltinSpec(const std::string& spec) { return spec.rfind(kBuiltin, 0) == 0; }

bool isHubName(const std::string& spec)
{
    const auto at = spec.find('@');
    const std::string repo = spec.substr(0, at);
    if (at != std::string::npos) {
        const std::string rev = spec.substr(at + 1);
        if (rev.empty() || rev.find("..") != std::string::npos || rev.front() == '/')
            return false;
    }
    const auto slash = repo.find('/');
    return slash != std::string::npos && repo.find('/', slash + 1) == std::string::npos &&
           repo.find("--") == std::string::npos && hubWord(repo.substr(0, slash)) && hubWord(repo.substr(slash + 1));
}

ModelLocation locateModel(const std::string& spec)
{
    ModelLocation loc;
    loc.spec = spec;
    if (isBuiltinSpec(spec)) {
        loc.kind = ModelLocation::Kind::Builtin;
        loc.folder = builtinModelDir(spec.substr(kBuiltin.size()));
        loc.description = spec + ": built-in " + loc.folder.string();
        return loc;
    }
    std::error_code ec;
    if (spec.empty())
        throw Error("no model given (a folder, builtin:stories260k or a Hugging Face name org/name)");
    if (fs::is_directory(spec, ec) || !isHubName(spec)) {
        // A local path, or something that cannot be a Hub name: the loader says what is wrong with it.
        loc.folder = spec;
        loc.description = spec;
        return loc;
    }
    return fromHub(spec);
}

fs::path resolveModelFolder(const std::string& spec) { return locateModel(spec).folder; }

} // namespace basis
