// Dataset presets: what exactly each one reads and how it joins the rows. The wikitext2 recipe is also checked
// against the golden token count in tests/tokenizer_bpe.
#include "datasets.h"
#include "error.h"
#include "resources.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <fstream>

namespace {

using basis::loadDataset;
using basis::test::expectError;
using basis::test::sharedPath;

size_t codePoints(const std::string& s)
{
    size_t n = 0;
    for (char c : s)
        n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

std::string slurp(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const std::filesystem::path& p, const std::string& text)
{
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

TEST(Datasets, WikiText2IsTheHuggingFaceRowsJoined)
{
    BASIS_REQUIRE_SHARED("data/wikitext-2-raw/wiki.test.raw");
    const auto d = loadDataset("wikitext", sharedPath("data"));
    EXPECT_EQ(d.name, "wikitext2");
    EXPECT_EQ(d.documents, 4358);                 // rows of the HF test split
    EXPECT_EQ(codePoints(d.text), 1294336u);      // golden/gpt2-tokenizer/wikitext2_test_count.json
    EXPECT_EQ(d.text.rfind("\n\n = Robert Boulter = \n\n\n", 0), 0u);   // a blank row, then a heading row
    EXPECT_NE(d.recipe.find("\\n\\n"), std::string::npos);
}

TEST(Datasets, PtbSentencesStrippedAndJoined)
{
    BASIS_REQUIRE_SHARED("data/ptb/ptb.test.txt");
    const auto d = loadDataset("ptb", sharedPath("data"));
    EXPECT_EQ(d.documents, 3761);
    EXPECT_EQ(d.text.rfind("no it was n't black monday\n\nbut while", 0), 0u);
    EXPECT_NE(d.text.back(), '\n');                                       // no trailing blank row added
    EXPECT_EQ(d.text.find(" \n"), std::string::npos);                     // every sentence stripped
    const auto valid = loadDataset("ptb", sharedPath("data"), {"valid", 0});
    EXPECT_EQ(valid.file.filename(), "ptb.valid.txt");
}

TEST(Datasets, TinyStoriesIsTheFileAsItIs)
{
    const auto data = basis::test::embeddedPath("data");
    const auto d = loadDataset("tinystories", data);
    EXPECT_EQ(d.text, slurp(data / "tinystories-valid/eval.txt"));
    EXPECT_EQ(d.text.size(), 390496u);
    EXPECT_EQ(loadDataset("tinystories", data, {"train", 0}).file.filename(), "calib.txt");
}

// No data folder: tinystories is read from the data that ships with the program; other presets need one.
TEST(Datasets, WithoutADataFolderTinyStoriesIsBuiltIn)
{
    const auto builtin = basis::builtinDataDir();
    ASSERT_FALSE(builtin.empty());
    EXPECT_TRUE(std::filesystem::equivalent(builtin, basis::test::embeddedPath("data")));
    const auto test = loadDataset("tinystories", "");
    EXPECT_TRUE(std::filesystem::equivalent(test.file, builtin / "tinystories-valid/eval.txt"));
    const auto train = loadDataset("tinystories", "", {"train", 0});
    EXPECT_TRUE(std::filesystem::equivalent(train.file, builtin / "tinystories-valid/calib.txt"));
    EXPECT_EQ(train.text.size(), 403879u);
    // A data folder given is used, not the built-in one.
    const auto dir = basis::test::scratchDir("datasets-own-tinystories");
    write(dir / "tinystories-valid/eval.txt", "Tom had a red ball.\n");
    EXPECT_EQ(loadDataset("tinystories", dir).text, "Tom had a red ball.\n");
    expectError([] { loadDataset("wikitext2", ""); },
                {"'wikitext2' needs a data directory", "wikitext-2-raw/wiki.test.raw", "holds only tinystories"});
    std::filesystem::remove_all(dir);
}

// The embedded texts are the staged test data's, byte for byte.
TEST(Datasets, EmbeddedTinyStoriesEqualsSharedCopy)
{
    const auto shared = basis::test::sharedDir() / "data/tinystories-valid";
    if (!std::filesystem::exists(shared / "calib.txt"))
        GTEST_SKIP() << "test data not found: " << shared << " (set BASIS_SHARED_DIR to the shared/ folder)";
    for (const char* f : {"calib.txt", "eval.txt"})
        EXPECT_EQ(slurp(basis::test::embeddedPath("data/tinystories-valid") / f), slurp(shared / f)) << f;
}

TEST(Datasets, C4TakesTheTextFieldOfTheFirstDocuments)
{
    const auto dir = basis::test::scratchDir("datasets-c4");
    write(dir / "c4/c4-validation.jsonl",
          "{\"text\": \"first doc\", \"url\": \"a\"}\n\n{\"text\": \"second\\ndoc\"}\n{\"text\": \"third\"}\n");
    const auto all = loadDataset("c4", dir);
    EXPECT_EQ(all.text, "first doc\n\nsecond\ndoc\n\nthird");
    EXPECT_EQ(all.documents, 3);
    const auto two = loadDataset("c4", dir, {"test", 2});
    EXPECT_EQ(two.text, "first doc\n\nsecond\ndoc");
    EXPECT_NE(two.recipe.find("first 2"), std::string::npos);
}

TEST(Datasets, ErrorsNameTheFileAndWhatIsWrong)
{
    const auto dir = basis::test::scratchDir("datasets-errors");
    expectError([&] { loadDataset("imagenet", dir); }, {"unknown dataset 'imagenet'", "wikitext2", "c4"});
    expectError([&] { loadDataset("ptb", dir); }, {"ptb", (dir / "ptb/ptb.test.txt").string(), "not found"});
    expectError([&] { loadDataset("ptb", ""); }, {"needs a data directory", "ptb.test.txt"});
    expectError([&] { loadDataset("ptb", dir, {"dev", 0}); }, {"unknown dataset split 'dev'"});
    write(dir / "c4/c4-validation.jsonl", "{\"text\": \"ok\"}\n{\"text\": \n");
    expectError([&] { loadDataset("c4", dir); }, {"c4-validation.jsonl:2", "invalid JSON"});
    write(dir / "c4/c4-validation.jsonl", "{\"body\": \"no text\"}\n");
    expectError([&] { loadDataset("c4", dir); }, {"c4-validation.jsonl:1", "'text'"});
    write(dir / "c4/c4-validation.jsonl", "\n\n");
    expectError([&] { loadDataset("c4", dir); }, {"c4-validation.jsonl", "no documents"});
}

} // namespace
