#pragma once
// Output folders that never lose what a user had. A folder this project writes carries a marker file
// (.basis-studio-output.json: its kind, the format version and a manifest of every file with its size and
// xxh3 checksum, written last). A target is replaced only when it is one of ours, of the same kind, holding
// nothing but what the manifest lists, and not one of the inputs being read; otherwise the write is refused
// with a message naming the folder. The new folder is built beside the target and swapped in with
// renameat2(RENAME_EXCHANGE), falling back to a journaled two-step rename; leftovers of a killed run are
// completed, rolled back or removed by the next write of the same target, with a log line. Writers of one
// target take an advisory lock (flock on a lock file beside it), so a second writer waits.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace basis {

enum class OutputKind { CompressedModel, DenseModel, CalibrationCache, PeftAdapter };
// "compressed-model", "dense-model", "calibration-cache", "peft-adapter"
std::string outputKindName(OutputKind kind);

// Extra files a later step may add to a folder of ours without making it foreign (results.json beside a model).
struct OutputRules {
    std::vector<std::string> allowedExtras;
};

constexpr const char* kOutputMarker = ".basis-studio-output.json";

// Log lines of recovery ("recovered ...", "removed leftover ...", "waiting for ..."); may be empty.
using OutputLog = std::function<void(const std::string&)>;
// Polled while waiting for another writer's lock; throws (basis::Cancelled) to stop waiting.
using WaitCheck = std::function<void()>;

// The target as it will be written: absolute, normalised, trailing separators and "." resolved, symbolic
// links followed. Throws basis::Error when it cannot name a folder (an empty path, "/").
std::filesystem::path resolveOutputPath(const std::filesystem::path& out);

// Throws basis::Error naming `out` when writing it would replace something that is not ours to replace: a
// file, a folder of someone else's files, a folder of ours of another kind or holding other files, one of the
// `inputs` (or a folder inside or around one), or a parent that is a file or not writable. A missing target is
// fine. Cheap: call it before long work so a user learns at once.
void checkOutputFolder(const std::filesystem::path& out, OutputKind kind, const std::vector<std::filesystem::path>& inputs,
                       const OutputRules& rules = {});

// Before long work: takes the lock, recovers what a killed run left, checks the target (checkOutputFolder) and
// releases the lock. A user learns at once that an --out is refused, and a killed run is repaired first.
void prepareOutputFolder(const std::filesystem::path& out, OutputKind kind, const std::vector<std::filesystem::path>& inputs,
                         const OutputRules& rules = {}, const OutputLog& log = {});

// True when a killed write of `out` left something beside it (recoverOutputLeftovers would act).
bool hasOutputLeftovers(const std::filesystem::path& out);

// Exclusive advisory lock for writing one target; waits (logging once) while another process holds it.
class OutputLock {
public:
    OutputLock(const std::filesystem::path& out, const OutputLog& log = {}, const WaitCheck& check = {});
    ~OutputLock();
    OutputLock(const OutputLock&) = delete;
    OutputLock& operator=(const OutputLock&) = delete;
    const std::filesystem::path& target() const { return m_target; }

private:
    std::filesystem::path m_target, m_file;
    int m_fd = -1;
};

// Completes, rolls back or removes what a killed write of `out` left beside it. Call with the lock held.
void recoverOutputLeftovers(const std::filesystem::path& out, const OutputLog& log = {});

// Checks `out` (checkOutputFolder), recovers leftovers, builds the new folder with `fill` in a hidden sibling,
// writes the marker with the manifest, makes it durable and swaps it in. A failure or a cancellation inside
// `fill` leaves `out` as it was. `held`: a lock the caller already holds for this target (else one is taken).
void writeOutputFolder(const std::filesystem::path& out, OutputKind kind, const std::vector<std::filesystem::path>& inputs,
                       const std::function<void(const std::filesystem::path&)>& fill, const OutputRules& rules = {},
                       const OutputLog& log = {}, const OutputLock* held = nullptr);

// Verifies a folder against its marker: kind, and every manifest file's size and checksum. Throws basis::Error
// naming the folder and the first file that differs ("written by an older version" when there is no marker).
void verifyOutputFolder(const std::filesystem::path& dir, OutputKind kind);

// True when `dir` carries a marker of this kind (without verifying the files).
bool isOutputFolderOf(const std::filesystem::path& dir, OutputKind kind);

} // namespace basis
