// Where a model named by builtin:NAME, a folder or a Hugging Face name org/name[@revision] is found: the built-in
// stories260K in resources/, and a hub cache laid out as huggingface_hub lays it out (symlinked blobs), built here
// from the embedded model, which then loads and scores exactly like the built-in copy.
#include "hub_cache.h"
#include "test_support.h"

#include "decoder_model.h"
#include "model_location.h"
#include "perplexity.h"
#include "resources.h"
#include "tokenizer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>

namespace {

namespace fs = std::filesystem;
using basis::test::expectError;

const char* kCommitA = "0123456789abcdef0123456789abcdef01234567";
const char* kCommitB = "fedcba9876543210fedcba9876543210fedcba98";

// Sets (or, with nullopt, unsets) environment variables for one test and restores them after.
class ScopedEnv {
public:
    explicit ScopedEnv(const std::map<std::string, std::optional<std::string>>& vars)
    {
        for (const auto& [name, value] : vars) {
            const char* old = std::getenv(name.c_str());
            m_saved[name] = old ? std::optional<std::string>(old) : std::nullopt;
            set(name, value);
        }
    }
    ~ScopedEnv()
    {
        for (const auto& [name, value] : m_saved)
            set(name, value);
    }

private:
    static void set(const std::string& name, const std::optional<std::string>& value)
    {
        if (value)
            ::setenv(name.c_str(), value->c_str(), 1);
        else
            ::unsetenv(name.c_str());
    }
    std::map<std::string, std::optional<std::string>> m_saved;
};

// Only the given cache variables: nothing of the machine's own cache leaks into a test.
std::map<std::string, std::optional<std::string>> onlyCache(const std::map<std::string, std::string>& vars)
{
    std::map<std::string, std::optional<std::string>> all = {{"HF_HUB_CACHE", std::nullopt},
                                                             {"HUGGINGFACE_HUB_CACHE", std::nullopt},
                                                             {"HF_HOME", std::nullopt},
                                                             {"XDG_CACHE_HOME", std::nullopt},
                                                             {"HOME", std::nullopt}};
    for (const auto& [k, v] : vars)
        all[k] = v;
    return all;
}

fs::path stories() { return basis::test::embeddedPath("models/stories260K"); }

double perplexityOf(const fs::path& dir)
{
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 1});
    auto tok = basis::loadTokenizer(dir);
    const auto ids = tok->encode("Once upon a time, there was a little girl named Lily. She loved to play outside.");
    basis::PplOptions o;
    o.context = 64;
    return basis::evaluatePerplexity(*model, ids, o).ppl;
}

TEST(BuiltinModel, Stories260kIsTheEmbeddedFolder)
{
    const basis::ModelLocation loc = basis::locateModel("builtin:stories260k");
    EXPECT_EQ(loc.kind, basis::ModelLocation::Kind::Builtin);
    EXPECT_TRUE(fs::equivalent(loc.folder, stories()));
    EXPECT_TRUE(fs::equivalent(basis::locateModel("builtin:Stories260K").folder, stories()));   // case-insensitive
    auto model = basis::DecoderModel::load(loc.folder);
    EXPECT_EQ(model->parameterCount(), 260032);
    expectError([] { basis::locateModel("builtin:gpt5"); }, {"unknown built-in model 'builtin:gpt5'", "builtin:stories260k"});
}

// BASIS_RESOURCES_DIR is looked in first; a folder without the model is passed over, and when no place has it
// the error names every place looked in.
TEST(BuiltinModel, ResourcesDirVariableIsLookedInFirst)
{
    const fs::path own = basis::test::scratchDir("own-resources");
    fs::create_directories(own / "models");
    fs::copy(stories(), own / "models" / "stories260K");
    {
        ScopedEnv env({{"BASIS_RESOURCES_DIR", own.string()}});
        EXPECT_EQ(basis::resourceDirCandidates().front(), own);
        EXPECT_TRUE(fs::equivalent(basis::builtinModelDir("stories260k"), own / "models" / "stories260K"));
    }
    const fs::path empty = basis::test::scratchDir("empty-resources");
    {
        ScopedEnv env({{"BASIS_RESOURCES_DIR", empty.string()}});
        EXPECT_TRUE(fs::equivalent(basis::builtinModelDir("stories260k"), stories()));   // the next candidate
        expectError([] { basis::requireResource("models/none/config.json"); },
                    {"models/none/config.json not found", (empty / "models/none/config.json").string(),
                     "share/basis-studio/resources/models/none/config.json",
                     (basis::test::embeddedPath("") / "models/none/config.json").lexically_normal().string()});
    }
    fs::remove_all(own);
    fs::remove_all(empty);
}

TEST(ModelNames, HubNamesAndOtherSpecs)
{
    for (const char* yes : {"meta-llama/Llama-2-7b-hf", "jeffwan/llama-7b-hf", "org/name@main", "a_b/c.d@0123abc"})
        EXPECT_TRUE(basis::isHubName(yes)) << yes;
    for (const char* no : {"/abs/path", "./x/y", "a/b/c", "name", "org/", "/name", "org/name@", "org/../x", "a--b/c",
                           "builtin:stories260k", "org/name@../x"})
        EXPECT_FALSE(basis::isHubName(no)) << no;
    // A folder is a folder, even when its relative name looks like a Hub name.
    const fs::path work = basis::test::scratchDir("local-hub-like");
    fs::create_directories(work / "org" / "name");
    const fs::path cwd = fs::current_path();
    fs::current_path(work);
    const basis::ModelLocation local = basis::locateModel("org/name");
    fs::current_path(cwd);
    EXPECT_EQ(local.kind, basis::ModelLocation::Kind::Local);
    EXPECT_EQ(local.folder, "org/name");
    fs::remove_all(work);
}

// refs/main names the snapshot; its files are symlinks into blobs/, and the model loads through them.
TEST(HubCache, RefsMainSnapshotLoadsLikeTheBuiltinModel)
{
    const fs::path cache = basis::test::scratchDir("hub-cache") / "hub";
    const fs::path snap = basis::test::addHubSnapshot(cache, "karpathy/stories260K", stories(), kCommitA);
    ASSERT_TRUE(fs::is_symlink(snap / "model.safetensors"));
    EXPECT_EQ(fs::read_symlink(snap / "model.safetensors"),
              fs::path("../../blobs/46184e080fc4cd7f66d70313f7172dad1cbbde0994ffcf1020f15b79be12b61a"));
    ScopedEnv env(onlyCache({{"HF_HUB_CACHE", cache.string()}}));
    const basis::ModelLocation loc = basis::locateModel("karpathy/stories260K");
    EXPECT_EQ(loc.kind, basis::ModelLocation::Kind::HubCache);
    EXPECT_EQ(loc.folder, snap);
    EXPECT_NE(loc.description.find("revision main"), std::string::npos) << loc.description;
    EXPECT_DOUBLE_EQ(perplexityOf(loc.folder), perplexityOf(stories()));
    fs::remove_all(cache.parent_path());
}

// @revision picks another snapshot: by a ref (branch or tag) or by its commit hash.
TEST(HubCache, RevisionPicksTheSnapshot)
{
    const fs::path cache = basis::test::scratchDir("hub-revisions");
    const fs::path a = basis::test::addHubSnapshot(cache, "karpathy/stories260K", stories(), kCommitA, "main");
    const fs::path b = basis::test::addHubSnapshot(cache, "karpathy/stories260K", stories(), kCommitB, "v2");
    ScopedEnv env(onlyCache({{"HF_HUB_CACHE", cache.string()}}));
    EXPECT_EQ(basis::resolveModelFolder("karpathy/stories260K"), a);
    EXPECT_EQ(basis::resolveModelFolder("karpathy/stories260K@v2"), b);
    EXPECT_EQ(basis::resolveModelFolder(std::string("karpathy/stories260K@") + kCommitA), a);
    expectError([] { basis::resolveModelFolder("karpathy/stories260K@v3"); },
                {"karpathy/stories260K@v3", "refs/v3 (absent)", "2 snapshots"});
    fs::remove_all(cache);
}

// Without refs/main (a download by commit) the only snapshot is the one; with two, the user must choose.
TEST(HubCache, OnlySnapshotWithoutRefs)
{
    const fs::path cache = basis::test::scratchDir("hub-no-refs");
    const fs::path a = basis::test::addHubSnapshot(cache, "karpathy/stories260K", stories(), kCommitA, "");
    ScopedEnv env(onlyCache({{"HF_HUB_CACHE", cache.string()}}));
    EXPECT_EQ(basis::resolveModelFolder("karpathy/stories260K"), a);
    basis::test::addHubSnapshot(cache, "karpathy/stories260K", stories(), kCommitB, "");
    expectError([] { basis::resolveModelFolder("karpathy/stories260K"); }, {"2 snapshots", "name one with @revision"});
    fs::remove_all(cache);
}

// transformers' order: HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub; every one is searched.
TEST(HubCache, CacheFoldersInTransformersOrder)
{
    const fs::path root = basis::test::scratchDir("hub-order");
    const fs::path hubCache = root / "hub-cache", hfHome = root / "hf-home", home = root / "home";
    const fs::path inHome = basis::test::addHubSnapshot(home / ".cache/huggingface/hub", "karpathy/stories260K", stories(), kCommitA);
    {
        ScopedEnv env(onlyCache({{"HF_HUB_CACHE", hubCache.string()}, {"HF_HOME", hfHome.string()}, {"HOME", home.string()}}));
        EXPECT_EQ(basis::hubCacheDirs(),
                  (std::vector<fs::path>{hubCache, hfHome / "hub", home / ".cache/huggingface/hub"}));
        EXPECT_EQ(basis::resolveModelFolder("karpathy/stories260K"), inHome);   // the last place has it
        const fs::path inHfHome = basis::test::addHubSnapshot(hfHome / "hub", "karpathy/stories260K", stories(), kCommitB);
        EXPECT_EQ(basis::resolveModelFolder("karpathy/stories260K"), inHfHome);   // HF_HOME comes before ~/.cache
        const fs::path inHubCache = basis::test::addHubSnapshot(hubCache, "karpathy/stories260K", stories(), kCommitA);
        EXPECT_EQ(basis::resolveModelFolder("karpathy/stories260K"), inHubCache);   // HF_HUB_CACHE first
    }
    {
        ScopedEnv env(onlyCache({{"HOME", home.string()}}));
        EXPECT_EQ(basis::hubCacheDirs(), (std::vector<fs::path>{home / ".cache/huggingface/hub"}));
    }
    fs::remove_all(root);
}

TEST(HubCache, MissingModelNamesEveryPlaceLookedIn)
{
    const fs::path root = basis::test::scratchDir("hub-missing");
    ScopedEnv env(onlyCache({{"HF_HUB_CACHE", (root / "c1").string()}, {"HF_HOME", (root / "home").string()},
                             {"HOME", (root / "user").string()}}));
    expectError([] { basis::locateModel("meta-llama/Llama-2-7b-hf"); },
                {"'meta-llama/Llama-2-7b-hf' is not a local folder and not in the Hugging Face cache",
                 (fs::absolute("meta-llama/Llama-2-7b-hf")).string() + " (no such folder)",
                 (root / "c1/models--meta-llama--Llama-2-7b-hf").string() + " (absent)",
                 (root / "home/hub/models--meta-llama--Llama-2-7b-hf").string() + " (absent)",
                 (root / "user/.cache/huggingface/hub/models--meta-llama--Llama-2-7b-hf").string() + " (absent)",
                 "huggingface-cli download meta-llama/Llama-2-7b-hf"});
    fs::remove_all(root);
}

// A snapshot whose config.json link points at a blob that never arrived is an interrupted download.
TEST(HubCache, DanglingConfigLinkIsAnIncompleteDownload)
{
    const fs::path cache = basis::test::scratchDir("hub-dangling");
    const fs::path snap = basis::test::addHubSnapshot(cache, "karpathy/stories260K", stories(), kCommitA);
    fs::remove(cache / "models--karpathy--stories260K/blobs" / basis::test::stories260kEtags().at("config.json"));
    ScopedEnv env(onlyCache({{"HF_HUB_CACHE", cache.string()}}));
    expectError([] { basis::locateModel("karpathy/stories260K"); }, {snap.string(), "no readable config.json"});
    fs::remove_all(cache);
}

} // namespace
