// Safetensors reader and writer: round trips, the golden files, sharded checkpoints, and a clear one-line
// error for every kind of malformed file.
#include "test_support.h"

#include "atomic_file.h"
#include "error.h"
#include "safetensors.h"
#include "safetensors_shards.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>

namespace {

namespace fs = std::filesystem;
using basis::DType;

// Expects a basis::Error whose message is one line and contains every fragment.
void expectOneLineError(const std::function<void()>& fn, std::initializer_list<std::string> fragments)
{
    basis::test::expectError(
        [&] {
            try {
                fn();
            } catch (const basis::Error& e) {
                EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
                throw;
            }
        },
        fragments);
}

std::string lengthPrefix(uint64_t len)
{
    std::string bytes(8, '\0');
    std::memcpy(bytes.data(), &len, 8);
    return bytes;
}

// A file made of raw bytes: 8-byte length (the header's own unless given), header, dataBytes of data.
fs::path rawFile(const std::string& name, const std::string& header, size_t dataBytes, uint64_t lengthField = 0)
{
    const fs::path path = basis::test::scratchDir("st-" + name) / "model.safetensors";
    std::string bytes = lengthPrefix(lengthField ? lengthField : header.size()) + header;
    bytes.append(dataBytes, '\x01');
    basis::writeFileAtomically(path, bytes);
    return path;
}

uint64_t headerLength(const std::string& fileBytes)
{
    uint64_t len = 0;
    std::memcpy(&len, fileBytes.data(), 8);
    return len;
}

// ---------------------------------------------------------------------------------------------
// Round trips and well-formed files

TEST(Safetensors, RoundTripOfEveryDTypeAndMetadata)
{
    const fs::path path = basis::test::scratchDir("st-roundtrip") / "x.safetensors";
    const DType all[] = {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64,
                         DType::I32, DType::I16, DType::I8,  DType::U8,   DType::BOOL};
    std::vector<std::vector<uint8_t>> buffers;
    std::vector<basis::TensorToWrite> tensors;
    for (DType d : all) {
        const size_t bytes = 6 * basis::dtypeSize(d);
        buffers.emplace_back(bytes);
        for (size_t i = 0; i < bytes; ++i)
            buffers.back()[i] = static_cast<uint8_t>(i * 7 + static_cast<int>(d));
        tensors.push_back({"t." + basis::dtypeName(d), d, {2, 3}, buffers.back().data(), bytes});
        EXPECT_EQ(basis::parseDType(basis::dtypeName(d)), d);
    }
    basis::writeSafetensors(path, tensors, {{"format", "pt"}, {"note", "every dtype"}});

    auto f = basis::SafetensorsFile::open(path);
    EXPECT_EQ(f->metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "every dtype"}}));
    EXPECT_EQ(f->names().size(), tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        const auto& v = f->tensor(tensors[i].name);
        EXPECT_EQ(v.dtype, tensors[i].dtype);
        EXPECT_EQ(v.shape, (std::vector<int64_t>{2, 3}));
        EXPECT_EQ(v.numel(), 6);
        ASSERT_EQ(v.bytes, tensors[i].bytes);
        EXPECT_EQ(std::memcmp(v.data, buffers[i].data(), v.bytes), 0) << tensors[i].name;
    }
}

TEST(Safetensors, WriterSortsPacksAndPadsLikeTheReferenceFormat)
{
    const fs::path path = basis::test::scratchDir("st-layout") / "x.safetensors";
    const float b[3] = {1, 2, 3};
    const int64_t a[1] = {7};
    const uint8_t scalar[1] = {1};
    basis::writeSafetensors(path, {{"b", DType::F32, {3}, b, sizeof b},
                                   {"a", DType::I64, {1}, a, sizeof a},
                                   {"c", DType::BOOL, {}, scalar, 1},
                                   {"empty", DType::F32, {0, 4}, nullptr, 0}});
    const std::string bytes = basis::readFile(path);
    const uint64_t len = headerLength(bytes);
    EXPECT_EQ(len % 8, 0u);
    const std::string header = bytes.substr(8, len);
    const std::string json = header.substr(0, header.find_last_not_of(' ') + 1);
    EXPECT_EQ(header.substr(json.size()), std::string(header.size() - json.size(), ' '));
    // Compact, sorted by name, data contiguous in that order, no __metadata__ when there is none.
    EXPECT_EQ(json, R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]},)"
                    R"("c":{"dtype":"BOOL","shape":[],"data_offsets":[20,21]},)"
                    R"("empty":{"dtype":"F32","shape":[0,4],"data_offsets":[21,21]}})");
    EXPECT_EQ(bytes.size(), 8 + len + 21);
    EXPECT_EQ(std::memcmp(bytes.data() + 8 + len + 8, b, sizeof b), 0);

    auto f = basis::SafetensorsFile::open(path);
    EXPECT_EQ(f->names(), (std::vector<std::string>{"a", "b", "c", "empty"}));
    EXPECT_TRUE(f->metadata().empty());
    EXPECT_EQ(f->tensor("c").numel(), 1);
    EXPECT_EQ(f->tensor("empty").bytes, 0u);
}

TEST(Safetensors, GapsBetweenTensorsAreErrors)
{
    // As the reference safetensors library: the tensors tile the data section.
    auto path = rawFile("gaps",
                        R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                        R"("b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]},)"
                        R"("z":{"dtype":"U8","shape":[0],"data_offsets":[1,1]}})",
                        8);
    expectOneLineError([&] { basis::SafetensorsFile::open(path); }, {"gaps", "bytes 2..6", "belong to no tensor", "'b'"});
}

TEST(Safetensors, TrailingBytesAreErrors)
{
    auto path = rawFile("trailing", R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 3);
    expectOneLineError([&] { basis::SafetensorsFile::open(path); }, {"trailing", "3 bytes", "end at byte 2"});
}

TEST(Safetensors, HeaderLengthOffByOneIsAnError)
{
    // The header is padded with spaces, so one byte less still parses: every weight would shift a byte.
    const fs::path path = basis::test::scratchDir("offbyone") / "w.safetensors";
    const float w[4] = {1, 2, 3, 4};
    basis::writeSafetensors(path, {{"w", DType::F32, {4}, w, sizeof w}});
    std::string bytes = basis::readFile(path);
    uint64_t len = headerLength(bytes) - 1;
    std::memcpy(bytes.data(), &len, 8);
    basis::writeFileAtomically(path, bytes);
    expectOneLineError([&] { basis::SafetensorsFile::open(path); }, {"w.safetensors", "17 bytes", "end at byte 16"});
}

TEST(Safetensors, ReadsGoldenCheckpoint)
{
    BASIS_REQUIRE_SHARED("golden/llama/model.safetensors");
    const fs::path dir = basis::test::sharedPath("golden/llama");
    auto ckpt = basis::Checkpoint::open(dir);
    EXPECT_EQ(ckpt.names().size(), 30u);
    ASSERT_EQ(ckpt.files().size(), 1u);
    EXPECT_EQ(ckpt.files()[0]->metadata().at("format"), "pt");
    const auto& q = ckpt.tensor("model.layers.0.self_attn.q_proj.weight");
    EXPECT_EQ(q.dtype, DType::F32);
    EXPECT_EQ(q.shape, (std::vector<int64_t>{64, 64}));
    EXPECT_EQ(q.bytes, 64u * 64 * 4);
    EXPECT_EQ(ckpt.tensor("model.layers.0.self_attn.k_proj.weight").shape, (std::vector<int64_t>{32, 64}));
    EXPECT_EQ(ckpt.tensor("model.layers.2.mlp.up_proj.weight").shape, (std::vector<int64_t>{160, 64}));
    EXPECT_EQ(ckpt.tensor("model.embed_tokens.weight").shape, (std::vector<int64_t>{1000, 64}));
    EXPECT_EQ(ckpt.tensor("model.norm.weight").shape, (std::vector<int64_t>{64}));
    EXPECT_TRUE(ckpt.contains("lm_head.weight"));
    EXPECT_EQ(ckpt.fileOf("lm_head.weight")->path(), dir / "model.safetensors");
}

TEST(Safetensors, RewritingGoldenCheckpointIsByteIdentical)
{
    BASIS_REQUIRE_SHARED("golden/llama/model.safetensors");
    const fs::path golden = basis::test::sharedPath("golden/llama/model.safetensors");
    auto f = basis::SafetensorsFile::open(golden);
    std::vector<basis::TensorToWrite> tensors;
    for (const auto& name : f->names()) {
        const auto& v = f->tensor(name);
        tensors.push_back({name, v.dtype, v.shape, v.data, v.bytes});
    }
    const fs::path copy = basis::test::scratchDir("st-golden-copy") / "model.safetensors";
    basis::writeSafetensors(copy, tensors, f->metadata());
    EXPECT_TRUE(basis::readFile(copy) == basis::readFile(golden)) << "the writer's layout differs from the golden file";
}

// ---------------------------------------------------------------------------------------------
// Checkpoint folders

// Two shards and an index: "a" in shard 1, "b" in shard 2, and "extra" in shard 2 but not listed.
fs::path shardedFolder(const std::string& name)
{
    static const float a[4] = {1, 2, 3, 4}, b[2] = {5, 6}, extra[1] = {9};
    const fs::path dir = basis::test::scratchDir(name);
    basis::writeSafetensors(dir / "model-00001-of-00002.safetensors", {{"a", DType::F32, {2, 2}, a, sizeof a}});
    basis::writeSafetensors(dir / "model-00002-of-00002.safetensors",
                            {{"b", DType::F32, {2}, b, sizeof b}, {"extra", DType::F32, {1}, extra, sizeof extra}});
    basis::writeFileAtomically(dir / "model.safetensors.index.json",
                               R"({"metadata": {"total_size": 28}, "weight_map": {)"
                               R"("a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})");
    return dir;
}

TEST(Checkpoint, ShardedThroughIndex)
{
    const fs::path dir = shardedFolder("st-sharded");
    auto ckpt = basis::Checkpoint::open(dir);
    EXPECT_EQ(ckpt.files().size(), 2u);   // each shard opened once
    EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"a", "b", "extra"}));
    EXPECT_EQ(reinterpret_cast<const float*>(ckpt.tensor("a").data)[3], 4.f);
    EXPECT_EQ(reinterpret_cast<const float*>(ckpt.tensor("b").data)[1], 6.f);
    EXPECT_EQ(reinterpret_cast<const float*>(ckpt.tensor("extra").data)[0], 9.f);   // unlisted, still there
    EXPECT_EQ(ckpt.fileOf("a")->path().filename(), "model-00001-of-00002.safetensors");
    EXPECT_EQ(ckpt.fileOf("extra")->path().filename(), "model-00002-of-00002.safetensors");
}

TEST(Checkpoint, IndexTakesPrecedenceOverSingleFile)
{
    const fs::path dir = shardedFolder("st-precedence");
    const float z[1] = {0};
    basis::writeSafetensors(dir / "model.safetensors", {{"z", DType::F32, {1}, z, sizeof z}});
    EXPECT_FALSE(basis::Checkpoint::open(dir).contains("z"));
}

TEST(Checkpoint, ListedTensorMissingFromItsShard)
{
    const fs::path dir = shardedFolder("st-listed-missing");
    basis::writeFileAtomically(dir / "model.safetensors.index.json",
                               R"({"weight_map": {"a": "model-00002-of-00002.safetensors"}})");
    expectOneLineError([&] { basis::Checkpoint::open(dir); },
                       {"model.safetensors.index.json", "'a'", "model-00002-of-00002.safetensors", "missing"});
}

TEST(Checkpoint, ShardFileMissing)
{
    const fs::path dir = shardedFolder("st-shard-missing");
    basis::writeFileAtomically(dir / "model.safetensors.index.json", R"({"weight_map": {"a": "nope.safetensors"}})");
    expectOneLineError([&] { basis::Checkpoint::open(dir); },
                       {"model.safetensors.index.json", "nope.safetensors", "'a'", "does not exist"});
}

TEST(Checkpoint, TensorInTwoShards)
{
    // Shard 2 also holds "a", which the index lists in shard 1.
    const fs::path dir = shardedFolder("st-two-shards");
    const float a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
    basis::writeSafetensors(dir / "model-00002-of-00002.safetensors",
                            {{"a", DType::F32, {2, 2}, a, sizeof a}, {"b", DType::F32, {2}, b, sizeof b}});
    expectOneLineError([&] { basis::Checkpoint::open(dir); },
                       {"model.safetensors.index.json", "'a'", "model-00001-of-00002.safetensors",
                        "model-00002-of-00002.safetensors"});
}

TEST(Checkpoint, IndexWithDuplicateTensor)
{
    const fs::path dir = shardedFolder("st-index-dup");
    basis::writeFileAtomically(dir / "model.safetensors.index.json",
                               R"({"weight_map": {"a": "model-00001-of-00002.safetensors",)"
                               R"( "a": "model-00002-of-00002.safetensors"}})");
    expectOneLineError([&] { basis::Checkpoint::open(dir); },
                       {"model.safetensors.index.json", "duplicate", "'a'", "weight_map"});
}

TEST(Checkpoint, IndexWithoutWeightMap)
{
    const fs::path dir = shardedFolder("st-index-nomap");
    basis::writeFileAtomically(dir / "model.safetensors.index.json", R"({"metadata": {}})");
    expectOneLineError([&] { basis::Checkpoint::open(dir); }, {"model.safetensors.index.json", "weight_map"});
}

TEST(Checkpoint, IndexWithInvalidJson)
{
    const fs::path dir = shardedFolder("st-index-json");
    basis::writeFileAtomically(dir / "model.safetensors.index.json", R"({"weight_map": )");
    expectOneLineError([&] { basis::Checkpoint::open(dir); },
                       {"model.safetensors.index.json", "invalid JSON", "parse error"});
}

TEST(Checkpoint, NoWeightsInFolder)
{
    const fs::path dir = basis::test::scratchDir("st-empty-folder");
    expectOneLineError([&] { basis::Checkpoint::open(dir); },
                       {dir.string(), "model.safetensors", "model.safetensors.index.json"});
    expectOneLineError([&] { basis::Checkpoint::open(dir / "absent"); }, {(dir / "absent").string(), "no weights"});
}

TEST(Checkpoint, MissingTensorNamesFolderAndTensor)
{
    const fs::path dir = shardedFolder("st-missing-tensor");
    auto ckpt = basis::Checkpoint::open(dir);
    EXPECT_FALSE(ckpt.contains("model.layers.9.mlp.up_proj.weight"));
    expectOneLineError([&] { ckpt.tensor("model.layers.9.mlp.up_proj.weight"); },
                       {dir.string() + ": missing tensor 'model.layers.9.mlp.up_proj.weight'"});
    expectOneLineError([&] { ckpt.fileOf("nope"); }, {dir.string(), "missing tensor 'nope'"});
}

// ---------------------------------------------------------------------------------------------
// Malformed files whose problem is in the length field or the size of the file

TEST(SafetensorsMalformed, EmptyFile)
{
    const fs::path path = basis::test::scratchDir("st-empty") / "model.safetensors";
    basis::writeFileAtomically(path, "");
    expectOneLineError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "0 bytes", "too short"});
}

TEST(SafetensorsMalformed, ShorterThanLengthField)
{
    const fs::path path = basis::test::scratchDir("st-short") / "model.safetensors";
    basis::writeFileAtomically(path, "abcdefg");
    expectOneLineError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "7 bytes", "too short"});
}

TEST(SafetensorsMalformed, MissingFile)
{
    const fs::path path = basis::test::scratchDir("st-nofile") / "model.safetensors";
    expectOneLineError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "cannot open"});
}

TEST(SafetensorsMalformed, NotARegularFile)
{
    const fs::path dir = basis::test::scratchDir("st-folder");
    expectOneLineError([&] { basis::SafetensorsFile::open(dir); }, {dir.string(), "not a regular file"});
}

TEST(SafetensorsMalformed, HeaderLengthBeyondFile)
{
    auto path = rawFile("beyond", "{}", 0, 4096);
    expectOneLineError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "4096", "beyond the end"});
}

TEST(SafetensorsMalformed, HeaderLengthOver100MB)
{
    auto path = rawFile("huge", "{}", 0, 200ull * 1024 * 1024);
    expectOneLineError([&] { basis::SafetensorsFile::open(path); }, {path.string(), "100 MB"});
    auto max = rawFile("huge-max", "{}", 0, ~0ull);
    expectOneLineError([&] { basis::SafetensorsFile::open(max); }, {max.string(), "100 MB"});
}

TEST(SafetensorsMalformed, TruncatedData)
{
    const fs::path dir = basis::test::scratchDir("st-truncated");
    std::vector<float> w(100, 1.f);
    basis::writeSafetensors(dir / "model.safetensors", {{"w", DType::F32, {100}, w.data(), 400}});
    const std::string bytes = basis::readFile(dir / "model.safetensors");
    basis::writeFileAtomically(dir / "model.safetensors", bytes.substr(0, bytes.size() - 100));
    expectOneLineError([&] { basis::Checkpoint::open(dir); },
                       {(dir / "model.safetensors").string(), "'w'", "300 bytes", "truncated"});
}

// ---------------------------------------------------------------------------------------------
// Malformed headers, one test per case: header JSON, data section size, expected message fragments.
// Every message must also name the file.

struct BadHeader {
    std::string name;
    std::string header;
    size_t dataBytes;
    std::vector<std::string> fragments;
};

std::ostream& operator<<(std::ostream& out, const BadHeader& c) { return out << c.name; }

class SafetensorsBadHeader : public testing::TestWithParam<BadHeader> {};

TEST_P(SafetensorsBadHeader, ThrowsOneLineErrorNamingFileAndTensor)
{
    const BadHeader& c = GetParam();
    const fs::path path = rawFile("bad-" + c.name, c.header, c.dataBytes);
    basis::test::expectError([&] { basis::SafetensorsFile::open(path); }, {path.string()});
    for (const auto& fragment : c.fragments)
        expectOneLineError([&] { basis::SafetensorsFile::open(path); }, {fragment});
    // The folder-level reader reports the same problem.
    expectOneLineError([&] { basis::Checkpoint::open(path.parent_path()); }, {path.string()});
}

const BadHeader kBadHeaders[] = {
    {"InvalidJson", R"({"w": {"dtype": "F32", )", 0, {"invalid JSON", "parse error"}},
    {"EmptyHeader", "", 0, {"invalid JSON", "parse error"}},
    {"HeaderNotAnObject", "[1, 2]", 0, {"not a JSON object", "array"}},
    {"DuplicateTensorNames",
     R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
         "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
     8, {"duplicate tensor 'a'"}},
    {"DuplicateKeyInEntry", R"({"w": {"dtype": "F32", "dtype": "F16", "shape": [1], "data_offsets": [0, 4]}})", 4,
     {"duplicate key 'dtype' in 'w'"}},
    {"UnknownDType", R"({"w": {"dtype": "F8", "shape": [2], "data_offsets": [0, 2]}})", 2,
     {"tensor 'w'", "unknown dtype 'F8'"}},
    {"MissingDType", R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4, {"tensor 'w'", "missing 'dtype'"}},
    {"DTypeNotAString", R"({"w": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}})", 4,
     {"tensor 'w'", "'dtype' must be a string"}},
    {"MissingShape", R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4, {"tensor 'w'", "missing 'shape'"}},
    {"ShapeNotAnArray", R"({"w": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}})", 4,
     {"tensor 'w'", "'shape' must be an array"}},
    {"ShapeEntryNotAnInteger", R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4,
     {"tensor 'w'", "non-negative integers", "1.5"}},
    {"NegativeDimension", R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4,
     {"tensor 'w'", "non-negative integers", "-1"}},
    {"DimensionBeyondInt64", R"({"w": {"dtype": "F32", "shape": [18446744073709551615], "data_offsets": [0, 4]}})", 4,
     {"tensor 'w'", "non-negative integers"}},
    {"ShapeProductOverflows",
     R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 0]}})", 4,
     {"tensor 'w'", "too large"}},
    {"MissingDataOffsets", R"({"w": {"dtype": "F32", "shape": [1]}})", 4, {"tensor 'w'", "missing 'data_offsets'"}},
    {"DataOffsetsNotAPair", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})", 8,
     {"tensor 'w'", "'data_offsets' must be [begin, end]"}},
    {"DataOffsetsNegative", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})", 4,
     {"tensor 'w'", "'data_offsets' must be [begin, end]"}},
    {"DataOffsetsNotNumbers", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": "0-4"}})", 4,
     {"tensor 'w'", "'data_offsets' must be [begin, end]"}},
    {"DataOffsetsBeyondDataSection", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8,
     {"tensor 'w'", "past the data section of 8 bytes"}},
    {"DataOffsetsBeginAfterEnd", R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", 8,
     {"tensor 'w'", "begin 8 is after end 4"}},
    {"OverlappingTensors",
     R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
     12, {"tensor 'b' overlaps tensor 'a'"}},
    {"OverlapAcrossAnotherTensor",   // "a" covers both "b" and "c"; "b" is empty and sorts between them
     R"({"a": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]},
         "b": {"dtype": "U8", "shape": [0], "data_offsets": [2, 2]},
         "c": {"dtype": "U8", "shape": [4], "data_offsets": [8, 12]}})",
     16, {"tensor 'c' overlaps tensor 'a'"}},
    {"ShapeTimesDTypeSizeNotByteSpan", R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})", 24,
     {"tensor 'w'", "24 bytes", "span 20"}},
    {"EntryNotAnObject", R"({"w": [0, 4]})", 4, {"tensor 'w'", "must be an object"}},
    {"MetadataNotAnObject", R"({"__metadata__": "pt"})", 0, {"__metadata__", "object of strings"}},
    {"MetadataValueNotAString", R"({"__metadata__": {"format": 1}})", 0, {"__metadata__", "'format'", "not a string"}},
    {"ControlCharacterInName", R"({"a\nb": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}})", 1,
     {"tensor 'a?b'", "unknown dtype"}},
    {"NestedTooDeep", R"({"w": )" + std::string(100, '[') + std::string(100, ']') + "}", 0, {"nested"}},
};

INSTANTIATE_TEST_SUITE_P(Cases, SafetensorsBadHeader, testing::ValuesIn(kBadHeaders),
                         [](const testing::TestParamInfo<BadHeader>& info) { return info.param.name; });

// Every single-byte corruption of a small valid file either still reads or gives a basis::Error: never a
// crash or another exception type.
TEST(SafetensorsMalformed, CorruptedBytesNeverCrash)
{
    const fs::path dir = basis::test::scratchDir("st-corrupt");
    const float w[3] = {1, 2, 3};
    const int64_t ids[2] = {4, 5};
    basis::writeSafetensors(dir / "good.safetensors",
                            {{"w", DType::F32, {3}, w, sizeof w}, {"ids", DType::I64, {1, 2}, ids, sizeof ids}},
                            {{"format", "pt"}});
    const std::string good = basis::readFile(dir / "good.safetensors");
    const fs::path bad = dir / "bad.safetensors";
    int rejected = 0;
    for (size_t i = 0; i < good.size(); ++i)
        for (char value : {'\0', '\xff', '"', '9', '-', '{', ']'}) {
            std::string bytes = good;
            bytes[i] = value;
            basis::writeFileAtomically(bad, bytes);
            try {
                auto f = basis::SafetensorsFile::open(bad);
                // Touch every byte: a view reaching past the mapping would crash here.
                unsigned sum = 0;
                for (const auto& name : f->names()) {
                    const auto& v = f->tensor(name);
                    EXPECT_EQ(v.bytes, static_cast<size_t>(v.numel()) * basis::dtypeSize(v.dtype));
                    for (size_t b = 0; b < v.bytes; ++b)
                        sum += static_cast<unsigned>(v.data[b]);
                }
                EXPECT_GE(sum, 0u);
            } catch (const basis::Error& e) {
                ++rejected;
                EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
            }
        }
    EXPECT_GT(rejected, 0);
}

// ---------------------------------------------------------------------------------------------
// Writer failures

TEST(SafetensorsWriter, WrongByteSizeThrowsAndLeavesEarlierFileIntact)
{
    const fs::path path = basis::test::scratchDir("st-atomic") / "model.safetensors";
    const float good[2] = {1, 2};
    basis::writeSafetensors(path, {{"w", DType::F32, {2}, good, sizeof good}});
    const std::string before = basis::readFile(path);
    expectOneLineError([&] { basis::writeSafetensors(path, {{"w", DType::F32, {3}, good, sizeof good}}); },
                       {path.string(), "'w'", "8 bytes", "needing 12"});
    EXPECT_EQ(basis::readFile(path), before);
    for (const auto& e : fs::directory_iterator(path.parent_path()))
        EXPECT_EQ(e.path().filename(), "model.safetensors") << "temporary file left behind";
}

TEST(SafetensorsWriter, ReplacesAnExistingFile)
{
    const fs::path path = basis::test::scratchDir("st-replace") / "model.safetensors";
    const float one[1] = {1}, two[2] = {2, 3};
    basis::writeSafetensors(path, {{"old", DType::F32, {1}, one, sizeof one}});
    basis::writeSafetensors(path, {{"new", DType::F32, {2}, two, sizeof two}});
    EXPECT_EQ(basis::SafetensorsFile::open(path)->names(), (std::vector<std::string>{"new"}));
    for (const auto& e : fs::directory_iterator(path.parent_path()))
        EXPECT_EQ(e.path().filename(), "model.safetensors") << "temporary file left behind";
}

TEST(SafetensorsWriter, RejectsDuplicateNames)
{
    const fs::path path = basis::test::scratchDir("st-write-dup") / "model.safetensors";
    const float v[1] = {1};
    expectOneLineError([&] { basis::writeSafetensors(path, {{"w", DType::F32, {1}, v, 4}, {"w", DType::F32, {1}, v, 4}}); },
                       {path.string(), "'w'", "twice"});
    EXPECT_FALSE(fs::exists(path));
}

TEST(SafetensorsWriter, RejectsNegativeDimension)
{
    const fs::path path = basis::test::scratchDir("st-write-neg") / "model.safetensors";
    const float v[1] = {1};
    expectOneLineError([&] { basis::writeSafetensors(path, {{"w", DType::F32, {-1}, v, 4}}); },
                       {path.string(), "'w'", "negative"});
}

TEST(SafetensorsWriter, RejectsReservedMetadataName)
{
    const fs::path path = basis::test::scratchDir("st-write-reserved") / "model.safetensors";
    const float v[1] = {1};
    expectOneLineError([&] { basis::writeSafetensors(path, {{"__metadata__", DType::F32, {1}, v, 4}}); },
                       {path.string(), "__metadata__", "reserved"});
}

TEST(SafetensorsWriter, MissingFolderGivesError)
{
    const fs::path path = basis::test::scratchDir("st-write-nofolder") / "absent" / "model.safetensors";
    const float v[1] = {1};
    expectOneLineError([&] { basis::writeSafetensors(path, {{"w", DType::F32, {1}, v, 4}}); },
                       {path.string(), "temporary file"});
}

// The streamed writer: data in the given order, each tensor produced in pieces; the reader sees the same tensors.
TEST(SafetensorsWriter, StreamedWriteReadsBackInAnyDataOrder)
{
    const fs::path path = basis::test::scratchDir("st-stream") / "model.safetensors";
    const std::vector<float> a = {1, 2, 3, 4, 5, 6};
    const std::vector<int32_t> b = {7, 8};
    // "z" first in the data section, "a" second: the header lists them sorted all the same.
    std::vector<basis::TensorToWrite> list = {{"z", DType::F32, {2, 3}, nullptr, 24}, {"a", DType::I32, {2}, nullptr, 8}};
    basis::writeSafetensorsStreamed(path, list, [&](size_t i, const basis::TensorBytesSink& write) {
        if (i == 0) {   // in two pieces
            write(a.data(), 8);
            write(a.data() + 2, 16);
        } else {
            write(b.data(), 8);
        }
    });
    auto f = basis::SafetensorsFile::open(path);
    EXPECT_EQ(f->names(), (std::vector<std::string>{"a", "z"}));
    EXPECT_EQ(std::memcmp(f->tensor("z").data, a.data(), 24), 0);
    EXPECT_EQ(std::memcmp(f->tensor("a").data, b.data(), 8), 0);
    EXPECT_EQ(f->tensor("z").shape, (std::vector<int64_t>{2, 3}));
    EXPECT_NE(basis::readFile(path).find("\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[24,32]}"), std::string::npos);
}

TEST(SafetensorsWriter, StreamedWriteRefusesShortTensorAndLeavesNoFile)
{
    const fs::path path = basis::test::scratchDir("st-stream-short") / "model.safetensors";
    const float v[2] = {1, 2};
    expectOneLineError([&] {
        basis::writeSafetensorsStreamed(path, {{"w", DType::F32, {2}, nullptr, 8}},
                                        [&](size_t, const basis::TensorBytesSink& write) { write(v, 4); });
    }, {path.string(), "'w'", "4 of its 8 bytes"});
    EXPECT_FALSE(fs::exists(path));
}

// A file the disk cannot hold is refused before anything is written, with the size needed and the space free
// (a declared 2^50-byte tensor: no file system here has a petabyte free).
TEST(SafetensorsWriter, NotEnoughDiskSpaceSaysHowMuchIsNeeded)
{
    const fs::path path = basis::test::scratchDir("st-stream-full") / "model.safetensors";
    bool produced = false;
    expectOneLineError([&] {
        basis::writeSafetensorsStreamed(path, {{"w", DType::U8, {int64_t(1) << 50}, nullptr, size_t(1) << 50}},
                                        [&](size_t, const basis::TensorBytesSink&) { produced = true; });
    }, {path.string(), "not enough disk space", "needs 1125899.907 GB", "GB are free in"});
    EXPECT_FALSE(produced);
    EXPECT_FALSE(fs::exists(path));
}

// Shards as Hugging Face cuts them: in the given order, a new shard when the next tensor would pass the limit,
// a tensor larger than the limit alone.
TEST(SafetensorsShards, AssignsTensorsInOrderUpToTheLimit)
{
    auto t = [](size_t bytes) { return basis::TensorToWrite{"t", DType::U8, {int64_t(bytes)}, nullptr, bytes}; };
    EXPECT_EQ(basis::assignShards({t(40), t(60), t(1), t(100), t(250), t(10)}, 100),
              (std::vector<size_t>{0, 0, 1, 2, 3, 4}));
    EXPECT_EQ(basis::assignShards({t(40), t(60)}, 1000), (std::vector<size_t>{0, 0}));
    EXPECT_TRUE(basis::assignShards({}, 10).empty());
}

TEST(SafetensorsShards, ParsesSizesAndRefusesOthers)
{
    EXPECT_EQ(basis::parseShardSize("5GB", "--shard-size"), 5'000'000'000u);
    EXPECT_EQ(basis::parseShardSize("500mb", "--shard-size"), 500'000'000u);
    EXPECT_EQ(basis::parseShardSize("64KB", "--shard-size"), 64'000u);
    EXPECT_EQ(basis::parseShardSize("1234", "--shard-size"), 1234u);
    EXPECT_EQ(basis::parseShardSize("7B", "--shard-size"), 7u);
    for (const char* bad : {"", "GB", "5 GB", "5TB", "-1", "1.5GB", "0", "0MB", "99999999999999GB", "999999999999GB", "99999999999999999999"})
        expectOneLineError([&] { basis::parseShardSize(bad, "--shard-size"); }, {"--shard-size"});
}

// Written in shards of 100 bytes: the index lists every tensor in its shard with the total size, and the
// checkpoint reads back every byte; everything in one shard gives a single model.safetensors and no index.
TEST(SafetensorsShards, ShardedCheckpointReadsBackLikeOneFile)
{
    const fs::path dir = basis::test::scratchDir("st-shards");
    std::vector<std::vector<float>> data;
    std::vector<basis::TensorToWrite> tensors;
    for (int i = 0; i < 7; ++i) {
        data.emplace_back(static_cast<size_t>(5 + 3 * i));
        for (size_t j = 0; j < data.back().size(); ++j)
            data.back()[j] = static_cast<float>(100 * i + static_cast<int>(j));
        tensors.push_back({"layers." + std::to_string(i) + ".w", DType::F32, {int64_t(data.back().size())}, nullptr,
                           data.back().size() * 4});
    }
    std::vector<size_t> order;
    auto produce = [&](size_t i, const basis::TensorBytesSink& write) {
        order.push_back(i);
        write(data[i].data(), 8);   // in two pieces, as a streamed producer may
        write(data[i].data() + 2, tensors[i].bytes - 8);
    };
    const basis::ShardedWrite w = basis::writeSafetensorsSharded(dir / "sharded", tensors, 100, produce);
    EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4, 5, 6}));
    const auto expectedShards = basis::assignShards(tensors, 100);
    ASSERT_EQ(w.files.size(), expectedShards.back() + 1);
    ASSERT_GE(w.files.size(), 4u);
    EXPECT_EQ(w.files.front(), "model-00001-of-0000" + std::to_string(w.files.size()) + ".safetensors");
    EXPECT_FALSE(fs::exists(dir / "sharded" / "model.safetensors"));
    const nlohmann::json index = basis::readJsonFile(dir / "sharded" / "model.safetensors.index.json");
    uint64_t total = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
        total += tensors[i].bytes;
        EXPECT_EQ(index.at("weight_map").at(tensors[i].name), w.files[expectedShards[i]]);
    }
    EXPECT_EQ(index.at("metadata").at("total_size"), total);
    EXPECT_EQ(w.totalBytes, total);

    order.clear();
    const basis::ShardedWrite one = basis::writeSafetensorsSharded(dir / "single", tensors, 5'000'000'000, produce);
    EXPECT_EQ(one.files, std::vector<std::string>{"model.safetensors"});
    EXPECT_FALSE(fs::exists(dir / "single" / "model.safetensors.index.json"));
    for (const fs::path& d : {dir / "sharded", dir / "single"}) {
        const basis::Checkpoint c = basis::Checkpoint::open(d);
        ASSERT_EQ(c.names().size(), tensors.size()) << d;
        for (size_t i = 0; i < tensors.size(); ++i) {
            const basis::TensorView& v = c.tensor(tensors[i].name);
            ASSERT_EQ(v.bytes, tensors[i].bytes);
            EXPECT_EQ(std::memcmp(v.data, data[i].data(), v.bytes), 0) << tensors[i].name << " in " << d;
        }
    }
    // A shard deleted afterwards is named by the reader.
    fs::remove(dir / "sharded" / w.files[1]);
    expectOneLineError([&] { basis::Checkpoint::open(dir / "sharded"); }, {"model.safetensors.index.json", w.files[1], "does not exist"});
}

// The room for all shards is checked before the first is written, naming how much they need.
TEST(SafetensorsShards, NotEnoughDiskSpaceForTheShardsIsRefusedFirst)
{
    const fs::path dir = basis::test::scratchDir("st-shards-full");
    bool produced = false;
    const size_t half = size_t(1) << 49;
    expectOneLineError([&] {
        basis::writeSafetensorsSharded(dir, {{"a", DType::U8, {int64_t(half)}, nullptr, half}, {"b", DType::U8, {int64_t(half)}, nullptr, half}},
                                       half, [&](size_t, const basis::TensorBytesSink&) { produced = true; });
    }, {dir.string(), "not enough disk space", "the checkpoint's 2 shards needs 1125899.907 GB", "GB are free in"});
    EXPECT_FALSE(produced);
    EXPECT_TRUE(fs::is_empty(dir));
}

} // namespace
