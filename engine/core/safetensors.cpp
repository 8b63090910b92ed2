#include "safetensors.h"

#include "atomic_file.h"
#include "error.h"
#include "json_io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <system_error>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace basis {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxHeader = 100ull * 1024 * 1024;
const char* const kIndexName = "model.safetensors.index.json";
const char* const kSingleName = "model.safetensors";

struct DTypeInfo {
    DType dtype;
    const char* name;
    size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::BOOL, "BOOL", 1},
};

[[noreturn]] void fail(const fs::path& path, const std::string& what)
{
    throw Error(path.string() + ": " + what);
}

// A name for a one-line message: control characters shown as '?', very long names cut short.
std::string inQuotes(const std::string& name)
{
    std::string shown = name.size() <= 200 ? name : name.substr(0, 197) + "...";
    for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20)
            c = '?';
    return "'" + shown + "'";
}

// A JSON value for a message, cut short so that a hostile header cannot make a huge one.
std::string brief(const nlohmann::json& value)
{
    bool small = !value.is_object() && (!value.is_array() || value.size() <= 8);
    if (value.is_array())
        for (const auto& v : value)
            small = small && v.is_primitive();
    if (!small)
        return describeJson(value);
    const std::string text = value.dump();
    return text.size() <= 60 ? text : text.substr(0, 57) + "...";
}

// Product of the dimensions; false when it does not fit in 64 bits (a zero dimension always fits).
bool elementCount(const std::vector<int64_t>& shape, uint64_t& numel)
{
    numel = 1;
    bool overflow = false;
    for (int64_t d : shape) {
        const auto u = static_cast<uint64_t>(d);
        if (u != 0 && numel > std::numeric_limits<uint64_t>::max() / u)
            overflow = true;
        numel *= u;
    }
    if (std::find(shape.begin(), shape.end(), 0) != shape.end()) {
        numel = 0;
        return true;
    }
    return !overflow;
}

// Byte size of shape x dtype; false on overflow.
bool byteCount(const std::vector<int64_t>& shape, DType dtype, uint64_t& bytes)
{
    uint64_t numel = 0;
    if (!elementCount(shape, numel) || numel > std::numeric_limits<uint64_t>::max() / dtypeSize(dtype))
        return false;
    bytes = numel * dtypeSize(dtype);
    return true;
}

// Header and index JSON: duplicate keys are errors (nlohmann would silently keep the last one).
nlohmann::json parseJsonStrict(const fs::path& path, const char* data, size_t size, const std::string& what,
                               const std::string& topLevelKind)
{
    nlohmann::json json = parseJson(path, data, size, {what, true, topLevelKind});
    if (!json.is_object())
        fail(path, what + " is not a JSON object (found " + std::string(json.type_name()) + ")");
    return json;
}

} // namespace

size_t dtypeSize(DType dtype)
{
    for (const auto& d : kDTypes)
        if (d.dtype == dtype)
            return d.size;
    return 0;
}

std::string dtypeName(DType dtype)
{
    for (const auto& d : kDTypes)
        if (d.dtype == dtype)
            return d.name;
    return "?";
}

DType parseDType(const std::string& name)
{
    for (const auto& d : kDTypes)
        if (name == d.name)
            return d.dtype;
    throw Error("unknown dtype '" + name + "'");
}

int64_t TensorView::numel() const
{
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return n;
}

// Read-only memory map of a whole regular file. The mapping outlives the descriptor, so the file is
// closed right away; an empty file has no mapping (mmap rejects a length of 0).
class MappedFile {
public:
    explicit MappedFile(const fs::path& path)
    {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fail(path, std::string("cannot open: ") + std::strerror(errno));
        try {
            map(path, fd);
        } catch (...) {
            ::close(fd);
            throw;
        }
        ::close(fd);
    }
    ~MappedFile()
    {
        if (m_data)
            ::munmap(const_cast<std::byte*>(m_data), m_size);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::byte* data() const { return m_data; }
    size_t size() const { return m_size; }

private:
    void map(const fs::path& path, int fd)
    {
        struct stat st {};
        if (::fstat(fd, &st) != 0)
            fail(path, std::string("cannot stat: ") + std::strerror(errno));
        if (!S_ISREG(st.st_mode))
            fail(path, "not a regular file");
        m_size = static_cast<size_t>(st.st_size);
        if (m_size == 0)
            return;
        void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            fail(path, std::string("cannot map: ") + std::strerror(errno));
        m_data = static_cast<const std::byte*>(p);
    }

    const std::byte* m_data = nullptr;
    size_t m_size = 0;
};

namespace {

// Where a tensor's bytes lie in the data section, for the overlap check.
struct Span {
    uint64_t begin, end;
    std::string name;
};

std::map<std::string, std::string> readMetadata(const fs::path& path, const nlohmann::json& entry)
{
    if (!entry.is_object())
        fail(path, "__metadata__ must be an object of strings, found " + std::string(entry.type_name()));
    std::map<std::string, std::string> out;
    for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string())
            fail(path, "__metadata__ value of " + inQuotes(m.key()) + " is not a string");
        out[m.key()] = m.value().get<std::string>();
    }
    return out;
}

DType readDType(const fs::path& path, const std::string& where, const nlohmann::json& entry)
{
    if (!entry.contains("dtype"))
        fail(path, where + "missing 'dtype'");
    if (!entry["dtype"].is_string())
        fail(path, where + "'dtype' must be a string, found " + brief(entry["dtype"]));
    const std::string name = entry["dtype"].get<std::string>();
    for (const auto& d : kDTypes)
        if (name == d.name)
            return d.dtype;
    fail(path, where + "unknown dtype " + inQuotes(name) + " (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
}

std::vector<int64_t> readShape(const fs::path& path, const std::string& where, const nlohmann::json& entry)
{
    if (!entry.contains("shape"))
        fail(path, where + "missing 'shape'");
    if (!entry["shape"].is_array())
        fail(path, where + "'shape' must be an array, found " + brief(entry["shape"]));
    std::vector<int64_t> shape;
    for (const auto& d : entry["shape"]) {
        // Integers above INT64_MAX come back as unsigned; they are no valid dimension either.
        if (!d.is_number_integer() || (d.is_number_unsigned() && d.get<uint64_t>() > INT64_MAX) ||
            d.get<int64_t>() < 0)
            fail(path, where + "shape entries must be non-negative integers, found " + brief(d));
        shape.push_back(d.get<int64_t>());
    }
    return shape;
}

Span readOffsets(const fs::path& path, const std::string& where, const nlohmann::json& entry)
{
    if (!entry.contains("data_offsets"))
        fail(path, where + "missing 'data_offsets'");
    const auto& off = entry["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
        fail(path, where + "'data_offsets' must be [begin, end] of non-negative integers, found " + brief(off));
    return {off[0].get<uint64_t>(), off[1].get<uint64_t>(), {}};
}

// One header entry, validated against the data section it points into.
TensorView readTensor(const fs::path& path, const std::string& name, const nlohmann::json& entry,
                      const std::byte* dataStart, uint64_t dataSize, Span& span)
{
    const std::string where = "tensor " + inQuotes(name) + ": ";
    if (!entry.is_object())
        fail(path, where + "entry must be an object, found " + brief(entry));
    TensorView v;
    v.name = name;
    v.dtype = readDType(path, where, entry);
    v.shape = readShape(path, where, entry);
    span = readOffsets(path, where, entry);
    span.name = name;
    if (span.begin > span.end)
        fail(path, where + "data_offsets begin " + std::to_string(span.begin) + " is after end " +
                       std::to_string(span.end));
    if (span.end > dataSize)
        fail(path, where + "data_offsets [" + std::to_string(span.begin) + ", " + std::to_string(span.end) +
                       ") run past the data section of " + std::to_string(dataSize) + " bytes (file truncated?)");
    uint64_t expected = 0;
    if (!byteCount(v.shape, v.dtype, expected))
        fail(path, where + "shape " + brief(entry["shape"]) + " is too large");
    if (expected != span.end - span.begin)
        fail(path, where + "shape " + brief(entry["shape"]) + " x " + dtypeName(v.dtype) + " is " +
                       std::to_string(expected) + " bytes but data_offsets span " +
                       std::to_string(span.end - span.begin));
    v.data = dataStart + span.begin;
    v.bytes = static_cast<size_t>(span.end - span.begin);
    return v;
}

// The tensors must tile the data section exactly, as the reference safetensors library requires: shared
// bytes, gaps and trailing bytes are all errors. A header length off by one (every weight shifted a byte)
// shows up here as a gap or a byte past the last tensor. Empty tensors own no bytes, so they overlap nothing.
void checkTiling(const fs::path& path, std::vector<Span> spans, uint64_t dataSize)
{
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
    const Span* furthest = nullptr;
    uint64_t covered = 0;
    for (const Span& s : spans) {
        if (s.begin == s.end)
            continue;
        if (furthest && s.begin < furthest->end)
            fail(path, "tensor " + inQuotes(s.name) + " overlaps tensor " + inQuotes(furthest->name) + " in the data section");
        if (s.begin > covered)
            fail(path, "bytes " + std::to_string(covered) + ".." + std::to_string(s.begin) + " of the data section belong to no tensor"
                       " (before tensor " + inQuotes(s.name) + "; header length or offsets wrong?)");
        if (!furthest || s.end > furthest->end)
            furthest = &s;
        covered = std::max(covered, s.end);
    }
    if (covered != dataSize)
        fail(path, "the data section has " + std::to_string(dataSize) + " bytes but the tensors end at byte " +
                       std::to_string(covered) + " (file has trailing bytes, or the header length is wrong)");
}

uint64_t readHeaderLength(const fs::path& path, const MappedFile& map)
{
    if (map.size() < 8)
        fail(path, "file of " + std::to_string(map.size()) + " bytes is too short for a safetensors header");
    uint64_t headerLen = 0;
    std::memcpy(&headerLen, map.data(), 8);   // little-endian: like safetensors, only little-endian hosts
    if (headerLen > kMaxHeader)
        fail(path, "header length " + std::to_string(headerLen) + " exceeds the 100 MB limit");
    if (headerLen > map.size() - 8)
        fail(path, "header length " + std::to_string(headerLen) + " goes beyond the end of the file (" +
                       std::to_string(map.size()) + " bytes)");
    return headerLen;
}

} // namespace

SafetensorsFile::~SafetensorsFile() = default;

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const fs::path& path)
{
    std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
    f->m_path = path;
    f->m_map = std::make_unique<MappedFile>(path);
    const uint64_t headerLen = readHeaderLength(path, *f->m_map);
    const char* headerData = reinterpret_cast<const char*>(f->m_map->data() + 8);
    const nlohmann::json header = parseJsonStrict(path, headerData, headerLen, "the header", "tensor");
    const std::byte* dataStart = f->m_map->data() + 8 + headerLen;
    const uint64_t dataSize = f->m_map->size() - 8 - headerLen;

    std::vector<Span> spans;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            f->m_metadata = readMetadata(path, it.value());
            continue;
        }
        Span span;
        f->m_tensors.emplace(it.key(), readTensor(path, it.key(), it.value(), dataStart, dataSize, span));
        spans.push_back(std::move(span));
    }
    checkTiling(path, std::move(spans), dataSize);
    return f;
}

std::vector<std::string> SafetensorsFile::names() const
{
    std::vector<std::string> out;
    for (const auto& kv : m_tensors)
        out.push_back(kv.first);
    return out;
}

bool SafetensorsFile::contains(const std::string& name) const { return m_tensors.count(name) > 0; }

const TensorView& SafetensorsFile::tensor(const std::string& name) const
{
    auto it = m_tensors.find(name);
    if (it == m_tensors.end())
        fail(m_path, "missing tensor " + inQuotes(name));
    return it->second;
}

namespace {

bool isFile(const fs::path& path)
{
    std::error_code ec;   // an unreadable folder reads as "absent" rather than a filesystem_error
    return fs::is_regular_file(path, ec);
}

// weight_map of an index file: tensor name -> shard file name (relative to the folder).
std::map<std::string, std::string> readWeightMap(const fs::path& index)
{
    const std::string text = readFile(index);
    const nlohmann::json j = parseJsonStrict(index, text.data(), text.size(), "the index", "key");
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
        fail(index, "missing 'weight_map' object");
    std::map<std::string, std::string> out;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
        if (!it.value().is_string())
            fail(index, "weight_map entry of tensor " + inQuotes(it.key()) + " is not a file name");
        out[it.key()] = it.value().get<std::string>();
    }
    if (out.empty())
        fail(index, "weight_map lists no tensors");
    return out;
}

} // namespace

Checkpoint Checkpoint::open(const fs::path& dir)
{
    Checkpoint c;
    c.m_dir = dir;
    const fs::path index = dir / kIndexName;
    if (isFile(index)) {
        std::map<std::string, size_t> shardIndex;   // shard file name -> index in m_files
        for (const auto& [tensor, shard] : readWeightMap(index)) {
            auto found = shardIndex.find(shard);
            if (found == shardIndex.end()) {
                if (!isFile(dir / shard))
                    fail(index, "shard " + inQuotes(shard) + " (listed for tensor " + inQuotes(tensor) + ") does not exist");
                found = shardIndex.emplace(shard, c.m_files.size()).first;
                c.m_files.push_back(SafetensorsFile::open(dir / shard));
            }
            if (!c.m_files[found->second]->contains(tensor))
                fail(index, "tensor " + inQuotes(tensor) + " is listed in shard " + inQuotes(shard) + " but missing from it");
        }
    } else if (isFile(dir / kSingleName)) {
        c.m_files.push_back(SafetensorsFile::open(dir / kSingleName));
    } else {
        fail(dir, std::string("no weights found (looked for ") + kSingleName + " and " + kIndexName + ")");
    }
    // Every tensor of every shard is reachable, listed or not; none may be in two shards.
    for (size_t s = 0; s < c.m_files.size(); ++s)
        for (const auto& name : c.m_files[s]->names()) {
            auto [where, inserted] = c.m_where.emplace(name, s);
            if (!inserted)
                fail(index, "tensor " + inQuotes(name) + " is in both " + c.m_files[where->second]->path().filename().string() +
                                " and " + c.m_files[s]->path().filename().string());
        }
    return c;
}

std::vector<std::string> Checkpoint::names() const
{
    std::vector<std::string> out;
    for (const auto& kv : m_where)
        out.push_back(kv.first);
    return out;
}

bool Checkpoint::contains(const std::string& name) const { return m_where.count(name) > 0; }

const TensorView& Checkpoint::tensor(const std::string& name) const
{
    return fileOf(name)->tensor(name);
}

std::shared_ptr<const SafetensorsFile> Checkpoint::fileOf(const std::string& name) const
{
    auto it = m_where.find(name);
    if (it == m_where.end())
        fail(m_dir, "missing tensor " + inQuotes(name));
    return m_files[it->second];
}

namespace {

// A temporary file beside the target that becomes the target on commit() and is removed otherwise,
// so an earlier file survives every failure.
class TempFile {
public:
    explicit TempFile(const fs::path& target) : m_target(target), m_name(target.string() + ".tmp-XXXXXX")
    {
        m_fd = ::mkstemp(m_name.data());
        if (m_fd < 0)
            fail(m_target, std::string("cannot create a temporary file: ") + std::strerror(errno));
    }
    ~TempFile()
    {
        if (m_fd >= 0)
            ::close(m_fd);
        if (!m_committed)
            ::unlink(m_name.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    void write(const void* data, size_t size)
    {
        const char* p = static_cast<const char*>(data);
        while (size > 0) {
            const ssize_t n = ::write(m_fd, p, size);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                fail(m_target, std::string("write failed: ") + std::strerror(errno));
            p += n;
            size -= static_cast<size_t>(n);
        }
    }

    void commit()
    {
        // mkstemp creates 0600; keep the mode of the file being replaced, else the usual 0644.
        struct stat old {};
        ::fchmod(m_fd, ::stat(m_target.c_str(), &old) == 0 ? (old.st_mode & 07777) : 0644);
        if (::fsync(m_fd) != 0)
            fail(m_target, std::string("cannot flush: ") + std::strerror(errno));
        const int fd = m_fd;
        m_fd = -1;
        if (::close(fd) != 0)
            fail(m_target, std::string("cannot flush: ") + std::strerror(errno));
        if (std::rename(m_name.c_str(), m_target.c_str()) != 0)
            fail(m_target, std::string("cannot replace: ") + std::strerror(errno));
        m_committed = true;
        syncFolder();
    }

private:
    // Makes the rename itself durable; best effort, as the data is already safe.
    void syncFolder() const
    {
        const fs::path folder = m_target.parent_path().empty() ? fs::path(".") : m_target.parent_path();
        const int dfd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            ::fsync(dfd);
            ::close(dfd);
        }
    }

    fs::path m_target;
    std::string m_name;
    int m_fd = -1;
    bool m_committed = false;
};

void checkTensorToWrite(const fs::path& path, const TensorToWrite& t)
{
    const std::string where = "tensor " + inQuotes(t.name) + ": ";
    if (t.name == "__metadata__")
        fail(path, "'__metadata__' is reserved and cannot name a tensor");
    for (int64_t d : t.shape)
        if (d < 0)
            fail(path, where + "negative dimension " + std::to_string(d));
    uint64_t expected = 0;
    if (!byteCount(t.shape, t.dtype, expected) || expected != t.bytes)
        fail(path, where + std::to_string(t.bytes) + " bytes given for a " + dtypeName(t.dtype) +
                       " shape needing " + std::to_string(expected));
    if (t.bytes > 0 && t.data == nullptr)
        fail(path, where + "no data");
}

// The header as the reference writers lay it out: compact JSON, __metadata__ first (only if there is
// any), then the tensors in the given (sorted) order with keys dtype, shape, data_offsets; padded with
// spaces to a multiple of 8 so the data section starts aligned.
// dataOrder: the order of the tensors' bytes in the data section when it is not the header's (streamed writes).
std::string buildHeader(const fs::path& path, const std::vector<const TensorToWrite*>& sorted,
                        const std::map<std::string, std::string>& metadata,
                        const std::vector<const TensorToWrite*>* dataOrder = nullptr)
{
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    std::map<const TensorToWrite*, uint64_t> offsets;
    uint64_t offset = 0;
    for (const TensorToWrite* t : dataOrder ? *dataOrder : sorted) {
        offsets[t] = offset;
        offset += t->bytes;
    }
    for (const TensorToWrite* t : sorted) {
        nlohmann::ordered_json entry;
        entry["dtype"] = dtypeName(t->dtype);
        entry["shape"] = t->shape;
        entry["data_offsets"] = {offsets[t], offsets[t] + t->bytes};
        header[t->name] = std::move(entry);
    }
    std::string json;
    try {
        json = header.dump();
    } catch (const nlohmann::json::exception& e) {   // a name or metadata string that is not UTF-8
        fail(path, std::string("cannot encode the header: ") + e.what());
    }
    json.append((8 - json.size() % 8) % 8, ' ');
    return json;
}

uint64_t totalBytes(const std::string& header, const std::vector<const TensorToWrite*>& tensors)
{
    uint64_t n = 8 + header.size();
    for (const TensorToWrite* t : tensors)
        n += t->bytes;
    return n;
}

} // namespace

// Refuses, before a byte is written, a file the folder's file system has no room for (a 13 GB output that fails
// at 90 % wastes the run and fills the disk), naming what is needed and what is free.
void checkFreeSpace(const fs::path& path, uint64_t bytes, const std::string& what)
{
    struct statvfs st {};
    const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    if (::statvfs(folder.c_str(), &st) != 0)
        return;   // the temporary file's creation reports a missing folder
    const uint64_t available = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    if (bytes > available) {
        char text[256];
        std::snprintf(text, sizeof text, "not enough disk space: %s needs %.3f GB, %.3f GB are free in ",
                      what.c_str(), static_cast<double>(bytes) / 1e9, static_cast<double>(available) / 1e9);
        fail(path, text + folder.string());
    }
}

void writeSafetensors(const fs::path& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    std::vector<const TensorToWrite*> sorted;
    for (const auto& t : tensors) {
        checkTensorToWrite(path, t);
        sorted.push_back(&t);
    }
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (size_t i = 1; i < sorted.size(); ++i)
        if (sorted[i - 1]->name == sorted[i]->name)
            fail(path, "tensor " + inQuotes(sorted[i]->name) + " given twice");
    const std::string header = buildHeader(path, sorted, metadata);
    checkFreeSpace(path, totalBytes(header, sorted));

    TempFile out(path);
    const uint64_t len = header.size();   // little-endian hosts only, as for reading
    out.write(&len, 8);
    out.write(header.data(), header.size());
    for (const TensorToWrite* t : sorted)
        out.write(t->data, t->bytes);
    out.commit();
}

void writeSafetensorsStreamed(const fs::path& path, const std::vector<TensorToWrite>& tensors,
                              const std::function<void(size_t index, const TensorBytesSink& write)>& produce,
                              const std::map<std::string, std::string>& metadata)
{
    std::vector<const TensorToWrite*> sorted, order;
    for (const auto& t : tensors) {
        TensorToWrite check = t;
        check.data = &t;   // the bytes come from produce()
        checkTensorToWrite(path, check);
        sorted.push_back(&t);
        order.push_back(&t);
    }
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (size_t i = 1; i < sorted.size(); ++i)
        if (sorted[i - 1]->name == sorted[i]->name)
            fail(path, "tensor " + inQuotes(sorted[i]->name) + " given twice");
    const std::string header = buildHeader(path, sorted, metadata, &order);
    checkFreeSpace(path, totalBytes(header, sorted));

    TempFile out(path);
    const uint64_t len = header.size();
    out.write(&len, 8);
    out.write(header.data(), header.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        size_t written = 0;
        produce(i, [&](const void* data, size_t bytes) {
            if (written + bytes > tensors[i].bytes)
                fail(path, "internal: tensor " + inQuotes(tensors[i].name) + " given more bytes than its shape holds");
            out.write(data, bytes);
            written += bytes;
        });
        if (written != tensors[i].bytes)
            fail(path, "internal: tensor " + inQuotes(tensors[i].name) + " given " + std::to_string(written) + " of its " +
                           std::to_string(tensors[i].bytes) + " bytes");
    }
    out.commit();
}

} // namespace basis
