#pragma once
// Safetensors checkpoints: a validating, memory-mapped reader (single file or sharded through
// model.safetensors.index.json) and an atomic writer. Torch-free: tensors are raw views into the mapping.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace basis {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtypeSize(DType dtype);
std::string dtypeName(DType dtype);              // "F32", ...
DType parseDType(const std::string& name);        // throws basis::Error on an unknown name

struct TensorView {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const std::byte* data = nullptr;   // into the memory map; valid while the owning file lives
    size_t bytes = 0;
    int64_t numel() const;
};

class MappedFile;

// One .safetensors file, fully validated on open: header length (within the file, at most 100 MB),
// JSON syntax, duplicate names, known dtypes, shape x dtype size == byte span, offsets in range and not
// overlapping. Every error message names the file and, where there is one, the tensor.
class SafetensorsFile {
public:
    static std::shared_ptr<const SafetensorsFile> open(const std::filesystem::path& path);
    ~SafetensorsFile();

    const std::filesystem::path& path() const { return m_path; }
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    std::vector<std::string> names() const;   // sorted
    bool contains(const std::string& name) const;
    const TensorView& tensor(const std::string& name) const;   // throws basis::Error naming file and tensor

private:
    SafetensorsFile() = default;
    std::filesystem::path m_path;
    std::unique_ptr<MappedFile> m_map;
    std::map<std::string, std::string> m_metadata;
    std::map<std::string, TensorView> m_tensors;
};

// The weights of a Hugging Face folder: model.safetensors, or the shards listed by
// model.safetensors.index.json (every listed tensor must be in its shard, each shard is validated).
class Checkpoint {
public:
    static Checkpoint open(const std::filesystem::path& dir);

    const std::filesystem::path& dir() const { return m_dir; }
    std::vector<std::string> names() const;   // sorted
    bool contains(const std::string& name) const;
    const TensorView& tensor(const std::string& name) const;   // throws basis::Error: "missing tensor"
    // The file that holds a tensor; keep it alive for as long as the tensor's data is used.
    std::shared_ptr<const SafetensorsFile> fileOf(const std::string& name) const;
    std::vector<std::shared_ptr<const SafetensorsFile>> files() const { return m_files; }

private:
    std::filesystem::path m_dir;
    std::vector<std::shared_ptr<const SafetensorsFile>> m_files;
    std::map<std::string, size_t> m_where;   // tensor name -> index in m_files
};

// Refuses (basis::Error naming the file) a write of `bytes` to `path` that its folder's file system has no room
// for; `what` names the write in the message ("the file", "the checkpoint's 3 shards").
void checkFreeSpace(const std::filesystem::path& path, uint64_t bytes, const std::string& what = "the file");

struct TensorToWrite {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const void* data = nullptr;
    size_t bytes = 0;
};

// Writes a .safetensors file atomically (temporary file in the same folder, then rename), tensors
// sorted by name, header padded to a multiple of 8. Throws basis::Error naming the file on failure.
void writeSafetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Writes a .safetensors file without holding its tensors: the header from the names, dtypes and shapes of
// `tensors` (their `data` is ignored), then the bytes of each tensor in the given order from produce(i, write),
// which calls write(data, bytes) as many times as it likes and must give exactly tensors[i].bytes in all (so a
// 13 GB checkpoint is written a tensor at a time). Header entries sorted by name; the data section in the given
// order, which readers accept (offsets are per tensor). Atomic like writeSafetensors.
using TensorBytesSink = std::function<void(const void* data, size_t bytes)>;
void writeSafetensorsStreamed(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                              const std::function<void(size_t index, const TensorBytesSink& write)>& produce,
                              const std::map<std::string, std::string>& metadata = {});

} // namespace basis
