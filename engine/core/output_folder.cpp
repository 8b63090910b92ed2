#include "output_folder.h"

#include "atomic_file.h"
#include "error.h"
#include "json_io.h"

#include <nlohmann/json.hpp>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace basis {

namespace fs = std::filesystem;

namespace {

constexpr int kFormatVersion = 1;

// Files the writers of the version before markers produced, to recognise (and replace) their folders.
const std::set<std::string> kLegacyModelFiles = {"config.json", "model.safetensors", "tokenizer.model", "tokenizer.json",
                                                 "vocab.json", "merges.txt", "tokenizer_config.json",
                                                 "special_tokens_map.json", "generation_config.json", "results.json"};
const std::set<std::string> kLegacyCacheFiles = {"calibration.json", "statistics.safetensors", "spectra.safetensors"};

std::string errnoText(int err) { return std::strerror(err); }

// Names beside the target: .NAME.tmp-PID-N (a folder being built; after an exchange, the earlier output),
// .NAME.old-PID-N (the earlier output during a two-step swap), .NAME.swap-journal, .NAME.lock.
std::string hiddenPrefix(const fs::path& target) { return "." + target.filename().string() + "."; }
fs::path journalPath(const fs::path& target) { return target.parent_path() / (hiddenPrefix(target) + "swap-journal"); }
fs::path lockPath(const fs::path& target) { return target.parent_path() / (hiddenPrefix(target) + "lock"); }

fs::path siblingName(const fs::path& target, const char* role)
{
    std::random_device rd;
    return target.parent_path() /
           (hiddenPrefix(target) + role + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000000u));
}

void syncPath(const fs::path& p, bool folder)
{
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | (folder ? O_DIRECTORY : 0));
    if (fd < 0)
        throw Error(p.string() + ": cannot open to flush: " + errnoText(errno));
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0)
        throw Error(p.string() + ": cannot flush to disk: " + errnoText(err));
}

struct FileDigest {
    uint64_t size = 0;
    std::string xxh3;
};

FileDigest digestFile(const fs::path& p)
{
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(p.string() + ": cannot open: " + errnoText(errno));
    XXH3_state_t* state = XXH3_createState();
    XXH3_64bits_reset(state);
    std::vector<char> buf(1 << 20);
    FileDigest d;
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0) {
            const int err = errno;
            XXH3_freeState(state);
            ::close(fd);
            throw Error(p.string() + ": read failed: " + errnoText(err));
        }
        if (n == 0)
            break;
        XXH3_64bits_update(state, buf.data(), static_cast<size_t>(n));
        d.size += static_cast<uint64_t>(n);
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits_digest(state)));
    XXH3_freeState(state);
    ::close(fd);
    d.xxh3 = hex;
    return d;
}

// Relative paths of every regular file under dir, the marker excluded.
std::vector<std::string> filesUnder(const fs::path& dir)
{
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_directory())
            continue;
        const std::string rel = fs::relative(e.path(), dir).string();
        if (rel != kOutputMarker)
            out.push_back(rel);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> topLevelEntries(const fs::path& dir)
{
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

nlohmann::json readMarker(const fs::path& dir)
{
    const fs::path file = dir / kOutputMarker;
    const nlohmann::json j = readJsonFile(file);
    if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string() || !j.contains("files") || !j["files"].is_object())
        throw Error(file.string() + ": not a Basis Studio output marker (needs 'kind' and 'files')");
    return j;
}

// What a folder is: ours (with the files its writer listed) or a legacy folder of ours, or foreign.
struct FolderKind {
    bool ours = false;
    std::string kind;                 // outputKindName, when ours
    std::set<std::string> files;      // files it may hold
};

bool legacyOf(const fs::path& dir, const char* descriptor, const std::string& key, const std::string& format,
              const std::set<std::string>& files)
{
    std::error_code ec;
    if (!fs::is_regular_file(dir / descriptor, ec))
        return false;
    try {
        const nlohmann::json j = readJsonFile(dir / descriptor);
        const nlohmann::json* f = &j;
        if (!key.empty()) {
            if (!j.is_object() || !j.contains(key))
                return false;
            f = &j[key];
        }
        if (!f->is_object() || f->value("format", std::string()) != format)
            return false;
    } catch (const Error&) {
        return false;
    }
    for (const std::string& e : topLevelEntries(dir))
        if (!files.count(e))
            return false;
    return true;
}

FolderKind classify(const fs::path& dir)
{
    FolderKind k;
    std::error_code ec;
    if (fs::exists(dir / kOutputMarker, ec)) {
        try {
            const nlohmann::json m = readMarker(dir);
            k.ours = true;
            k.kind = m["kind"].get<std::string>();
            for (auto it = m["files"].begin(); it != m["files"].end(); ++it)
                k.files.insert(it.key());
            k.files.insert(kOutputMarker);
        } catch (const Error&) {
            k.ours = false;   // a damaged marker does not vouch for anything
        }
        return k;
    }
    if (legacyOf(dir, "config.json", "compression", "basis-studio/1", kLegacyModelFiles)) {
        k = {true, outputKindName(OutputKind::CompressedModel), kLegacyModelFiles};
    } else if (legacyOf(dir, "calibration.json", "", "basis-studio-calibration/1", kLegacyCacheFiles)) {
        k = {true, outputKindName(OutputKind::CalibrationCache), kLegacyCacheFiles};
    }
    return k;
}

bool inside(const fs::path& inner, const fs::path& outer)
{
    auto i = inner.begin(), o = outer.begin();
    for (; o != outer.end(); ++o, ++i)
        if (i == inner.end() || *i != *o)
            return false;
    return true;
}

// The parent of the target: it or its nearest existing ancestor must be a writable folder.
void checkParent(const fs::path& target)
{
    fs::path p = target.parent_path();
    std::error_code ec;
    while (!p.empty() && !fs::exists(p, ec)) {
        if (p == p.parent_path())
            break;
        p = p.parent_path();
    }
    if (!fs::is_directory(p, ec))
        throw Error(target.string() + ": cannot create the folder: " + p.string() + " is a file, not a folder");
    if (::access(p.c_str(), W_OK | X_OK) != 0)
        throw Error(target.string() + ": cannot write in " + p.string() + ": " + errnoText(errno));
}

void renameOrThrow(const fs::path& from, const fs::path& to, const std::string& what)
{
    if (::rename(from.c_str(), to.c_str()) != 0)
        throw Error(to.string() + ": " + what + ": " + errnoText(errno));
}

// renameat2 (glibc >= 2.28); EINVAL/ENOSYS where the filesystem or kernel lacks a flag.
int renameat2Call(const fs::path& from, const fs::path& to, unsigned flags)
{
    return static_cast<int>(::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags));
}

bool completeFolder(const fs::path& dir)
{
    try {
        const nlohmann::json m = readMarker(dir);
        const std::string kind = m["kind"].get<std::string>();
        for (OutputKind k : {OutputKind::CompressedModel, OutputKind::DenseModel, OutputKind::CalibrationCache, OutputKind::PeftAdapter})
            if (outputKindName(k) == kind) {
                verifyOutputFolder(dir, k);
                return true;
            }
    } catch (const Error&) {
    }
    return false;
}

void writeMarker(const fs::path& dir, OutputKind kind)
{
    nlohmann::json files = nlohmann::json::object();
    for (const std::string& rel : filesUnder(dir)) {
        syncPath(dir / rel, false);   // copies (tokenizer files) were not flushed by their writers
        const FileDigest d = digestFile(dir / rel);
        files[rel] = {{"size", d.size}, {"xxh3", d.xxh3}};
    }
    const nlohmann::json marker = {{"kind", outputKindName(kind)},
                                   {"format_version", kFormatVersion},
                                   {"written_by", "basis-studio 0.1.0"},
                                   {"files", files}};
    writeFileAtomically(dir / kOutputMarker, marker.dump(2) + "\n");
    syncPath(dir, true);
}

} // namespace

std::string outputKindName(OutputKind kind)
{
    switch (kind) {
    case OutputKind::CompressedModel: return "compressed-model";
    case OutputKind::DenseModel: return "dense-model";
    case OutputKind::CalibrationCache: return "calibration-cache";
    case OutputKind::PeftAdapter: return "peft-adapter";
    }
    return "?";
}

fs::path resolveOutputPath(const fs::path& out)
{
    if (out.empty())
        throw Error("the output path is empty");
    fs::path p = fs::absolute(out).lexically_normal();
    if (!p.has_filename())
        p = p.parent_path();   // "dir/" and "dir/." name dir
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(p, ec);
    if (!ec)
        p = canonical;
    if (p == p.root_path() || p.filename().empty())
        throw Error(out.string() + ": cannot write an output as the root folder");
    return p;
}

void checkOutputFolder(const fs::path& outPath, OutputKind kind, const std::vector<fs::path>& inputs, const OutputRules& rules)
{
    const fs::path out = resolveOutputPath(outPath);
    for (const fs::path& input : inputs) {
        if (input.empty())
            continue;
        std::error_code ec;
        const fs::path in = fs::weakly_canonical(fs::absolute(input), ec);
        if (ec)
            continue;
        if (in == out)
            throw Error(out.string() + ": is the folder being read (" + input.string() +
                        "); write the output to another folder, nothing was changed");
        if (inside(in, out))
            throw Error(out.string() + ": contains " + input.string() +
                        ", which is being read; write the output to another folder, nothing was changed");
    }
    std::error_code ec;
    const auto status = fs::symlink_status(out, ec);
    if (!fs::exists(status)) {
        checkParent(out);
        return;
    }
    if (!fs::is_directory(status))
        throw Error(out.string() + ": exists and is a file, not a folder; refusing to replace it (choose another --out)");
    const std::vector<std::string> entries = topLevelEntries(out);
    if (entries.empty()) {
        checkParent(out);
        return;
    }
    const FolderKind found = classify(out);
    if (!found.ours)
        throw Error(out.string() + ": exists and was not written by Basis Studio (no " + std::string(kOutputMarker) +
                    "); refusing to replace it: choose a new folder, or remove this one yourself");
    if (found.kind != outputKindName(kind))
        throw Error(out.string() + ": holds a Basis Studio " + found.kind + ", not a " + outputKindName(kind) +
                    "; refusing to replace it (choose another folder)");
    std::vector<std::string> foreign;
    for (const std::string& e : entries) {
        const bool listed = found.files.count(e) ||
                            std::find(rules.allowedExtras.begin(), rules.allowedExtras.end(), e) != rules.allowedExtras.end();
        if (!listed)
            foreign.push_back(e);
    }
    if (!foreign.empty()) {
        std::string list;
        for (size_t i = 0; i < foreign.size() && i < 3; ++i)
            list += (i ? ", " : "") + foreign[i];
        if (foreign.size() > 3)
            list += ", ...";
        throw Error(out.string() + ": holds files Basis Studio did not write (" + list +
                    "); refusing to replace it: move them out, or choose another folder");
    }
    checkParent(out);
}

OutputLock::OutputLock(const fs::path& out, const OutputLog& log, const WaitCheck& check)
    : m_target(resolveOutputPath(out)), m_file(lockPath(m_target))
{
    checkParent(m_target);
    std::error_code ec;
    fs::create_directories(m_target.parent_path(), ec);
    if (ec)
        throw Error(m_target.string() + ": cannot create " + m_target.parent_path().string() + ": " + ec.message());
    bool logged = false;
    for (;;) {
        m_fd = ::open(m_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (m_fd < 0)
            throw Error(m_target.string() + ": cannot create the lock file " + m_file.string() + ": " + errnoText(errno));
        while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) {
                const int err = errno;
                ::close(m_fd);
                throw Error(m_target.string() + ": cannot lock " + m_file.string() + ": " + errnoText(err));
            }
            if (!logged && log) {
                char pid[32] = {0};
                const ssize_t n = ::pread(m_fd, pid, sizeof pid - 1, 0);
                log(m_target.string() + " is being written by another process" +
                    (n > 0 ? " (pid " + std::string(pid, static_cast<size_t>(n)) + ")" : std::string()) + "; waiting for it");
                logged = true;
            }
            try {
                if (check)
                    check();
            } catch (...) {
                ::close(m_fd);
                throw;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        // The previous holder may have unlinked the file between our open and our lock: lock the live one.
        struct stat held {}, now {};
        if (::fstat(m_fd, &held) == 0 && ::stat(m_file.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
            held.st_dev == now.st_dev)
            break;
        ::close(m_fd);
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(m_fd, 0) == 0 && ::pwrite(m_fd, pid.data(), pid.size(), 0) < 0) {
        // The pid is only for the waiting message; the lock holds without it.
    }
}

OutputLock::~OutputLock()
{
    if (m_fd >= 0) {
        ::unlink(m_file.c_str());
        ::close(m_fd);
    }
}

void recoverOutputLeftovers(const fs::path& outPath, const OutputLog& log)
{
    const fs::path out = resolveOutputPath(outPath);
    const fs::path parent = out.parent_path();
    std::error_code ec;
    if (!fs::is_directory(parent, ec))
        return;
    auto say = [&](const std::string& s) {
        if (log)
            log(s);
    };
    const fs::path journal = journalPath(out);
    if (fs::exists(journal, ec)) {
        fs::path newer, older;
        try {
            const nlohmann::json j = readJsonFile(journal);
            newer = parent / j.at("new").get<std::string>();
            older = parent / j.at("old").get<std::string>();
        } catch (const std::exception&) {
            // A journal cut short by the kill: the swap had not started (it is written before the first rename).
        }
        if (!fs::exists(out, ec) && !newer.empty()) {
            if (fs::exists(newer, ec) && completeFolder(newer)) {
                renameOrThrow(newer, out, "cannot complete the interrupted replacement");
                say("recovered " + out.string() + ": completed the replacement a killed run had started");
            } else if (fs::exists(older, ec)) {
                renameOrThrow(older, out, "cannot restore the earlier output");
                say("recovered " + out.string() + ": restored the earlier output a killed run had moved aside");
            }
        }
    }
    std::vector<fs::path> tmps, olds, others;
    const std::string prefix = hiddenPrefix(out);
    for (const auto& e : fs::directory_iterator(parent, ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind(prefix, 0) != 0 || e.path() == lockPath(out))
            continue;
        const std::string rest = name.substr(prefix.size());
        if (rest.rfind("tmp-", 0) == 0)
            tmps.push_back(e.path());
        else if (rest.rfind("old-", 0) == 0)
            olds.push_back(e.path());
        else if (rest.rfind("swap-journal", 0) == 0)
            others.push_back(e.path());
    }
    if (!fs::exists(out, ec)) {
        // No journal to go by (the version before journals, or a kill before the first rename of a new target):
        // an earlier output moved aside comes back; else a complete new folder goes in place.
        for (auto* list : {&olds, &tmps})
            for (auto it = list->begin(); it != list->end() && !fs::exists(out, ec); ++it)
                if (completeFolder(*it) || (list == &olds && fs::is_directory(*it, ec))) {
                    renameOrThrow(*it, out, "cannot recover a leftover output");
                    say("recovered " + out.string() + " from " + it->filename().string() + ", left by a killed run");
                    list->erase(it);
                    break;
                }
    }
    for (auto* list : {&tmps, &olds, &others})
        for (const fs::path& p : *list) {
            fs::remove_all(p, ec);
            if (ec)
                throw Error(p.string() + ": cannot remove the leftover of a killed run: " + ec.message());
            say("removed " + p.string() + ", left by a killed run");
        }
}

void writeOutputFolder(const fs::path& outPath, OutputKind kind, const std::vector<fs::path>& inputs,
                       const std::function<void(const fs::path&)>& fill, const OutputRules& rules, const OutputLog& log,
                       const OutputLock* held)
{
    const fs::path out = resolveOutputPath(outPath);
    std::unique_ptr<OutputLock> own;
    if (!held || held->target() != out)
        own = std::make_unique<OutputLock>(out, log);
    recoverOutputLeftovers(out, log);
    checkOutputFolder(out, kind, inputs, rules);

    const fs::path parent = out.parent_path();
    const fs::path tmp = siblingName(out, "tmp");
    std::error_code ec;
    fs::create_directory(tmp, ec);
    if (ec)
        throw Error(out.string() + ": cannot create a folder in " + parent.string() + ": " + ec.message());
    try {
        fill(tmp);
        writeMarker(tmp, kind);
    } catch (...) {
        fs::remove_all(tmp, ec);
        throw;
    }

    if (!fs::exists(out, ec)) {
        if (renameat2Call(tmp, out, RENAME_NOREPLACE) != 0) {
            const int err = errno;
            if ((err != EINVAL && err != ENOSYS) || ::rename(tmp.c_str(), out.c_str()) != 0) {
                fs::remove_all(tmp, ec);
                throw Error(out.string() + ": cannot move the new output in place: " + errnoText(err));
            }
        }
        syncPath(parent, true);
        return;
    }
    if (renameat2Call(tmp, out, RENAME_EXCHANGE) == 0) {
        syncPath(parent, true);
        fs::remove_all(tmp, ec);   // now the earlier output; a kill here leaves it for the next run to remove
        return;
    }
    const int err = errno;
    if (err != EINVAL && err != ENOSYS) {
        fs::remove_all(tmp, ec);
        throw Error(out.string() + ": cannot swap the new output in: " + errnoText(err));
    }
    // No RENAME_EXCHANGE on this filesystem: two renames, with a journal the next run completes or rolls back.
    const fs::path old = siblingName(out, "old");
    writeFileAtomically(journalPath(out),
                        nlohmann::json{{"new", tmp.filename().string()}, {"old", old.filename().string()}}.dump() + "\n");
    syncPath(parent, true);
    renameOrThrow(out, old, "cannot move the earlier output aside");
    if (::rename(tmp.c_str(), out.c_str()) != 0) {
        const int e2 = errno;
        renameOrThrow(old, out, "cannot restore the earlier output");
        fs::remove_all(tmp, ec);
        fs::remove(journalPath(out), ec);
        throw Error(out.string() + ": cannot move the new output in place: " + errnoText(e2));
    }
    syncPath(parent, true);
    fs::remove(journalPath(out), ec);
    fs::remove_all(old, ec);
}

void verifyOutputFolder(const fs::path& dir, OutputKind kind)
{
    std::error_code ec;
    if (!fs::exists(dir / kOutputMarker, ec))
        throw Error(dir.string() + ": has no " + std::string(kOutputMarker) +
                    " (written by an older version, or not by Basis Studio)");
    const nlohmann::json m = readMarker(dir);
    if (m["kind"].get<std::string>() != outputKindName(kind))
        throw Error(dir.string() + ": holds a " + m["kind"].get<std::string>() + ", not a " + outputKindName(kind));
    for (auto it = m["files"].begin(); it != m["files"].end(); ++it) {
        const fs::path file = dir / it.key();
        if (!fs::is_regular_file(file, ec))
            throw Error(dir.string() + ": " + it.key() + " is missing (the folder is incomplete)");
        const nlohmann::json& want = it.value();
        if (!want.is_object() || !want.contains("size") || !want["size"].is_number_unsigned() || !want.contains("xxh3") ||
            !want["xxh3"].is_string())
            throw Error((dir / kOutputMarker).string() + ": malformed entry for " + it.key());
        const uint64_t size = fs::file_size(file, ec);
        if (ec || size != want["size"].get<uint64_t>())
            throw Error(file.string() + ": is " + std::to_string(size) + " bytes, the manifest says " +
                        std::to_string(want["size"].get<uint64_t>()) + " (changed or cut off since it was written)");
        if (digestFile(file).xxh3 != want["xxh3"].get<std::string>())
            throw Error(file.string() + ": checksum differs from the manifest (changed or damaged since it was written)");
    }
}

void prepareOutputFolder(const fs::path& out, OutputKind kind, const std::vector<fs::path>& inputs, const OutputRules& rules,
                         const OutputLog& log)
{
    checkOutputFolder(out, kind, inputs, rules);   // a refusal needs no lock and creates nothing
    OutputLock lock(out, log);
    recoverOutputLeftovers(out, log);
    checkOutputFolder(out, kind, inputs, rules);   // what recovery put back is checked too
}

bool hasOutputLeftovers(const fs::path& outPath)
{
    std::error_code ec;
    const fs::path out = resolveOutputPath(outPath);
    const std::string prefix = hiddenPrefix(out);
    for (const auto& e : fs::directory_iterator(out.parent_path(), ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind(prefix, 0) == 0 && e.path() != lockPath(out))
            return true;
    }
    return false;
}

bool isOutputFolderOf(const fs::path& dir, OutputKind kind)
{
    try {
        return readMarker(dir)["kind"].get<std::string>() == outputKindName(kind);
    } catch (const Error&) {
        return false;
    }
}

} // namespace basis
