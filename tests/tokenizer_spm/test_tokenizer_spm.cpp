// SentencePiece through the basis_spm module against python sentencepiece 0.1.97 (shared/golden/sp-tok512,
// README section "sp-tok512"), the TinyStories reference token counts, the Llama-2 tokenizer, loadTokenizer's
// BOS/EOS/add_bos_token resolution, and error reporting.
#include "error.h"
#include "sentencepiece_tokenizer.h"
#include "test_support.h"
#include "tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <thread>

namespace {

using basis::SentencePieceTokenizer;
using nlohmann::json;
using Ids = std::vector<int64_t>;
namespace fs = std::filesystem;

const char* kStoriesModel = "models/stories260K/hf/tokenizer.model";
const char* kStoriesDir = "models/stories260K/hf";

std::string readText(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

void writeText(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::unique_ptr<SentencePieceTokenizer> stories()
{
    return SentencePieceTokenizer::load(basis::test::sharedPath(kStoriesModel));
}

// Runs fn, expecting basis::Error; returns its message.
template <typename Fn>
std::string errorOf(Fn&& fn)
{
    try {
        fn();
    } catch (const basis::Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected basis::Error";
    return {};
}

// A scratch model folder holding stories260K's tokenizer.model and the given extra files.
fs::path storiesCopy(const std::string& name, const std::vector<std::pair<std::string, std::string>>& files)
{
    const auto dir = basis::test::scratchDir(name);
    fs::copy_file(basis::test::sharedPath(kStoriesModel), dir / "tokenizer.model");
    for (const auto& [file, text] : files)
        writeText(dir / file, text);
    return dir;
}

TEST(SentencePiece, ModuleIsFound)
{
    const auto path = SentencePieceTokenizer::modulePath();
    EXPECT_EQ(path.filename(), "libbasis_spm.so");
    EXPECT_TRUE(fs::exists(path)) << path;
}

TEST(SentencePiece, GoldenCases)
{
    BASIS_REQUIRE_SHARED("golden/sp-tok512/cases.jsonl");
    BASIS_REQUIRE_SHARED(kStoriesModel);
    const auto tok = stories();
    std::ifstream in(basis::test::sharedPath("golden/sp-tok512/cases.jsonl"));
    std::string line;
    int cases = 0;
    while (std::getline(in, line)) {
        if (line.empty())
            continue;
        const json c = json::parse(line);
        const auto text = c.at("text").get<std::string>();
        const auto ids = c.at("ids").get<Ids>();
        const auto pieces = c.at("pieces").get<std::vector<std::string>>();
        SCOPED_TRACE("case " + std::to_string(cases) + ": " + text.substr(0, 60));

        EXPECT_EQ(tok->encode(text), ids);
        ASSERT_EQ(pieces.size(), ids.size());
        for (size_t i = 0; i < ids.size(); ++i) {
            EXPECT_EQ(tok->idToPiece(ids[i]), pieces[i]);
            EXPECT_EQ(tok->pieceToId(pieces[i]), ids[i]);
        }
        EXPECT_EQ(tok->decode(ids), c.at("decoded").get<std::string>());

        // BOS/EOS are control tokens: decode drops them, as DecodeIds does.
        Ids framed = {1};
        framed.insert(framed.end(), ids.begin(), ids.end());
        framed.push_back(2);
        EXPECT_EQ(tok->decode(framed), c.at("decoded").get<std::string>());
        ++cases;
    }
    EXPECT_EQ(cases, 41);
}

TEST(SentencePiece, OnceUponATime)
{
    BASIS_REQUIRE_SHARED(kStoriesModel);
    const auto tok = stories();
    EXPECT_EQ(tok->encode("Once upon a time"), (Ids{403, 407, 261, 378}));
    EXPECT_EQ(tok->vocabSize(), 512);
    EXPECT_EQ(tok->kind(), "sentencepiece");
    EXPECT_EQ(tok->encode(""), Ids{});
    EXPECT_EQ(tok->encode(" "), Ids{});
    EXPECT_EQ(tok->encode("\n"), (Ids{410, 13}));   // dummy prefix "▁", then byte fallback <0x0A> = 10 + 3
}

TEST(SentencePiece, PieceLookup)
{
    BASIS_REQUIRE_SHARED(kStoriesModel);
    const auto tok = stories();
    EXPECT_EQ(tok->pieceToId("<unk>"), 0);
    EXPECT_EQ(tok->pieceToId("<s>"), 1);
    EXPECT_EQ(tok->pieceToId("</s>"), 2);
    EXPECT_EQ(tok->pieceToId("<0x0A>"), 13);
    EXPECT_EQ(tok->pieceToId("no such piece"), -1);
    EXPECT_EQ(tok->idToPiece(1), "<s>");
    EXPECT_THROW(tok->idToPiece(512), basis::Error);
    EXPECT_THROW(tok->idToPiece(-1), basis::Error);
}

TEST(SentencePiece, DecodeRejectsOutOfRangeIds)
{
    BASIS_REQUIRE_SHARED(kStoriesModel);
    const auto tok = stories();
    const auto msg = errorOf([&] { tok->decode({403, 512}); });
    EXPECT_NE(msg.find("512"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tokenizer.model"), std::string::npos) << msg;
    EXPECT_THROW(tok->decode({int64_t(1) << 40}), basis::Error);
}

TEST(SentencePiece, LongDecodeGrowsItsBuffer)
{
    BASIS_REQUIRE_SHARED(kStoriesModel);
    const auto tok = stories();
    // Byte tokens of a multi-byte character and long pieces: more output than the first guess in places.
    const std::string text = std::string(3000, 'a') + " \xC3\xA9t\xC3\xA9 " + std::string(500, 'z');
    EXPECT_EQ(tok->decode(tok->encode(text)), text);
}

TEST(SentencePiece, TinyStoriesTokenCounts)
{
    BASIS_REQUIRE_SHARED("data/tinystories-valid/calib.txt");
    BASIS_REQUIRE_SHARED(kStoriesModel);
    const auto tok = stories();
    // READMEs: 197,374 / 195,640 tokens with one BOS in front.
    EXPECT_EQ(tok->encode(readText(basis::test::sharedPath("data/tinystories-valid/calib.txt"))).size(), 197373u);
    EXPECT_EQ(tok->encode(readText(basis::test::sharedPath("data/tinystories-valid/eval.txt"))).size(), 195639u);
}

TEST(SentencePiece, ConcurrentEncoding)
{
    BASIS_REQUIRE_SHARED(kStoriesModel);
    const auto tok = stories();
    std::vector<std::thread> threads;
    std::vector<Ids> results(4);
    for (auto& r : results)
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i)
                r = tok->encode("Once upon a time, there was a little girl named Lily.");
        });
    for (auto& t : threads)
        t.join();
    for (const auto& r : results)
        EXPECT_EQ(r, results.front());
}

TEST(SentencePiece, Llama2Tokenizer)
{
    BASIS_REQUIRE_SHARED("models/llama2-tokenizer/tokenizer.model");
    const auto file = basis::test::sharedPath("models/llama2-tokenizer/tokenizer.model");
    const auto tok = SentencePieceTokenizer::load(file);
    EXPECT_EQ(tok->vocabSize(), 32000);
    EXPECT_EQ(tok->encode("Hello world"), (Ids{15043, 3186}));
    EXPECT_EQ(tok->encode("Once upon a time"), (Ids{9038, 2501, 263, 931}));
    EXPECT_EQ(tok->decode({1, 15043, 3186, 2}), "Hello world");
}

TEST(LoadTokenizer, Stories260K)
{
    BASIS_REQUIRE_SHARED(kStoriesDir);
    const auto tok = basis::loadTokenizer(basis::test::sharedPath(kStoriesDir));
    EXPECT_EQ(tok->kind(), "sentencepiece");
    EXPECT_TRUE(tok->addsBos());
    EXPECT_EQ(tok->bosId(), 1);
    EXPECT_EQ(tok->eosId(), 2);
    EXPECT_EQ(tok->encode("Once upon a time"), (Ids{403, 407, 261, 378}));
}

TEST(LoadTokenizer, FolderWithOnlyTokenizerModel)
{
    BASIS_REQUIRE_SHARED("models/llama2-tokenizer/tokenizer.model");
    // No tokenizer_config.json: LlamaTokenizer's defaults, the model's own BOS/EOS.
    const auto tok = basis::loadTokenizer(basis::test::sharedPath("models/llama2-tokenizer"));
    EXPECT_TRUE(tok->addsBos());
    EXPECT_EQ(tok->bosId(), 1);
    EXPECT_EQ(tok->eosId(), 2);
    EXPECT_EQ(tok->encode("Hello world"), (Ids{15043, 3186}));
}

TEST(LoadTokenizer, ConfigOverridesAndForms)
{
    BASIS_REQUIRE_SHARED(kStoriesModel);
    // Object form of a special token, add_bos_token false, eos from config.json.
    auto dir = storiesCopy("spm-config-forms",
                           {{"tokenizer_config.json",
                             R"({"tokenizer_class": "LlamaTokenizer", "add_bos_token": false,
                                 "bos_token": {"content": "</s>", "lstrip": false}})"},
                            {"config.json", R"({"eos_token_id": [13, 2]})"}});
    auto tok = basis::loadTokenizer(dir);
    EXPECT_FALSE(tok->addsBos());
    EXPECT_EQ(tok->bosId(), 2);
    EXPECT_EQ(tok->eosId(), 13);

    // special_tokens_map.json wins over tokenizer_config.json (as in transformers); add_bos_token absent
    // means true for a SentencePiece model.
    dir = storiesCopy("spm-config-map", {{"tokenizer_config.json", R"({"bos_token": "</s>"})"},
                                         {"special_tokens_map.json", R"({"bos_token": "<unk>"})"}});
    tok = basis::loadTokenizer(dir);
    EXPECT_TRUE(tok->addsBos());
    EXPECT_EQ(tok->bosId(), 0);
    EXPECT_EQ(tok->eosId(), 2);
}

TEST(LoadTokenizer, NoTokenizerFiles)
{
    const auto dir = basis::test::scratchDir("spm-empty");
    writeText(dir / "config.json", "{}");
    const auto msg = errorOf([&] { basis::loadTokenizer(dir); });
    EXPECT_NE(msg.find(dir.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("tokenizer.model"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tokenizer.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("merges.txt"), std::string::npos) << msg;
}

TEST(LoadTokenizer, GarbageTokenizerModel)
{
    const auto dir = basis::test::scratchDir("spm-garbage");
    writeText(dir / "tokenizer.model", "this is not a SentencePiece model\n");
    const auto msg = errorOf([&] { basis::loadTokenizer(dir); });
    EXPECT_NE(msg.find((dir / "tokenizer.model").string()), std::string::npos) << msg;
}

TEST(LoadTokenizer, InvalidTokenizerConfig)
{
    BASIS_REQUIRE_SHARED(kStoriesModel);
    const auto dir = storiesCopy("spm-bad-config", {{"tokenizer_config.json", "{ \"add_bos_token\": tru"}});
    const auto msg = errorOf([&] { basis::loadTokenizer(dir); });
    EXPECT_NE(msg.find((dir / "tokenizer_config.json").string()), std::string::npos) << msg;
}

TEST(LoadTokenizer, MissingModelFileNamesIt)
{
    const auto file = basis::test::scratchDir("spm-missing") / "tokenizer.model";
    const auto msg = errorOf([&] { SentencePieceTokenizer::load(file); });
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
}

} // namespace
