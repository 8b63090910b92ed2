// Output folders never lose what a user had: refusals, swaps, recovery of a killed run, the writers' lock.
#include "atomic_file.h"
#include "output_folder.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace {

namespace fs = std::filesystem;
using basis::OutputKind;
using basis::test::expectError;

void writeModel(const fs::path& out, const std::string& content, const std::vector<fs::path>& inputs = {})
{
    basis::writeOutputFolder(out, OutputKind::CompressedModel, inputs, [&](const fs::path& dir) {
        basis::writeFileAtomically(dir / "config.json", content);
    });
}

// Everything in the parent of `out` but `out` itself (leftovers of a swap).
std::vector<std::string> siblings(const fs::path& out)
{
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(out.parent_path()))
        if (e.path().filename() != out.filename())
            names.push_back(e.path().filename().string());
    return names;
}

void writeUserFiles(const fs::path& dir)
{
    fs::create_directories(dir / "sub");
    basis::writeFileAtomically(dir / "thesis.txt", "four years of work");
    basis::writeFileAtomically(dir / "sub" / "data.csv", "1,2,3");
}

TEST(OutputFolder, WritesNewFolderWithManifest)
{
    const fs::path out = basis::test::scratchDir("of-new") / "model";
    writeModel(out, "v1");
    EXPECT_EQ(basis::readFile(out / "config.json"), "v1");
    EXPECT_TRUE(basis::isOutputFolderOf(out, OutputKind::CompressedModel));
    EXPECT_NO_THROW(basis::verifyOutputFolder(out, OutputKind::CompressedModel));
    EXPECT_TRUE(siblings(out).empty());
}

TEST(OutputFolder, ReplacesItsOwnOutputAndLeavesNothingBeside)
{
    const fs::path out = basis::test::scratchDir("of-replace") / "model";
    writeModel(out, "v1");
    writeModel(out, "v2");
    EXPECT_EQ(basis::readFile(out / "config.json"), "v2");
    EXPECT_TRUE(siblings(out).empty());
    // A later step's results.json is allowed when the rules say so.
    basis::writeFileAtomically(out / "results.json", "{}");
    basis::writeOutputFolder(out, OutputKind::CompressedModel, {}, [](const fs::path& d) {
        basis::writeFileAtomically(d / "config.json", "v3");
    }, {{"results.json"}});
    EXPECT_EQ(basis::readFile(out / "config.json"), "v3");
    EXPECT_FALSE(fs::exists(out / "results.json"));
}

TEST(OutputFolder, RefusesAFolderOfSomeoneElsesFiles)
{
    const fs::path out = basis::test::scratchDir("of-foreign") / "mine";
    writeUserFiles(out);
    expectError([&] { writeModel(out, "v1"); }, {out.string(), "not written by Basis Studio", "refusing"});
    EXPECT_EQ(basis::readFile(out / "thesis.txt"), "four years of work");
    EXPECT_EQ(basis::readFile(out / "sub" / "data.csv"), "1,2,3");
    EXPECT_TRUE(siblings(out).empty());
}

TEST(OutputFolder, RefusesOurFolderOnceAUserAddedFiles)
{
    const fs::path out = basis::test::scratchDir("of-added") / "model";
    writeModel(out, "v1");
    basis::writeFileAtomically(out / "thesis.txt", "notes");
    expectError([&] { writeModel(out, "v2"); }, {"files Basis Studio did not write", "thesis.txt"});
    EXPECT_EQ(basis::readFile(out / "thesis.txt"), "notes");
    EXPECT_EQ(basis::readFile(out / "config.json"), "v1");
}

TEST(OutputFolder, RefusesAFile)
{
    const fs::path out = basis::test::scratchDir("of-file") / "report.pdf";
    basis::writeFileAtomically(out, "a user's file");
    expectError([&] { writeModel(out, "v1"); }, {out.string(), "is a file, not a folder"});
    EXPECT_EQ(basis::readFile(out), "a user's file");
}

TEST(OutputFolder, RefusesTheInputAndAFolderAroundIt)
{
    const fs::path root = basis::test::scratchDir("of-input");
    const fs::path model = root / "model";
    writeModel(model, "dense");
    expectError([&] { writeModel(model, "v2", {model}); }, {"is the folder being read"});
    expectError([&] { writeModel(model.string() + "/", "v2", {model}); }, {"is the folder being read"});
    expectError([&] { writeModel(root, "v2", {model}); }, {"contains", "being read"});
    EXPECT_EQ(basis::readFile(model / "config.json"), "dense");
}

TEST(OutputFolder, RefusesOurFolderOfAnotherKind)
{
    const fs::path out = basis::test::scratchDir("of-kind") / "calib";
    basis::writeOutputFolder(out, OutputKind::CalibrationCache, {}, [](const fs::path& d) {
        basis::writeFileAtomically(d / "calibration.json", "{}");
    });
    expectError([&] { writeModel(out, "v1"); }, {"holds a Basis Studio calibration-cache, not a compressed-model"});
}

TEST(OutputFolder, TrailingSlashAndDotNameTheFolder)
{
    const fs::path root = basis::test::scratchDir("of-slash");
    writeModel(root / "model", "v1");
    writeModel((root / "model").string() + "/", "v2");
    EXPECT_EQ(basis::readFile(root / "model" / "config.json"), "v2");
    writeModel((root / "model").string() + "/.", "v3");
    EXPECT_EQ(basis::readFile(root / "model" / "config.json"), "v3");
    EXPECT_TRUE(siblings(root / "model").empty());
    EXPECT_EQ(basis::resolveOutputPath("a/b/"), fs::current_path() / "a" / "b");
    expectError([] { basis::resolveOutputPath(""); }, {"empty"});
    expectError([] { basis::resolveOutputPath("/"); }, {"root folder"});
}

TEST(OutputFolder, ParentThatIsAFileIsAClearError)
{
    const fs::path root = basis::test::scratchDir("of-parent");
    basis::writeFileAtomically(root / "notes.txt", "x");
    expectError([&] { writeModel(root / "notes.txt" / "model", "v1"); }, {"notes.txt is a file, not a folder"});
}

TEST(OutputFolder, FailedFillKeepsTheEarlierOutput)
{
    const fs::path out = basis::test::scratchDir("of-fail") / "model";
    writeModel(out, "earlier");
    expectError([&] {
        basis::writeOutputFolder(out, OutputKind::CompressedModel, {}, [](const fs::path& d) {
            basis::writeFileAtomically(d / "config.json", "half");
            throw basis::Error("disk full");
        });
    }, {"disk full"});
    EXPECT_EQ(basis::readFile(out / "config.json"), "earlier");
    EXPECT_TRUE(siblings(out).empty()) << "temporary folder left behind";
}

TEST(OutputFolder, VerifyFindsChangedAndMissingFiles)
{
    const fs::path out = basis::test::scratchDir("of-verify") / "model";
    basis::writeOutputFolder(out, OutputKind::CompressedModel, {}, [](const fs::path& d) {
        basis::writeFileAtomically(d / "config.json", "0123456789");
        basis::writeFileAtomically(d / "model.safetensors", "abc");
    });
    basis::writeFileAtomically(out / "config.json", "0123456780");   // same size, other bytes
    expectError([&] { basis::verifyOutputFolder(out, OutputKind::CompressedModel); }, {"config.json", "checksum differs"});
    basis::writeFileAtomically(out / "config.json", "01234");
    expectError([&] { basis::verifyOutputFolder(out, OutputKind::CompressedModel); }, {"config.json", "5 bytes", "says 10"});
    fs::remove(out / "model.safetensors");
    basis::writeFileAtomically(out / "config.json", "0123456789");
    expectError([&] { basis::verifyOutputFolder(out, OutputKind::CompressedModel); }, {"model.safetensors is missing"});
    expectError([&] { basis::verifyOutputFolder(out, OutputKind::CalibrationCache); }, {"not a calibration-cache"});
    expectError([&] { basis::verifyOutputFolder(out.parent_path(), OutputKind::CompressedModel); }, {"older version"});
}

// What a kill at each step of a swap leaves, recovered by the next write.
class Leftovers : public testing::Test {
protected:
    void SetUp() override
    {
        root = basis::test::scratchDir("of-recover");
        out = root / "model";
    }
    // A complete folder of ours at `dir` (built elsewhere and moved, as a swap leaves it).
    void complete(const fs::path& dir, const std::string& content)
    {
        const fs::path staging = basis::test::scratchDir("of-staging") / "m";
        writeModel(staging, content);
        fs::rename(staging, dir);
    }
    std::vector<std::string> log;
    basis::OutputLog logger() { return [this](const std::string& s) { log.push_back(s); }; }
    fs::path root, out;
};

TEST_F(Leftovers, KillBetweenTheTwoRenamesRollsBack)
{
    // Journaled two-step swap, killed after moving the earlier output aside, before the new one was complete.
    complete(root / ".model.old-1-1", "earlier");
    fs::create_directories(root / ".model.tmp-1-1");
    basis::writeFileAtomically(root / ".model.tmp-1-1" / "config.json", "half");
    basis::writeFileAtomically(root / ".model.swap-journal", R"({"new": ".model.tmp-1-1", "old": ".model.old-1-1"})");
    basis::recoverOutputLeftovers(out, logger());
    EXPECT_EQ(basis::readFile(out / "config.json"), "earlier");
    EXPECT_TRUE(siblings(out).empty());
    ASSERT_FALSE(log.empty());
    EXPECT_NE(log.front().find("restored the earlier output"), std::string::npos) << log.front();
}

TEST_F(Leftovers, KillBetweenTheTwoRenamesWithACompleteNewFolderRollsForward)
{
    complete(root / ".model.old-1-1", "earlier");
    complete(root / ".model.tmp-1-1", "newer");
    basis::writeFileAtomically(root / ".model.swap-journal", R"({"new": ".model.tmp-1-1", "old": ".model.old-1-1"})");
    basis::recoverOutputLeftovers(out, logger());
    EXPECT_EQ(basis::readFile(out / "config.json"), "newer");
    EXPECT_TRUE(siblings(out).empty());
}

TEST_F(Leftovers, KillAfterTheExchangeRemovesTheEarlierCopy)
{
    complete(out, "newer");
    complete(root / ".model.tmp-7-7", "earlier");   // RENAME_EXCHANGE done, removal not
    writeModel(out, "next", {});                    // the next write recovers first
    EXPECT_EQ(basis::readFile(out / "config.json"), "next");
    EXPECT_TRUE(siblings(out).empty());
}

TEST_F(Leftovers, OlderVersionsLeftoversComeBack)
{
    // The version before journals: killed between its two renames, the output only in .NAME.old-N.
    fs::create_directories(root / ".model.old-12345");
    basis::writeFileAtomically(root / ".model.old-12345" / "config.json", R"({"compression": {"format": "basis-studio/1"}})");
    fs::create_directories(root / ".model.tmp-12345");
    basis::recoverOutputLeftovers(out, logger());
    EXPECT_TRUE(fs::exists(out / "config.json"));
    EXPECT_TRUE(siblings(out).empty());
    EXPECT_EQ(log.size(), 2u);   // recovered one, removed the other
}

TEST(OutputLock, ASecondWriterWaitsForTheFirst)
{
    const fs::path out = basis::test::scratchDir("of-lock") / "calib";
    auto first = std::make_unique<basis::OutputLock>(out);
    std::promise<void> waiting;
    std::atomic<bool> acquired{false};
    std::thread second([&] {
        bool told = false;
        basis::OutputLock lock(out, [&](const std::string& line) {
            EXPECT_NE(line.find("being written by another process (pid"), std::string::npos) << line;
            if (!told)
                waiting.set_value();
            told = true;
        });
        acquired = true;
    });
    waiting.get_future().wait();   // the second writer is blocked and said so
    EXPECT_FALSE(acquired.load());
    first.reset();
    second.join();
    EXPECT_TRUE(acquired.load());
    EXPECT_FALSE(fs::exists(out.parent_path() / ".calib.lock")) << "lock file left behind";
}

TEST(OutputLock, WaitingCanBeCancelled)
{
    const fs::path out = basis::test::scratchDir("of-lock-cancel") / "calib";
    basis::OutputLock first(out);
    int polls = 0;
    expectError([&] {
        basis::OutputLock second(out, {}, [&] {
            if (++polls == 3)
                throw basis::Cancelled();
        });
    }, {"cancelled"});
    EXPECT_EQ(polls, 3);
}

} // namespace
