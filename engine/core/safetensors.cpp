#include "safetensors.h"

#include "atomic_file.h"
#include "error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace basis {

namespace {

constexpr uint64_t kMaxHeader = 100ull * 1024 * 1024;

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

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what)
{
    throw Error(path.string() + ": " + what);
}

// Rejects duplicate keys, which nlohmann would otherwise resolve silently to the last one.
nlohmann::json parseHeader(const std::filesystem::path& path, const char* data, size_t size)
{
    std::vector<std::set<std::string>> keys;
    std::string duplicate;
    auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using E = nlohmann::json::parse_event_t;
        if (event == E::object_start) {
            keys.resize(static_cast<size_t>(depth) + 1);
            keys[static_cast<size_t>(depth)].clear();
        } else if (event == E::key) {
            auto& set = keys.at(static_cast<size_t>(depth) - 1);
            const std::string k = parsed.get<std::string>();
            if (!set.insert(k).second && duplicate.empty())
                duplicate = k;
        }
        return true;
    };
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(data, data + size, callback);
    } catch (const nlohmann::json::parse_error& e) {
        fail(path, std::string("invalid JSON header: ") + e.what());
    }
    if (!duplicate.empty())
        fail(path, "duplicate tensor '" + duplicate + "' in the header");
    if (!header.is_object())
        fail(path, "the header is not a JSON object");
    return header;
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

// Read-only memory map of a whole file.
class MappedFile {
public:
    explicit MappedFile(const std::filesystem::path& path)
    {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fail(path, std::string("cannot open: ") + std::strerror(errno));
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            ::close(fd);
            fail(path, std::string("cannot stat: ") + std::strerror(errno));
        }
        m_size = static_cast<size_t>(st.st_size);
        if (m_size > 0) {
            void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                ::close(fd);
                fail(path, std::string("cannot map: ") + std::strerror(errno));
            }
            m_data = static_cast<const std::byte*>(p);
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
    const std::byte* m_data = nullptr;
    size_t m_size = 0;
};

SafetensorsFile::~SafetensorsFile() = default;

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path)
{
    std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
    f->m_path = path;
    f->m_map = std::make_unique<MappedFile>(path);
    const size_t fileSize = f->m_map->size();
    if (fileSize < 8)
        fail(path, "file of " + std::to_string(fileSize) + " bytes is too short for a safetensors header");
    uint64_t headerLen = 0;
    std::memcpy(&headerLen, f->m_map->data(), 8);   // little-endian hosts only, as safetensors itself
    if (headerLen > kMaxHeader)
        fail(path, "header length " + std::to_string(headerLen) + " exceeds the 100 MB limit");
    if (headerLen > fileSize - 8)
        fail(path, "header length " + std::to_string(headerLen) + " goes beyond the end of the file (" +
                       std::to_string(fileSize) + " bytes)");
    const char* headerData = reinterpret_cast<const char*>(f->m_map->data() + 8);
    nlohmann::json header = parseHeader(path, headerData, headerLen);
    const std::byte* dataStart = f->m_map->data() + 8 + headerLen;
    const uint64_t dataSize = fileSize - 8 - headerLen;

    struct Span {
        uint64_t begin, end;
        std::string name;
    };
    std::vector<Span> spans;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const nlohmann::json& entry = it.value();
        if (name == "__metadata__") {
            if (!entry.is_object())
                fail(path, "__metadata__ must be an object of strings");
            for (auto m = entry.begin(); m != entry.end(); ++m) {
                if (!m.value().is_string())
                    fail(path, "__metadata__ value of '" + m.key() + "' is not a string");
                f->m_metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string where = "tensor '" + name + "': ";
        if (!entry.is_object())
            fail(path, where + "entry is not an object");
        if (!entry.contains("dtype") || !entry["dtype"].is_string())
            fail(path, where + "missing or non-string 'dtype'");
        if (!entry.contains("shape") || !entry["shape"].is_array())
            fail(path, where + "missing or non-array 'shape'");
        if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
            fail(path, where + "'data_offsets' must be an array [begin, end]");
        TensorView v;
        v.name = name;
        try {
            v.dtype = parseDType(entry["dtype"].get<std::string>());
        } catch (const Error&) {
            fail(path, where + "unknown dtype '" + entry["dtype"].get<std::string>() + "'");
        }
        uint64_t numel = 1;
        for (const auto& d : entry["shape"]) {
            if (!d.is_number_integer() || d.get<int64_t>() < 0)
                fail(path, where + "shape entries must be non-negative integers, found " + d.dump());
            v.shape.push_back(d.get<int64_t>());
            numel *= static_cast<uint64_t>(d.get<int64_t>());
        }
        const auto& off = entry["data_offsets"];
        if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            fail(path, where + "data_offsets must be non-negative integers");
        const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
        if (begin > end)
            fail(path, where + "data_offsets begin " + std::to_string(begin) + " is after end " + std::to_string(end));
        if (end > dataSize)
            fail(path, where + "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                           ") run past the data section of " + std::to_string(dataSize) + " bytes (file truncated?)");
        const uint64_t expected = numel * dtypeSize(v.dtype);
        if (expected != end - begin)
            fail(path, where + "shape x dtype size is " + std::to_string(expected) + " bytes but data_offsets span " +
                           std::to_string(end - begin));
        v.data = dataStart + begin;
        v.bytes = static_cast<size_t>(end - begin);
        spans.push_back({begin, end, name});
        f->m_tensors.emplace(name, std::move(v));
    }
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
    for (size_t i = 1; i < spans.size(); ++i)
        if (spans[i].begin < spans[i - 1].end && spans[i].end > spans[i].begin)
            fail(path, "tensor '" + spans[i].name + "' overlaps tensor '" + spans[i - 1].name + "'");
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
        fail(m_path, "missing tensor '" + name + "'");
    return it->second;
}

Checkpoint Checkpoint::open(const std::filesystem::path& dir)
{
    Checkpoint c;
    c.m_dir = dir;
    const auto index = dir / "model.safetensors.index.json";
    const auto single = dir / "model.safetensors";
    if (std::filesystem::exists(index)) {
        const nlohmann::json j = readJsonFile(index);
        if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
            fail(index, "missing 'weight_map' object");
        std::map<std::string, size_t> shardIndex;
        for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
            if (!it.value().is_string())
                fail(index, "weight_map entry of '" + it.key() + "' is not a file name");
            const std::string shard = it.value().get<std::string>();
            if (!shardIndex.count(shard)) {
                if (!std::filesystem::exists(dir / shard))
                    fail(index, "shard '" + shard + "' (listed for tensor '" + it.key() + "') does not exist");
                shardIndex[shard] = c.m_files.size();
                c.m_files.push_back(SafetensorsFile::open(dir / shard));
            }
            const size_t s = shardIndex[shard];
            if (!c.m_files[s]->contains(it.key()))
                fail(index, "tensor '" + it.key() + "' is listed in shard '" + shard + "' but missing from it");
        }
        for (size_t s = 0; s < c.m_files.size(); ++s)
            for (const auto& name : c.m_files[s]->names()) {
                auto [where, inserted] = c.m_where.emplace(name, s);
                if (!inserted && where->second != s)
                    fail(index, "tensor '" + name + "' appears in both " + c.m_files[where->second]->path().filename().string() +
                                    " and " + c.m_files[s]->path().filename().string());
            }
    } else if (std::filesystem::exists(single)) {
        c.m_files.push_back(SafetensorsFile::open(single));
        for (const auto& name : c.m_files[0]->names())
            c.m_where.emplace(name, 0);
    } else {
        fail(dir, "no weights found (looked for model.safetensors and model.safetensors.index.json)");
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
    auto it = m_where.find(name);
    if (it == m_where.end())
        fail(m_dir, "missing tensor '" + name + "'");
    return m_files[it->second]->tensor(name);
}

std::shared_ptr<const SafetensorsFile> Checkpoint::fileOf(const std::string& name) const
{
    auto it = m_where.find(name);
    if (it == m_where.end())
        fail(m_dir, "missing tensor '" + name + "'");
    return m_files[it->second];
}

void writeSafetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    std::vector<const TensorToWrite*> sorted;
    for (const auto& t : tensors)
        sorted.push_back(&t);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (size_t i = 0; i < sorted.size(); ++i) {
        const TensorToWrite& t = *sorted[i];
        if (i > 0 && sorted[i - 1]->name == t.name)
            fail(path, "tensor '" + t.name + "' given twice");
        uint64_t numel = 1;
        for (int64_t d : t.shape)
            numel *= static_cast<uint64_t>(d);
        if (numel * dtypeSize(t.dtype) != t.bytes)
            fail(path, "tensor '" + t.name + "': " + std::to_string(t.bytes) + " bytes given for a shape needing " +
                           std::to_string(numel * dtypeSize(t.dtype)));
        header[t.name] = {{"dtype", dtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes}}};
        offset += t.bytes;
    }
    std::string json = header.dump();
    json.append((8 - json.size() % 8) % 8, ' ');

    std::string tmpl = path.string() + ".tmp-XXXXXX";
    int fd = mkstemp(tmpl.data());
    if (fd < 0)
        fail(path, std::string("cannot create a temporary file: ") + std::strerror(errno));
    auto writeAll = [&](const void* data, size_t size) {
        const char* p = static_cast<const char*>(data);
        while (size > 0) {
            ssize_t n = ::write(fd, p, size);
            if (n < 0) {
                const int err = errno;
                ::close(fd);
                ::unlink(tmpl.c_str());
                fail(path, std::string("write failed: ") + std::strerror(err));
            }
            p += n;
            size -= static_cast<size_t>(n);
        }
    };
    const uint64_t len = json.size();
    writeAll(&len, 8);
    writeAll(json.data(), json.size());
    for (const TensorToWrite* t : sorted)
        writeAll(t->data, t->bytes);
    ::fchmod(fd, 0644);
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmpl.c_str());
        fail(path, std::string("cannot flush: ") + std::strerror(err));
    }
    if (std::rename(tmpl.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmpl.c_str());
        fail(path, std::string("cannot replace: ") + std::strerror(err));
    }
}

} // namespace basis
