#include "safetensors_shards.h"

#include "atomic_file.h"
#include "error.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <set>

namespace basis {

namespace fs = std::filesystem;

uint64_t parseShardSize(const std::string& text, const std::string& what)
{
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
        ++digits;
    std::string unit = text.substr(digits);
    for (char& c : unit)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    uint64_t scale = 0;
    if (unit.empty() || unit == "B")
        scale = 1;
    else if (unit == "KB")
        scale = 1'000;
    else if (unit == "MB")
        scale = 1'000'000;
    else if (unit == "GB")
        scale = 1'000'000'000;
    const uint64_t limit = uint64_t(1) << 60;   // an exabyte: far past any disk, and the product stays in 64 bits
    const uint64_t value = digits == 0 || digits > 18 ? limit : std::stoull(text.substr(0, digits));
    if (digits == 0 || scale == 0 || value >= limit / scale)
        throw Error(what + " '" + text + "': expected a size such as 5GB, 500MB, 64KB or a number of bytes");
    const uint64_t bytes = value * scale;
    if (bytes == 0)
        throw Error(what + " '" + text + "': a shard must hold at least one byte");
    return bytes;
}

std::vector<size_t> assignShards(const std::vector<TensorToWrite>& tensors, uint64_t maxShardBytes)
{
    std::vector<size_t> shard;
    size_t current = 0;
    uint64_t filled = 0;
    for (const TensorToWrite& t : tensors) {
        if (filled > 0 && filled + t.bytes > maxShardBytes) {
            ++current;
            filled = 0;
        }
        shard.push_back(current);
        filled += t.bytes;
    }
    return shard;
}

namespace {

std::string shardName(size_t index, size_t count)
{
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", index + 1, count);
    return name;
}

} // namespace

ShardedWrite writeSafetensorsSharded(const fs::path& dir, const std::vector<TensorToWrite>& tensors, uint64_t maxShardBytes,
                                     const std::function<void(size_t index, const TensorBytesSink& write)>& produce,
                                     const std::map<std::string, std::string>& metadata)
{
    if (maxShardBytes == 0)
        throw Error("internal: shard size 0");
    std::set<std::string> names;
    for (const TensorToWrite& t : tensors)
        if (!names.insert(t.name).second)
            throw Error(dir.string() + ": tensor '" + t.name + "' given twice");
    const std::vector<size_t> shardOf = assignShards(tensors, maxShardBytes);
    const size_t count = tensors.empty() ? 1 : shardOf.back() + 1;
    ShardedWrite result;
    for (const TensorToWrite& t : tensors)
        result.totalBytes += t.bytes;
    for (size_t s = 0; s < count; ++s)
        result.files.push_back(count == 1 ? std::string("model.safetensors") : shardName(s, count));
    fs::create_directories(dir);
    // Headers are at most a few hundred bytes per tensor; the check is about the whole, before the first shard.
    const uint64_t headerAllowance = 256 * static_cast<uint64_t>(tensors.size()) + 4096 * count;
    checkFreeSpace(dir / result.files.front(), result.totalBytes + headerAllowance,
                   count == 1 ? std::string("the checkpoint") : "the checkpoint's " + std::to_string(count) + " shards");

    size_t first = 0;
    for (size_t s = 0; s < count; ++s) {
        size_t end = first;
        while (end < tensors.size() && shardOf[end] == s)
            ++end;
        const std::vector<TensorToWrite> part(tensors.begin() + static_cast<std::ptrdiff_t>(first),
                                              tensors.begin() + static_cast<std::ptrdiff_t>(end));
        writeSafetensorsStreamed(dir / result.files[s], part,
                                 [&](size_t i, const TensorBytesSink& write) { produce(first + i, write); }, metadata);
        first = end;
    }
    if (count > 1) {
        nlohmann::json map = nlohmann::json::object();
        for (size_t i = 0; i < tensors.size(); ++i)
            map[tensors[i].name] = result.files[shardOf[i]];
        const nlohmann::json index = {{"metadata", {{"total_size", result.totalBytes}}}, {"weight_map", map}};
        writeFileAtomically(dir / "model.safetensors.index.json", index.dump(2) + "\n");
    }
    return result;
}

} // namespace basis
