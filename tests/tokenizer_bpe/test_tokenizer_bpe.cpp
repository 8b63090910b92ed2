// GPT-2 byte-level BPE against transformers' slow GPT2Tokenizer (shared/golden/gpt2-tokenizer, README section
// "Tokenizer golden vectors"), for both loaders, plus the pre-tokenizer, error reporting and thread safety.
#include "bpe_tokenizer.h"
#include "error.h"
#include "datasets.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

namespace {

using basis::BpeTokenizer;
using nlohmann::json;
using Pieces = std::vector<std::string>;
using Ids = std::vector<int64_t>;

const char* kModelDir = "models/gpt2-tokenizer";
const char* kGoldenDir = "golden/gpt2-tokenizer";

std::string readText(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

void writeText(const std::filesystem::path& path, const std::string& text)
{
    std::ofstream(path, std::ios::binary) << text;
}

std::unique_ptr<BpeTokenizer> loadVocabMerges()
{
    const auto dir = basis::test::sharedPath(kModelDir);
    return BpeTokenizer::fromVocabMerges(dir / "vocab.json", dir / "merges.txt");
}

std::unique_ptr<BpeTokenizer> loadTokenizerJson()
{
    return BpeTokenizer::fromTokenizerJson(basis::test::sharedPath(kModelDir) / "tokenizer.json");
}

// The message of the basis::Error that f throws ("" when it throws nothing).
template <class F>
std::string errorOf(F&& f)
{
    try {
        f();
    } catch (const basis::Error& e) {
        return e.what();
    }
    return "";
}

// ------------------------------------------------------------------------------------------------------------
// Pre-tokenizer. Expected pieces were produced with Python's `regex` and GPT-2's pattern.

TEST(Gpt2PreTokenize, Contractions)
{
    EXPECT_EQ(basis::gpt2PreTokenize("I'm here, they'll see; we've done it'd"),
              (Pieces{"I", "'m", " here", ",", " they", "'ll", " see", ";", " we", "'ve", " done", " it", "'d"}));
    // Case-sensitive: 'M and 'S are not contractions; a contraction does not need a word boundary after it.
    EXPECT_EQ(basis::gpt2PreTokenize("I'M 'S 'Tis"), (Pieces{"I", "'", "M", " '", "S", " '", "Tis"}));
    EXPECT_EQ(basis::gpt2PreTokenize("'sa"), (Pieces{"'s", "a"}));
    EXPECT_EQ(basis::gpt2PreTokenize("don''t"), (Pieces{"don", "''", "t"}));
}

TEST(Gpt2PreTokenize, SpacesBeforeWords)
{
    EXPECT_EQ(basis::gpt2PreTokenize("  two"), (Pieces{" ", " two"}));
    EXPECT_EQ(basis::gpt2PreTokenize("a   b"), (Pieces{"a", "  ", " b"}));
    EXPECT_EQ(basis::gpt2PreTokenize("end  "), (Pieces{"end", "  "}));
    EXPECT_EQ(basis::gpt2PreTokenize(" "), (Pieces{" "}));
    EXPECT_EQ(basis::gpt2PreTokenize(""), Pieces{});
}

TEST(Gpt2PreTokenize, NewlinesAndTabs)
{
    EXPECT_EQ(basis::gpt2PreTokenize("a\n\nb"), (Pieces{"a", "\n", "\n", "b"}));
    EXPECT_EQ(basis::gpt2PreTokenize("x\n"), (Pieces{"x", "\n"}));
    EXPECT_EQ(basis::gpt2PreTokenize("\n \n"), (Pieces{"\n \n"}));
    EXPECT_EQ(basis::gpt2PreTokenize("\r\n x"), (Pieces{"\r\n", " x"}));
    EXPECT_EQ(basis::gpt2PreTokenize("tab\tx"), (Pieces{"tab", "\t", "x"}));
}

TEST(Gpt2PreTokenize, DigitsAndPunctuation)
{
    EXPECT_EQ(basis::gpt2PreTokenize("3.14159 and 12345"), (Pieces{"3", ".", "14159", " and", " 12345"}));
    EXPECT_EQ(basis::gpt2PreTokenize("1,000 2a"), (Pieces{"1", ",", "000", " 2", "a"}));
    EXPECT_EQ(basis::gpt2PreTokenize("...!!!?? hi"), (Pieces{"...!!!??", " hi"}));
}

TEST(Gpt2PreTokenize, UnicodeClasses)
{
    EXPECT_EQ(basis::gpt2PreTokenize("na\xC3\xAFve \xC3\x9Cn\xC3\xAF \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"),
              (Pieces{"na\xC3\xAFve", " \xC3\x9Cn\xC3\xAF", " \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"}));
    // NBSP is whitespace but does not lead a word (only U+0020 does).
    EXPECT_EQ(basis::gpt2PreTokenize("a\xC2\xA0" "b"), (Pieces{"a", "\xC2\xA0", "b"}));
}

TEST(Gpt2PreTokenize, InvalidUtf8IsSymbolBytes)
{
    EXPECT_EQ(basis::gpt2PreTokenize("ab\xFF\xC3 cd\xE2\x82"), (Pieces{"ab", "\xFF\xC3", " cd", "\xE2\x82"}));
    EXPECT_EQ(basis::gpt2PreTokenize(" \x80\x80x"), (Pieces{" \x80\x80", "x"}));
}

// Whatever the bytes, the pieces are non-empty and give back the text.
TEST(Gpt2PreTokenize, PiecesConcatenateToText)
{
    std::mt19937 rng(1234);
    const std::vector<std::string> atoms = {"a", "Z", "7", " ", "  ", "\n", "\t", "'", "'s", "'ll", ".", "\xC3\xA9",
                                            "\xE2\x80\x83", "\xF0\x9F\x98\x80", "\xE4\xB8\xAD", "\xFF", "\x80", "\xE2\x82"};
    for (int round = 0; round < 500; ++round) {
        std::string text;
        const int n = int(rng() % 40);
        for (int i = 0; i < n; ++i) text += atoms[rng() % atoms.size()];
        std::string joined;
        for (const auto& p : basis::gpt2PreTokenize(text)) {
            ASSERT_FALSE(p.empty());
            joined += p;
        }
        ASSERT_EQ(joined, text);
    }
}

// ------------------------------------------------------------------------------------------------------------
// Golden vectors, for each loader.

class Gpt2Golden : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override
    {
        BASIS_REQUIRE_SHARED(kModelDir);
        BASIS_REQUIRE_SHARED(kGoldenDir);
        tok = GetParam() == "vocab_merges" ? loadVocabMerges() : loadTokenizerJson();
    }
    std::unique_ptr<BpeTokenizer> tok;
};

TEST_P(Gpt2Golden, CasesMatchTransformersAndRoundTrip)
{
    std::ifstream in(basis::test::sharedPath(kGoldenDir) / "cases.jsonl");
    std::string line;
    int cases = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const json c = json::parse(line);
        const std::string text = c["text"].get<std::string>();
        const Ids expected = c["ids"].get<Ids>();
        EXPECT_EQ(tok->encode(text), expected) << "text: " << text;
        EXPECT_EQ(tok->decode(expected), text);
        ++cases;
    }
    EXPECT_EQ(cases, 42);
}

TEST_P(Gpt2Golden, SpecialTokenAndVocabulary)
{
    EXPECT_EQ(tok->vocabSize(), 50257);
    EXPECT_EQ(tok->tokenId("<|endoftext|>"), 50256);
    EXPECT_EQ(tok->tokenId("\xC4\xA0the"), 262);   // "Ġthe"
    EXPECT_EQ(tok->tokenId("no such token"), -1);
    EXPECT_EQ(tok->kind(), "byte-level-bpe");
    EXPECT_EQ(tok->encode("<|endoftext|><|endoftext|> a"), (Ids{50256, 50256, 257}));
    EXPECT_EQ(tok->encode("<|endoftext"), (Ids{27, 91, 437, 1659, 5239}));   // incomplete: plain text
}

TEST_P(Gpt2Golden, DecodeSkipsBosEosOnlyWhenSet)
{
    EXPECT_EQ(tok->decode({15496, 50256}), "Hello<|endoftext|>");
    tok->setSpecialTokens(50256, 50256, false);
    EXPECT_EQ(tok->decode({50256, 15496, 50256}), "Hello");
    EXPECT_EQ(tok->decode({15496, -1, 999999}), "Hello");   // ids outside the vocabulary are ignored
}

TEST_P(Gpt2Golden, InvalidUtf8)
{
    // Every byte survives encoding; decode replaces each maximal invalid subpart with U+FFFD like Python.
    EXPECT_EQ(tok->decode(tok->encode("a\xFF" "b")), "a\xEF\xBF\xBD" "b");
    EXPECT_EQ(tok->decode(tok->encode("x\xE2\x82")), "x\xEF\xBF\xBD");
    EXPECT_EQ(tok->decode(tok->encode("\xF0\x80")), "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(tok->decode(tok->encode("\xED\xA0\x80")), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");   // surrogate
    // A character split over two tokens decodes whole.
    const Ids ids = tok->encode("\xF0\x9F\x98\x80");
    EXPECT_GT(ids.size(), 1u);
    EXPECT_EQ(tok->decode(ids), "\xF0\x9F\x98\x80");
}

size_t utf8Length(const std::string& s)
{
    return size_t(std::count_if(s.begin(), s.end(), [](char c) { return (uint8_t(c) & 0xC0) != 0x80; }));
}

// The Basis Sharing / HF WikiText-2 test string, as the engine's wikitext2 preset builds it (so the golden count
// checks the preset's recipe too).
std::string wikitext2TestString()
{
    return basis::loadDataset("wikitext2", basis::test::sharedPath("data")).text;
}

TEST_P(Gpt2Golden, WikiText2TestCount)
{
    BASIS_REQUIRE_SHARED("data/wikitext-2-raw/wiki.test.raw");
    const json expected = json::parse(readText(basis::test::sharedPath(kGoldenDir) / "wikitext2_test_count.json"));
    const std::string text = wikitext2TestString();
    ASSERT_EQ(utf8Length(text), expected["string_n_chars"].get<size_t>());
    const auto t0 = std::chrono::steady_clock::now();
    const Ids ids = tok->encode(text);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "[ timing ] WikiText-2 test (" << text.size() << " bytes) encoded in " << seconds << " s\n";
    RecordProperty("encode_seconds", std::to_string(seconds));

    ASSERT_EQ(int64_t(ids.size()), expected["n_tokens"].get<int64_t>());
    const Ids first20 = expected["first_20_ids"].get<Ids>(), last20 = expected["last_20_ids"].get<Ids>();
    EXPECT_EQ(Ids(ids.begin(), ids.begin() + 20), first20);
    EXPECT_EQ(Ids(ids.end() - 20, ids.end()), last20);
    EXPECT_EQ(tok->decode(ids), text);
    // The time is reported, not asserted: speed belongs to `basis-cli bench`, and a loaded machine (or a sanitizer
    // build) is slower without being wrong.
}

INSTANTIATE_TEST_SUITE_P(Loaders, Gpt2Golden, ::testing::Values("vocab_merges", "tokenizer_json"),
                         [](const auto& info) { return info.param; });

// ------------------------------------------------------------------------------------------------------------
// tokenizer.json variants: merges as pairs, an added token outside the vocabulary, unsupported pipelines.

class TokenizerJsonVariants : public ::testing::Test {
protected:
    void SetUp() override
    {
        BASIS_REQUIRE_SHARED(kModelDir);
        root = json::parse(readText(basis::test::sharedPath(kModelDir) / "tokenizer.json"));
        dir = basis::test::scratchDir("tokenizer-bpe-variants");
    }
    std::filesystem::path save(const json& j)
    {
        const auto path = dir / "tokenizer.json";
        writeText(path, j.dump());
        return path;
    }
    json root;
    std::filesystem::path dir;
};

TEST_F(TokenizerJsonVariants, MergesAsPairsAndExtraAddedToken)
{
    for (auto& m : root["model"]["merges"]) {
        const std::string s = m.get<std::string>();
        m = json::array({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
    }
    root["added_tokens"].push_back({{"id", 50257}, {"content", "<|pad|>"}, {"special", true}});
    root["added_tokens"].push_back({{"id", 50258}, {"content", "<|pad|>x"}, {"rstrip", true}});
    const auto tok = BpeTokenizer::fromTokenizerJson(save(root));
    EXPECT_EQ(tok->vocabSize(), 50259);
    EXPECT_EQ(tok->tokenId("<|pad|>"), 50257);
    EXPECT_EQ(tok->encode("Hello world"), (Ids{15496, 995}));
    EXPECT_EQ(tok->encode("a<|pad|>b"), (Ids{64, 50257, 65}));
    EXPECT_EQ(tok->encode("a<|pad|>x  b"), (Ids{64, 50258, 65}));   // longest match; rstrip eats the spaces
    EXPECT_EQ(tok->decode({64, 50257, 65}), "a<|pad|>b");
}

TEST_F(TokenizerJsonVariants, AddPrefixSpace)
{
    root["pre_tokenizer"]["add_prefix_space"] = true;
    const auto tok = BpeTokenizer::fromTokenizerJson(save(root));
    EXPECT_EQ(tok->encode("Hello world"), (Ids{18435, 995}));
    EXPECT_EQ(tok->encode(" Hello"), (Ids{18435}));
}

TEST_F(TokenizerJsonVariants, UnsupportedPipelinesAreErrors)
{
    json other = root;
    other["model"]["type"] = "WordPiece";
    EXPECT_NE(errorOf([&] { BpeTokenizer::fromTokenizerJson(save(other)); }).find("model.type"), std::string::npos);
    other = root;
    other["normalizer"] = {{"type", "NFKC"}};   // NFC is implemented (test_tokenizer_regex); NFKC is not
    EXPECT_NE(errorOf([&] { BpeTokenizer::fromTokenizerJson(save(other)); }).find("normalizer"), std::string::npos);
    other = root;
    other["pre_tokenizer"] = {{"type", "Whitespace"}};
    EXPECT_NE(errorOf([&] { BpeTokenizer::fromTokenizerJson(save(other)); }).find("pre_tokenizer"), std::string::npos);
}

// ------------------------------------------------------------------------------------------------------------
// Malformed or missing files: basis::Error naming the file and the problem.

class BpeErrors : public ::testing::Test {
protected:
    void SetUp() override
    {
        dir = basis::test::scratchDir("tokenizer-bpe-errors");
        writeText(dir / "vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
        writeText(dir / "merges.txt", "#version: 0.2\na b\n");
    }
    std::filesystem::path dir;
};

TEST_F(BpeErrors, SmallValidFilesLoad)
{
    const auto tok = BpeTokenizer::fromVocabMerges(dir / "vocab.json", dir / "merges.txt");
    EXPECT_EQ(tok->encode("abab"), (Ids{2, 2}));
    EXPECT_EQ(tok->encode("ba"), (Ids{1, 0}));
    EXPECT_EQ(tok->encode("c"), Ids{});   // not in the vocabulary and no <|endoftext|> to stand for unknown
    EXPECT_EQ(tok->vocabSize(), 3);
}

TEST_F(BpeErrors, MissingFile)
{
    const std::string msg = errorOf([&] { BpeTokenizer::fromVocabMerges(dir / "nope.json", dir / "merges.txt"); });
    EXPECT_NE(msg.find("nope.json"), std::string::npos) << msg;
    const std::string msg2 = errorOf([&] { BpeTokenizer::fromVocabMerges(dir / "vocab.json", dir / "none.txt"); });
    EXPECT_NE(msg2.find("none.txt"), std::string::npos) << msg2;
    const std::string msg3 = errorOf([&] { BpeTokenizer::fromTokenizerJson(dir / "tokenizer.json"); });
    EXPECT_NE(msg3.find("tokenizer.json"), std::string::npos) << msg3;
}

TEST_F(BpeErrors, InvalidJson)
{
    writeText(dir / "vocab.json", R"({"a": 0, "b": )");
    const std::string msg = errorOf([&] { BpeTokenizer::fromVocabMerges(dir / "vocab.json", dir / "merges.txt"); });
    EXPECT_NE(msg.find("vocab.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("invalid JSON"), std::string::npos) << msg;

    writeText(dir / "tokenizer.json", "not json");
    const std::string msg2 = errorOf([&] { BpeTokenizer::fromTokenizerJson(dir / "tokenizer.json"); });
    EXPECT_NE(msg2.find("tokenizer.json"), std::string::npos) << msg2;
    EXPECT_NE(msg2.find("invalid JSON"), std::string::npos) << msg2;
}

TEST_F(BpeErrors, VocabNotStringToInt)
{
    writeText(dir / "vocab.json", R"(["a", "b"])");
    std::string msg = errorOf([&] { BpeTokenizer::fromVocabMerges(dir / "vocab.json", dir / "merges.txt"); });
    EXPECT_NE(msg.find("vocab.json"), std::string::npos) << msg;
    writeText(dir / "vocab.json", R"({"a": 0, "b": "one"})");
    msg = errorOf([&] { BpeTokenizer::fromVocabMerges(dir / "vocab.json", dir / "merges.txt"); });
    EXPECT_NE(msg.find("vocab.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"b\""), std::string::npos) << msg;
}

TEST_F(BpeErrors, BadMergesLine)
{
    writeText(dir / "merges.txt", "#version: 0.2\na b\nab\n");
    const std::string msg = errorOf([&] { BpeTokenizer::fromVocabMerges(dir / "vocab.json", dir / "merges.txt"); });
    EXPECT_NE(msg.find("merges.txt"), std::string::npos) << msg;
    EXPECT_NE(msg.find("line 3"), std::string::npos) << msg;
}

TEST_F(BpeErrors, TokenizerJsonStructure)
{
    writeText(dir / "tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [1, 2]},
                                          "pre_tokenizer": {"type": "ByteLevel"}})");
    std::string msg = errorOf([&] { BpeTokenizer::fromTokenizerJson(dir / "tokenizer.json"); });
    EXPECT_NE(msg.find("tokenizer.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model.merges[0]"), std::string::npos) << msg;
    writeText(dir / "tokenizer.json", R"({"model": {"type": 5, "vocab": {}, "merges": []}})");
    msg = errorOf([&] { BpeTokenizer::fromTokenizerJson(dir / "tokenizer.json"); });   // not a json::type_error
    EXPECT_NE(msg.find("tokenizer.json"), std::string::npos) << msg;
    writeText(dir / "tokenizer.json", R"({"version": "1.0"})");
    msg = errorOf([&] { BpeTokenizer::fromTokenizerJson(dir / "tokenizer.json"); });
    EXPECT_NE(msg.find("model"), std::string::npos) << msg;
}

// ------------------------------------------------------------------------------------------------------------

TEST(BpeThreads, ConcurrentEncodeGivesSameIds)
{
    BASIS_REQUIRE_SHARED(kModelDir);
    const auto tok = loadVocabMerges();
    const std::string text = "Once upon a time, in a big forest, there lived a rhinoceros named Roxy. "
                             "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E I'll be there<|endoftext|>  42 ";
    const Ids expected = tok->encode(text);
    std::vector<std::thread> threads;
    std::vector<int> ok(4, 0);
    for (size_t t = 0; t < ok.size(); ++t)
        threads.emplace_back([&, t] {
            bool same = true;
            for (int i = 0; i < 200; ++i) same = same && tok->encode(text) == expected;
            ok[t] = same;
        });
    for (auto& th : threads) th.join();
    for (int v : ok) EXPECT_TRUE(v);
}

} // namespace
