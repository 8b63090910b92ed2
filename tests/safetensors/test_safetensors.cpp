// Safetensors reader and writer: round trips, the golden files, sharded checkpoints, and a clear error for
// every kind of malformed file.
#include "test_support.h"

#include "atomic_file.h"
#include "error.h"
#include "safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

namespace {

using basis::test::expectError;

namespace fs = std::filesystem;
using basis::DType;

// A file from a raw JSON header and a data section.
fs::path rawFile(const std::string& name, const std::string& header, size_t dataBytes, uint64_t lengthField = 0)
{
    fs::path path = basis::test::scratchDir("st-" + name) / "model.safetensors";
    std::string bytes(8, '\0');
    const uint64_t len = lengthField ? lengthField : header.size();
    std::memcpy(bytes.data(), &len, 8);
    bytes += header;
    bytes.append(dataBytes, '\x01');
    basis::writeFileAtomically(path, bytes);
    return path;
}

TEST(Safetensors, RoundTripOfEveryDTypeAndMetadata)
{
    const fs::path path = basis::test::scratchDir("st-roundtrip") / "x.safetensors";
    std::vector<std::vector<uint8_t>> buffers;
    std::vector<basis::TensorToWrite> tensors;
    const DType all[] = {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64,
                         DType::I32, DType::I16, DType::I8,  DType::U8,   DType::BOOL};
    for (DType d : all) {
        const size_t bytes = 6 * basis::dtypeSize(d);
        buffers.emplace_back(bytes);
        for (size_t i = 0; i < bytes; ++i)
            buffers.back()[i] = static_cast<uint8_t>(i * 7 + static_cast<int>(d));
        tensors.push_back({"t." + basis::dtypeName(d), d, {2, 3}, buffers.back().data(), bytes});
    }
    basis::writeSafetensors(path, tensors, {{"format", "pt"}});
    auto f = basis::SafetensorsFile::open(path);
    EXPECT_EQ(f->metadata().at("format"), "pt");
    EXPECT_EQ(f->names().size(), tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        const auto& v = f->tensor(tensors[i].name);
        EXPECT_EQ(v.dtype, tensors[i].dtype);
        EXPECT_EQ(v.shape, (std::vector<int64_t>{2, 3}));
        ASSERT_EQ(v.bytes, tensors[i].bytes);
        EXPECT_EQ(std::memcmp(v.data, buffers[i].data(), v.bytes), 0);
    }
    // The header is padded to a multiple of 8, as the reference writer does.
    uint64_t len = 0;
    std::memcpy(&len, basis::readFile(path).data(), 8);
    EXPECT_EQ(len % 8, 0u);
}

TEST(Safetensors, ReadsGoldenCheckpoint)
{
    BASIS_REQUIRE_SHARED("golden/llama/model.safetensors");
    auto ckpt = basis::Checkpoint::open(basis::test::sharedPath("golden/llama"));
    EXPECT_EQ(ckpt.names().size(), 30u);
    const auto& q = ckpt.tensor("model.layers.0.self_attn.q_proj.weight");
    EXPECT_EQ(q.dtype, DType::F32);
    EXPECT_EQ(q.shape, (std::vector<int64_t>{64, 64}));
    expectError([&] { ckpt.tensor("model.layers.9.mlp.up_proj.weight"); }, {"golden/llama", "missing tensor", "layers.9"});
}

TEST(Safetensors, ShardedCheckpointThroughIndex)
{
    const fs::path dir = basis::test::scratchDir("st-sharded");
    float a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
    basis::writeSafetensors(dir / "model-00001-of-00002.safetensors", {{"a", DType::F32, {2, 2}, a, sizeof a}});
    basis::writeSafetensors(dir / "model-00002-of-00002.safetensors", {{"b", DType::F32, {2}, b, sizeof b}});
    basis::writeFileAtomically(dir / "model.safetensors.index.json",
                               R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                                   "b": "model-00002-of-00002.safetensors"}})");
    auto ckpt = basis::Checkpoint::open(dir);
    EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(reinterpret_cast<const float*>(ckpt.tensor("b").data)[1], 6.f);
    EXPECT_EQ(ckpt.fileOf("a")->path().filename(), "model-00001-of-00002.safetensors");

    // A tensor listed for a shard that does not hold it.
    basis::writeFileAtomically(dir / "model.safetensors.index.json",
                               R"({"weight_map": {"a": "model-00002-of-00002.safetensors"}})");
    expectError([&] { basis::Checkpoint::open(dir); }, {"model.safetensors.index.json", "'a'", "missing"});
    // A shard that does not exist.
    basis::writeFileAtomically(dir / "model.safetensors.index.json", R"({"weight_map": {"a": "nope.safetensors"}})");
    expectError([&] { basis::Checkpoint::open(dir); }, {"nope.safetensors", "does not exist"});
    // The same tensor in two shards.
    basis::writeSafetensors(dir / "model-00002-of-00002.safetensors",
                            {{"a", DType::F32, {2, 2}, a, sizeof a}, {"b", DType::F32, {2}, b, sizeof b}});
    basis::writeFileAtomically(dir / "model.safetensors.index.json",
                               R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
                                   "b": "model-00002-of-00002.safetensors"}})");
    expectError([&] { basis::Checkpoint::open(dir); }, {"'a'", "appears in both"});
}

TEST(SafetensorsMalformed, TooShort)
{
    const fs::path path = basis::test::scratchDir("st-short") / "model.safetensors";
    basis::writeFileAtomically(path, "abc");
    expectError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "too short"});
    basis::writeFileAtomically(path, "");
    expectError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "too short"});
}

TEST(SafetensorsMalformed, HeaderBeyondFile)
{
    auto path = rawFile("beyond", "{}", 0, 4096);
    expectError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "beyond the end"});
}

TEST(SafetensorsMalformed, HeaderOver100MB)
{
    auto path = rawFile("huge", "{}", 0, 200ull * 1024 * 1024);
    expectError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "100 MB"});
}

TEST(SafetensorsMalformed, InvalidJson)
{
    auto path = rawFile("json", R"({"a": {"dtype": "F32", )", 0);
    expectError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "invalid JSON"});
    auto notObject = rawFile("array", "[1, 2]", 0);
    expectError([&] { basis::SafetensorsFile::open(notObject); }, {"not a JSON object"});
}

TEST(SafetensorsMalformed, UnknownDType)
{
    auto path = rawFile("dtype", R"({"w": {"dtype": "F8", "shape": [2], "data_offsets": [0, 2]}})", 2);
    expectError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "'w'", "unknown dtype 'F8'"});
}

TEST(SafetensorsMalformed, SizeMismatch)
{
    auto path = rawFile("size", R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})", 24);
    expectError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "'w'", "24 bytes", "span 20"});
}

TEST(SafetensorsMalformed, OffsetsOutOfRange)
{
    auto path = rawFile("range", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8);
    expectError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "'w'", "past the data section"});
    auto reversed = rawFile("reversed", R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", 8);
    expectError([&] { basis::SafetensorsFile::open(reversed); }, {"'w'", "after end"});
}

TEST(SafetensorsMalformed, OverlappingTensors)
{
    auto path = rawFile("overlap",
                        R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                        12);
    expectError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "overlaps"});
}

TEST(SafetensorsMalformed, DuplicateTensor)
{
    auto path = rawFile("dup",
                        R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                            "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                        8);
    expectError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "duplicate tensor 'a'"});
}

TEST(SafetensorsMalformed, MissingOrIllTypedFields)
{
    auto noShape = rawFile("noshape", R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4);
    expectError([&] { basis::SafetensorsFile::open(noShape); }, {"'w'", "shape"});
    auto negative = rawFile("negative", R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4);
    expectError([&] { basis::SafetensorsFile::open(negative); }, {"'w'", "non-negative"});
    auto meta = rawFile("meta", R"({"__metadata__": {"format": 1}})", 0);
    expectError([&] { basis::SafetensorsFile::open(meta); }, {"__metadata__"});
}

TEST(SafetensorsMalformed, TruncatedData)
{
    const fs::path dir = basis::test::scratchDir("st-truncated");
    std::vector<float> w(100, 1.f);
    basis::writeSafetensors(dir / "model.safetensors", {{"w", DType::F32, {100}, w.data(), 400}});
    std::string bytes = basis::readFile(dir / "model.safetensors");
    basis::writeFileAtomically(dir / "model.safetensors", bytes.substr(0, bytes.size() - 100));
    expectError([&] { basis::Checkpoint::open(dir); }, {"model.safetensors", "'w'", "truncated"});
}

TEST(SafetensorsWriter, FailedWriteLeavesEarlierFileIntact)
{
    const fs::path path = basis::test::scratchDir("st-atomic") / "model.safetensors";
    float good[2] = {1, 2};
    basis::writeSafetensors(path, {{"w", DType::F32, {2}, good, sizeof good}});
    const std::string before = basis::readFile(path);
    expectError([&] { basis::writeSafetensors(path, {{"w", DType::F32, {3}, good, sizeof good}}); },
                {path.string(), "'w'"});
    EXPECT_EQ(basis::readFile(path), before);
    for (const auto& e : fs::directory_iterator(path.parent_path()))
        EXPECT_EQ(e.path().filename(), "model.safetensors") << "temporary file left behind";
}

} // namespace
