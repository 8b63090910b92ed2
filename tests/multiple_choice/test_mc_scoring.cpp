// Multiple-choice scoring on the real stories260K model against log-likelihoods computed here, independently,
// from DecoderModel::forward of each full sequence.
#include "test_support.h"

#include "decoder_model.h"
#include "multiple_choice.h"
#include "tokenizer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

const char* kModel = "models/stories260K/hf";

// Sum of log p(continuation tokens) from one forward of [BOS?] + encode(context) + continuation tokens, where the
// continuation tokens are encode(context + continuation) past encode(context) (lm-eval's split).
double referenceLogLikelihood(const basis::DecoderModel& model, const basis::Tokenizer& tok, const std::string& context,
                              const std::string& continuation, bool bos)
{
    std::vector<int64_t> ctx = tok.encode(context);
    const std::vector<int64_t> whole = tok.encode(context + continuation);
    std::vector<int64_t> cont(whole.begin() + ctx.size(), whole.end());
    if (bos)
        ctx.insert(ctx.begin(), *tok.bosId());
    std::vector<int64_t> seq = ctx;
    seq.insert(seq.end(), cont.begin(), cont.end());
    at::Tensor ids = at::tensor(seq, at::kLong).unsqueeze(0);
    at::Tensor logp = at::log_softmax(model.forward(ids).squeeze(0).to(at::kDouble), -1);
    double sum = 0;
    for (size_t k = 0; k < cont.size(); ++k) {
        const int64_t pos = static_cast<int64_t>(ctx.size() + k) - 1;   // logits at pos predict token pos + 1
        sum += logp[pos][cont[k]].item<double>();
    }
    return sum;
}

int64_t firstMax(const std::vector<double>& v)
{
    return std::max_element(v.begin(), v.end()) - v.begin();   // first maximum, as numpy's argmax
}

struct Case {
    std::string context;
    std::vector<std::string> choices;
};

const std::vector<Case> kCases = {
    {"Once upon a time, there was a little", {"girl", "dog who liked to run and play in the park", "spoon", "tree"}},
    {"Lily went to the park. She saw a big", {"dog", "red ball that was bouncing", "moon", "xylophone zebra"}},
    {"Tom was sad because his toy was broken. His mom said", {"\"Don't worry, we can fix it.\"", "no", "the sky is green"}},
};

TEST(McScoring, Stories260KMatchesIndependentLogLikelihoodsAndMetrics)
{
    BASIS_REQUIRE_SHARED(kModel);
    const auto dir = basis::test::sharedPath(kModel);
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    auto tok = basis::loadTokenizer(dir);

    for (const bool bos : {false, true}) {
        // Gold = the independent acc_norm prediction, so acc_norm is 1 and acc counts agreements of the two.
        std::vector<basis::McItem> items;
        std::vector<std::vector<double>> reference;
        int64_t expectedAcc = 0, disagreements = 0;
        for (const Case& c : kCases) {
            std::vector<double> ll, normed;
            for (const std::string& choice : c.choices) {
                ll.push_back(referenceLogLikelihood(*model, *tok, c.context, " " + choice, bos));
                normed.push_back(ll.back() / static_cast<double>(choice.size()));
            }
            const int64_t gold = firstMax(normed);
            expectedAcc += firstMax(ll) == gold;
            disagreements += firstMax(ll) != gold;
            items.push_back(basis::makeSharedContextItem(c.context, c.choices, gold));
            reference.push_back(ll);
        }
        EXPECT_GT(disagreements, 0) << "the cases should make acc and acc_norm differ";

        for (const int64_t batch : {1, 3, 32}) {   // one row at a time, partial batches, everything in one pass
            basis::McOptions options;
            options.batch = batch;
            options.bos = bos ? basis::BosPolicy::Always : basis::BosPolicy::Never;
            int64_t lastDone = -1, lastTotal = -1;
            basis::JobContext job{[&](int64_t d, int64_t t, const std::string&) { lastDone = d; lastTotal = t; }, nullptr};
            const auto r = basis::evaluateMultipleChoice(*model, *tok, items, options, job, "toy");
            EXPECT_EQ(r.bosAdded, bos);
            EXPECT_EQ(lastDone, lastTotal);
            EXPECT_EQ(r.requests, 11);
            EXPECT_EQ(r.forwards, (11 + batch - 1) / batch);
            for (size_t i = 0; i < items.size(); ++i)
                for (size_t c = 0; c < reference[i].size(); ++c)
                    EXPECT_NEAR(r.scores[i].logLikelihoods[c], reference[i][c], 1e-4)
                        << "item " << i << " choice " << c << " batch " << batch << " bos " << bos;
            EXPECT_DOUBLE_EQ(r.accNorm, 1.0);
            EXPECT_DOUBLE_EQ(r.acc, static_cast<double>(expectedAcc) / 3.0);
            ASSERT_TRUE(r.accStderr.has_value());
            EXPECT_NEAR(*r.accStderr, std::sqrt(r.acc * (1 - r.acc) / 2.0), 1e-12);
            EXPECT_DOUBLE_EQ(*r.accNormStderr, 0.0);
        }
    }
}

TEST(McScoring, EncodePairMovesTrailingSpacesAndPrefixesEmptyContext)
{
    BASIS_REQUIRE_SHARED(kModel);
    auto tok = basis::loadTokenizer(basis::test::sharedPath(kModel));
    const auto a = basis::encodeLoglikelihoodPair(*tok, "The cat ", "sat", false);
    const auto b = basis::encodeLoglikelihoodPair(*tok, "The cat", " sat", false);
    EXPECT_EQ(a.context, b.context);
    EXPECT_EQ(a.continuation, b.continuation);
    EXPECT_EQ(a.context, tok->encode("The cat"));
    const auto withBos = basis::encodeLoglikelihoodPair(*tok, "The cat", " sat", true);
    EXPECT_EQ(withBos.context.front(), *tok->bosId());
    EXPECT_EQ(withBos.continuation, b.continuation);
    const auto empty = basis::encodeLoglikelihoodPair(*tok, "", "Once upon a time", false);
    EXPECT_EQ(empty.context, std::vector<int64_t>{*tok->bosId()});
    EXPECT_EQ(empty.continuation, tok->encode("Once upon a time"));
}

TEST(McScoring, TruncatesFromTheLeftToTheContext)
{
    BASIS_REQUIRE_SHARED(kModel);
    const auto dir = basis::test::sharedPath(kModel);
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    auto tok = basis::loadTokenizer(dir);
    std::string longContext;
    for (int i = 0; i < 200; ++i)
        longContext += "The dog ran. ";
    longContext += "Then the dog";
    basis::McOptions options;
    options.maxLength = 64;
    const auto r = basis::evaluateMultipleChoice(*model, *tok, {basis::makeSharedContextItem(longContext, {"sat", "ran"}, 1)},
                                                 options);
    EXPECT_EQ(r.truncated, 2);
    EXPECT_FALSE(r.accStderr.has_value());   // one item: lm-eval prints N/A
    // The same as scoring the last 64 + 1 tokens by hand.
    const auto enc = basis::encodeLoglikelihoodPair(*tok, longContext, " ran", false);
    std::vector<int64_t> full = enc.context;
    full.insert(full.end(), enc.continuation.begin(), enc.continuation.end());
    std::vector<int64_t> kept(full.end() - 65, full.end());
    at::Tensor logp = at::log_softmax(model->forward(at::tensor(std::vector<int64_t>(kept.begin(), kept.end() - 1), at::kLong)
                                                         .unsqueeze(0)).squeeze(0).to(at::kDouble), -1);
    double sum = 0;
    const size_t n = enc.continuation.size();
    for (size_t k = 0; k < n; ++k)
        sum += logp[static_cast<int64_t>(64 - n + k)][kept[65 - n + k]].item<double>();
    EXPECT_NEAR(r.scores[0].logLikelihoods[1], sum, 1e-4);
}

TEST(McScoring, CancelStopsBetweenBatches)
{
    BASIS_REQUIRE_SHARED(kModel);
    const auto dir = basis::test::sharedPath(kModel);
    auto model = basis::DecoderModel::load(dir, {"cpu", "float32", 0});
    auto tok = basis::loadTokenizer(dir);
    basis::CancelToken token;
    basis::McOptions options;
    options.batch = 1;
    int64_t reports = 0;
    basis::JobContext job{[&](int64_t d, int64_t, const std::string&) { if (d >= 2) token.cancel(); ++reports; }, &token};
    std::vector<basis::McItem> items(4, basis::makeSharedContextItem("Once upon a time", {"there", "was"}, 0));
    EXPECT_THROW(basis::evaluateMultipleChoice(*model, *tok, items, options, job), basis::Cancelled);
    EXPECT_LE(reports, 4);
}

} // namespace
