// tokenizer.json's Split(regex, Isolated) pre-tokenizer run by PCRE2, against Python `regex` splits of the GPT-2,
// LLaMA-3 and Qwen2 patterns (shared/golden/pretokenize); the GPT-2 fast path against PCRE2 with GPT-2's
// pattern; the NFC normalizer; and the pipelines still refused.
#include "bpe_tokenizer.h"
#include "datasets.h"
#include "error.h"
#include "regex_pretokenizer.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <random>
#include <sstream>

namespace {

using basis::BpeTokenizer;
using basis::RegexPreTokenizer;
using nlohmann::json;
using Ids = std::vector<int64_t>;

const char* kPretokDir = "golden/pretokenize";
const char* kGpt2Dir = "models/gpt2-tokenizer";

std::string readText(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

std::map<std::string, std::string> goldenPatterns()
{
    const json j = json::parse(readText(basis::test::sharedPath(kPretokDir) / "patterns.json"));
    return j.at("patterns").get<std::map<std::string, std::string>>();
}

std::vector<json> goldenCases()
{
    std::ifstream in(basis::test::sharedPath(kPretokDir) / "cases.jsonl");
    std::vector<json> cases;
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            cases.push_back(json::parse(line));
    return cases;
}

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

// Every golden case, exactly.
TEST(RegexPreTokenizer, AllGoldenCasesMatchPythonRegex)
{
    BASIS_REQUIRE_SHARED(kPretokDir);
    std::map<std::string, std::unique_ptr<RegexPreTokenizer>> re;
    for (const auto& [name, pattern] : goldenPatterns())
        re[name] = std::make_unique<RegexPreTokenizer>(pattern, name);
    int cases = 0, matched = 0;
    std::map<std::string, int> perPattern;
    for (const json& c : goldenCases()) {
        const std::string name = c.at("pattern").get<std::string>(), text = c.at("text").get<std::string>();
        ASSERT_TRUE(re.count(name)) << name;
        const auto expected = c.at("pieces").get<std::vector<std::string>>();
        const auto got = re.at(name)->pieces(text);
        EXPECT_EQ(got, expected) << name << " text: " << text;
        ++cases;
        matched += got == expected;
        ++perPattern[name];
    }
    EXPECT_EQ(cases, 330);
    EXPECT_EQ(matched, 330);
    EXPECT_EQ(perPattern.size(), 3u);
    std::printf("pre-tokenizer golden cases: %d of %d exact (gpt2 %d, llama3 %d, qwen2 %d)\n", matched, cases,
                perPattern["gpt2"], perPattern["llama3"], perPattern["qwen2"]);
}

// The patterns differ where they should (digits in threes or one by one), so the test above can fail.
TEST(RegexPreTokenizer, PatternsDiffer)
{
    BASIS_REQUIRE_SHARED(kPretokDir);
    auto p = goldenPatterns();
    const std::string text = "In 12345 days";
    EXPECT_EQ(RegexPreTokenizer(p["gpt2"], "gpt2").pieces(text), (std::vector<std::string>{"In", " 12345", " days"}));
    EXPECT_EQ(RegexPreTokenizer(p["llama3"], "llama3").pieces(text),
              (std::vector<std::string>{"In", " ", "123", "45", " days"}));
    EXPECT_EQ(RegexPreTokenizer(p["qwen2"], "qwen2").pieces(text),
              (std::vector<std::string>{"In", " ", "1", "2", "3", "4", "5", " days"}));
}

// Isolated keeps the text between matches as pieces; invalid UTF-8 never matches and is kept too.
TEST(RegexPreTokenizer, GapsAreKeptAndPiecesConcatenateToText)
{
    const RegexPreTokenizer re("[a-z]+", "test");
    EXPECT_EQ(re.pieces("ab, cd!"), (std::vector<std::string>{"ab", ", ", "cd", "!"}));
    const RegexPreTokenizer gpt2(basis::kGpt2PreTokenizerPattern, "gpt2");
    const std::string bad = "a\xFF" "b \xE2\x82 c";
    std::string joined;
    for (const auto& p : gpt2.pieces(bad))
        joined += p;
    EXPECT_EQ(joined, bad);
    EXPECT_NE(errorOf([] { RegexPreTokenizer("(unclosed", "my tokenizer.json"); }).find("my tokenizer.json"),
              std::string::npos);
}

// The GPT-2 fast path gives the pieces PCRE2 gives with GPT-2's pattern: golden texts, random valid UTF-8, and
// every line of WikiText-2 test.
TEST(RegexPreTokenizer, Gpt2FastPathAgreesWithPcre2)
{
    BASIS_REQUIRE_SHARED(kPretokDir);
    const RegexPreTokenizer re(basis::kGpt2PreTokenizerPattern, "gpt2");
    EXPECT_EQ(goldenPatterns()["gpt2"], basis::kGpt2PreTokenizerPattern);
    int compared = 0;
    for (const json& c : goldenCases()) {
        const std::string text = c.at("text").get<std::string>();
        EXPECT_EQ(basis::gpt2PreTokenize(text), re.pieces(text)) << text;
        ++compared;
    }
    std::mt19937 rng(99);
    const std::vector<std::string> atoms = {"a", "Z", "7", " ", "  ", "\n", "\r\n", "\t", "'", "'s", "'LL", ".", "\xC3\xA9",
                                            "\xE2\x80\x83", "\xF0\x9F\x98\x80", "\xE4\xB8\xAD", "\xC2\xA0", "\xD9\xA3", "-"};
    for (int round = 0; round < 2000; ++round) {
        std::string text;
        const int n = int(rng() % 30);
        for (int i = 0; i < n; ++i)
            text += atoms[rng() % atoms.size()];
        ASSERT_EQ(basis::gpt2PreTokenize(text), re.pieces(text)) << text;
        ++compared;
    }
    if (basis::test::sharedPath("data/wikitext-2-raw/wiki.test.raw").empty() ||
        !std::filesystem::exists(basis::test::sharedPath("data/wikitext-2-raw/wiki.test.raw")))
        return;
    const std::string wiki = basis::loadDataset("wikitext2", basis::test::sharedPath("data")).text;
    EXPECT_EQ(basis::gpt2PreTokenize(wiki), re.pieces(wiki));
    std::printf("GPT-2 fast path = PCRE2 on %d texts and the %zu-byte WikiText-2 test string\n", compared, wiki.size());
}

class TokenizerJsonPipelines : public ::testing::Test {
protected:
    void SetUp() override
    {
        BASIS_REQUIRE_SHARED(kGpt2Dir);
        root = json::parse(readText(basis::test::sharedPath(kGpt2Dir) / "tokenizer.json"));
        dir = basis::test::scratchDir("tokenizer-regex-pipelines");
    }
    std::filesystem::path save(const json& j)
    {
        const auto path = dir / "tokenizer.json";
        std::ofstream(path, std::ios::binary) << j.dump();
        return path;
    }
    // LLaMA-3 / Qwen2 style: Sequence[Split(pattern, Isolated), ByteLevel(use_regex=false)].
    json sequence(const std::string& pattern) const
    {
        json j = root;
        j["pre_tokenizer"] = {
            {"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
              {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}};
        return j;
    }
    json root;
    std::filesystem::path dir;
};

// GPT-2's pattern in a Split keeps the fast path; any other pattern runs in PCRE2. Both give the golden ids.
TEST_F(TokenizerJsonPipelines, SplitSequenceUsesTheFilesPattern)
{
    BASIS_REQUIRE_SHARED("golden/gpt2-tokenizer");
    const auto fast = BpeTokenizer::fromTokenizerJson(save(sequence(basis::kGpt2PreTokenizerPattern)));
    EXPECT_FALSE(fast->usesRegexPreTokenizer());
    // The same language written differently: a non-capturing group around the whole pattern.
    const auto regex = BpeTokenizer::fromTokenizerJson(save(sequence(std::string("(?:") + basis::kGpt2PreTokenizerPattern + ")")));
    EXPECT_TRUE(regex->usesRegexPreTokenizer());
    std::ifstream in(basis::test::sharedPath("golden/gpt2-tokenizer") / "cases.jsonl");
    int cases = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.empty())
            continue;
        const json c = json::parse(line);
        const std::string text = c["text"].get<std::string>();
        EXPECT_EQ(fast->encode(text), c["ids"].get<Ids>()) << text;
        EXPECT_EQ(regex->encode(text), c["ids"].get<Ids>()) << text;
        ++cases;
    }
    EXPECT_EQ(cases, 42);
    // The pattern is what the engine runs: Qwen2's splits digits one by one.
    const auto qwen = BpeTokenizer::fromTokenizerJson(save(sequence(goldenPatterns()["qwen2"])));
    Ids oneByOne;
    for (const char* digit : {"2", "0", "2", "4"})
        oneByOne.push_back(fast->encode(digit).at(0));
    EXPECT_EQ(qwen->encode("2024"), oneByOne);
    EXPECT_NE(fast->encode("2024"), oneByOne);
}

// NFC: a decomposed "e + combining acute" encodes as the precomposed character only with the normalizer.
TEST_F(TokenizerJsonPipelines, NfcNormalizer)
{
    const std::string decomposed = "Caf" "e\xCC\x81", composed = "Caf\xC3\xA9";
    EXPECT_EQ(basis::nfcNormalize(decomposed), composed);
    EXPECT_EQ(basis::nfcNormalize("plain ASCII"), "plain ASCII");
    json j = sequence(goldenPatterns()["llama3"]);
    const auto without = BpeTokenizer::fromTokenizerJson(save(j));
    j["normalizer"] = {{"type", "NFC"}};
    const auto with = BpeTokenizer::fromTokenizerJson(save(j));
    EXPECT_TRUE(with->normalizesNfc());
    EXPECT_EQ(with->encode(decomposed), with->encode(composed));
    EXPECT_EQ(with->encode(decomposed), without->encode(composed));
    EXPECT_NE(without->encode(decomposed), without->encode(composed));
    // Added tokens are matched before normalization, as tokenizers does.
    EXPECT_EQ(with->encode("<|endoftext|>" + decomposed).front(), 50256);
}

// model.ignore_merges (LLaMA-3): a piece that is a vocabulary token is that token, whatever the merges give.
TEST_F(TokenizerJsonPipelines, IgnoreMergesEmitsWholeVocabularyPieces)
{
    json j = root;
    j["model"]["vocab"]["\u0120helloworld"] = 50257;   // " helloworld": no merge sequence reaches it
    const auto merging = BpeTokenizer::fromTokenizerJson(save(j));
    j["model"]["ignore_merges"] = true;
    const auto ignoring = BpeTokenizer::fromTokenizerJson(save(j));
    EXPECT_EQ(ignoring->encode("say helloworld"), (Ids{ignoring->encode("say").at(0), 50257}));
    EXPECT_GT(merging->encode(" helloworld").size(), 1u);
    EXPECT_EQ(ignoring->encode("Hello world"), merging->encode("Hello world"));   // other pieces: unchanged
}

TEST_F(TokenizerJsonPipelines, UnsupportedVariantsAreRefusedByName)
{
    const std::string p = basis::kGpt2PreTokenizerPattern;
    auto refused = [&](json j, const std::string& expected) {
        const std::string e = errorOf([&] { BpeTokenizer::fromTokenizerJson(save(j)); });
        EXPECT_NE(e.find(expected), std::string::npos) << e;
        EXPECT_NE(e.find("tokenizer.json"), std::string::npos) << e;
    };
    json j = sequence(p);
    j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed";
    refused(j, "behavior");
    j = sequence(p);
    j["pre_tokenizer"]["pretokenizers"][0]["invert"] = true;
    refused(j, "invert");
    j = sequence(p);
    j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"String", " "}};
    refused(j, "Regex");
    j = sequence(p);
    j["pre_tokenizer"]["pretokenizers"][1]["use_regex"] = true;
    refused(j, "use_regex");
    j = sequence("(unclosed");
    refused(j, "does not compile");
    j = sequence(p);
    j["normalizer"] = {{"type", "Lowercase"}};
    refused(j, "normalizer");
}

} // namespace
