// The method registry: the built-in methods, each one's settings descriptor, its plan on stories260K against
// the rank formula worked by hand, its factorizer, and the error an unknown name gives.
#include "test_support.h"

#include "architecture.h"
#include "compression_plan.h"
#include "error.h"
#include "factorizer_registry.h"
#include "feature_space_settings.h"
#include "method_registry.h"
#include "model_config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace {

using basis::test::expectError;

const char* kStories = "models/stories260K/hf";

// CompressionSettings from the method's descriptor alone: every numeric setting it lists at its default.
basis::CompressionSettings defaultsOf(const basis::CompressionMethod& m)
{
    basis::CompressionSettings s;
    s.method = m.name();
    for (const basis::MethodSetting& d : m.settings()) {
        if (d.key == basis::setting::Ratio)
            s.ratio = d.defaultValue;
        else if (d.key == basis::setting::GroupSize)
            s.groupSize = static_cast<int64_t>(d.defaultValue);
        else if (d.key == basis::setting::Update)
            s.update = d.defaultValue != 0;
        else if (d.key == basis::setting::Bits)
            s.quant.bits = static_cast<int64_t>(d.defaultValue);
        else if (d.key == basis::setting::Rank)
            s.quant.rank = static_cast<int64_t>(d.defaultValue);
        else if (d.key == basis::setting::Iters)
            s.quant.iters = static_cast<int64_t>(d.defaultValue);
    }
    return s;
}

} // namespace

bool quantizing(const basis::CompressionMethod& m) { return m.storageLayout() == "quantized-lowrank"; }

TEST(MethodRegistry, ListsTheRegisteredMethods)
{
    std::vector<std::string> names;
    for (const basis::CompressionMethod* m : basis::methods()) {
        names.push_back(m->name());
        EXPECT_FALSE(m->displayName().empty()) << m->name();
        EXPECT_GT(m->description().size(), 40u) << m->name();
        EXPECT_EQ(&basis::method(m->name()), m);
        // The factor methods run through a factorizer; the quantizing ones (caldera/) through compressQuantizedModel;
        // the feature-space ones factorize per projection (compressFeatureSpace), not through a group factorizer.
        if (quantizing(*m)) {
            EXPECT_TRUE(m->allowsRankZero()) << m->name();
        } else {
            EXPECT_EQ(m->storageLayout(), "factors") << m->name();
            if (!m->featureSpace()) {
                EXPECT_NO_THROW(basis::factorizer(m->factorizerName())) << m->name();
            }
        }
    }
    EXPECT_EQ(names, (std::vector<std::string>{"basis-sharing", "svd-llm", "svd", "caldera", "rtn", "gptq", "utilized",
                                               "hybrid", "weight-svd", "sfsd"}));
    EXPECT_EQ(basis::methodNames(), "basis-sharing, svd-llm, svd, caldera, rtn, gptq, utilized, hybrid, weight-svd, sfsd");
    EXPECT_EQ(basis::CompressionSettings{}.method, "basis-sharing");
}

// What the code did before the interface, kept: only basis-sharing groups layers; svd reads no statistics.
TEST(MethodRegistry, StatisticsAndGrouping)
{
    EXPECT_TRUE(basis::method("basis-sharing").groupsLayers());
    EXPECT_TRUE(basis::method("basis-sharing").uses(basis::setting::GroupSize));
    for (const char* name : {"svd-llm", "svd"}) {
        EXPECT_FALSE(basis::method(name).groupsLayers()) << name;
        EXPECT_FALSE(basis::method(name).uses(basis::setting::GroupSize)) << name;
    }
    EXPECT_EQ(basis::method("basis-sharing").statistics(), basis::MethodStatistics::InputGram);
    EXPECT_EQ(basis::method("svd-llm").statistics(), basis::MethodStatistics::InputGram);
    EXPECT_EQ(basis::method("svd").statistics(), basis::MethodStatistics::None);
    EXPECT_FALSE(basis::method("svd").needsStatistics());
}

TEST(MethodRegistry, DescriptorsAreWellFormed)
{
    const std::set<std::string> known{basis::setting::Ratio, basis::setting::GroupSize, basis::setting::SharedParts,
                                      basis::setting::PrivateParts, basis::setting::Update, basis::setting::Bits,
                                      basis::setting::Rank, basis::setting::QStep, basis::setting::Iters,
                                      basis::setting::FactorDtype, basis::setting::Energy, basis::setting::Fraction,
                                      basis::setting::Ranks, basis::setting::Policy};
    for (const basis::CompressionMethod* m : basis::methods()) {
        std::set<std::string> seen;
        for (const basis::MethodSetting& d : m->settings()) {
            EXPECT_TRUE(known.count(d.key)) << m->name() << ": " << d.key;
            EXPECT_TRUE(seen.insert(d.key).second) << m->name() << " lists " << d.key << " twice";
            EXPECT_FALSE(d.label.empty() || d.help.empty()) << m->name() << ": " << d.key;
            if (d.type != basis::MethodSetting::Type::Parts) {
                EXPECT_GE(d.defaultValue, d.minimum) << m->name() << ": " << d.key;
                if (d.maximum > 0) {
                    EXPECT_LE(d.defaultValue, d.maximum) << m->name() << ": " << d.key;
                }
            }
        }
        // A factor method is sized by its ratio, a quantizing one by its bits, a feature-space one by an energy
        // and a ranks file (never a ratio).
        if (m->featureSpace()) {
            EXPECT_TRUE(seen.count(basis::setting::Energy) && seen.count(basis::setting::Ranks)) << m->name();
            EXPECT_FALSE(seen.count(basis::setting::Ratio)) << m->name();
        } else {
            EXPECT_TRUE(seen.count(quantizing(*m) ? basis::setting::Bits : basis::setting::Ratio)) << m->name();
        }
    }
}

TEST(MethodRegistry, UnknownNameListsTheRegisteredOnes)
{
    expectError([] { basis::method("lora"); }, {"unknown method 'lora'", "registered: basis-sharing, svd-llm, svd"});
    EXPECT_EQ(basis::findMethod("lora"), nullptr);
    BASIS_REQUIRE_SHARED(kStories);
    const basis::ModelConfig c = basis::parseModelConfig(basis::test::sharedPath(kStories) / "config.json");
    basis::CompressionSettings s;
    s.method = "lora";
    expectError([&] { basis::planCompression(c, basis::archTable(c), s); },
                {"unknown method 'lora'", "basis-sharing, svd-llm, svd"});
}

// Each method's defaults plan stories260K; every group's k and count are the published formula worked here again.
TEST(MethodRegistry, DefaultsPlanStories260kByTheFormula)
{
    BASIS_REQUIRE_SHARED(kStories);
    const basis::ModelConfig c = basis::parseModelConfig(basis::test::sharedPath(kStories) / "config.json");
    const basis::ArchTable table = basis::archTable(c);
    for (const basis::CompressionMethod* m : basis::methods()) {
        if (m->featureSpace())
            continue;   // ranks by energy come from statistics: test_feature_space plans them
        SCOPED_TRACE(m->name());
        const basis::CompressionSettings s = defaultsOf(*m);
        const basis::CompressionPlan plan = basis::planCompression(c, table, s);
        const int64_t g = m->groupsLayers() ? s.groupSize : 1;
        EXPECT_EQ(plan.settings.groupSize, g);
        int64_t before = 0, after = 0;
        for (const basis::PartPlan& p : plan.parts) {
            if (!p.compressed)
                continue;
            EXPECT_TRUE(!p.shared || m->groupsLayers()) << p.spec->part;
            const int64_t pg = p.shared ? g : 1;
            const int64_t in = p.spec->in, out = p.spec->out;
            const auto k = static_cast<int64_t>(std::floor((1 - s.ratio / 100) * double(in * out * pg) / double(in + pg * out)));
            for (const basis::GroupPlan& grp : p.groups) {
                const auto n = static_cast<int64_t>(grp.layers.size());
                if (quantizing(*m)) {   // Q's m d weights plus L (m x k) and R (k x d); rtn and gptq have k = 0
                    EXPECT_EQ(grp.k, m->uses(basis::setting::Rank) ? s.quant.rank : 0) << p.spec->part;
                    EXPECT_EQ(grp.weightsAfter, in * out + grp.k * (in + out)) << p.spec->part;
                } else {
                    EXPECT_EQ(grp.k, std::min({k, in, n * out})) << p.spec->part;
                    EXPECT_EQ(grp.weightsAfter, in * grp.k + n * grp.k * out) << p.spec->part;
                }
                EXPECT_EQ(grp.weightsBefore, n * in * out) << p.spec->part;
                before += grp.weightsBefore;
                after += grp.weightsAfter;
            }
        }
        EXPECT_GT(before, 0);
        EXPECT_EQ(plan.targetBefore, before);
        EXPECT_EQ(plan.targetAfter, after);
        EXPECT_EQ(plan.modelAfter, plan.modelBefore - (before - after));
    }
}
