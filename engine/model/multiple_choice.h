#pragma once
// Zero-shot multiple-choice scoring as lm-evaluation-harness does it: the summed log-likelihood of each choice's
// continuation tokens given the context; acc = argmax of the log-likelihoods is the gold choice, acc_norm = argmax
// of log-likelihood / len(choice text); standard errors of the mean. Choices are scored in batches of padded rows.
#include "multiple_choice_tasks.h"
#include "perplexity.h"   // BosPolicy
#include "progress.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace basis {

class DecoderModel;
class Tokenizer;

struct McEncoded {
    std::vector<int64_t> context, continuation;
};

// lm-eval's HFLM._encode_pair: trailing spaces of the context move to the continuation; whole =
// encode(context + continuation), context = encode(context), continuation = whole[len(context):]. With `bos`,
// BOS leads both encodings (lm-eval's add_bos_token=True). An empty context becomes [BOS] (else [EOS]), as
// lm-eval's prefix token.
McEncoded encodeLoglikelihoodPair(const Tokenizer& tokenizer, const std::string& context,
                                  const std::string& continuation, bool bos);

struct McOptions {
    int64_t batch = 32;            // rows (one choice each) per forward pass; 1 = one choice at a time
    BosPolicy bos = BosPolicy::Never;   // lm-eval's HF default: add_bos_token=False
    int64_t maxLength = 0;         // 0 = the model's max_position_embeddings (lm-eval's max_length)
};

struct McItemScore {
    std::vector<double> logLikelihoods;   // one per choice
    std::vector<bool> greedy;             // every continuation token was the argmax (lm-eval's is_greedy)
    int64_t prediction = 0, predictionNorm = 0;
    bool correct = false, correctNorm = false;
};

struct McResult {
    std::string task;
    int64_t items = 0;
    double acc = 0, accNorm = 0;
    std::optional<double> accStderr, accNormStderr;   // empty with a single item
    bool reportsAccNorm = true;
    std::vector<McItemScore> scores;
    bool bosAdded = false;
    int64_t requests = 0;          // (item, choice) pairs scored
    int64_t forwards = 0;          // forward passes
    int64_t tokens = 0;            // real input tokens run
    int64_t paddedTokens = 0;      // padding added to fill batches
    int64_t truncated = 0;         // requests cut from the left to the model's context
    int64_t batch = 0, maxLength = 0;
    double seconds = 0;
};

// lm-eval's mean_stderr of 0/1 outcomes: sqrt(p (1 - p) / (n - 1)); empty for n < 2.
std::optional<double> meanStderr(double p, int64_t n);

// Scores every choice of every item. Requests are sorted by length (longest first, as lm-eval does) and run
// `batch` rows at a time, right-padded; only real continuation positions are read, so padding changes nothing.
// Reports progress per batch and checks for cancellation between batches.
McResult evaluateMultipleChoice(const DecoderModel& model, const Tokenizer& tokenizer, const std::vector<McItem>& items,
                                const McOptions& options, const JobContext& job = {}, const std::string& task = "");

} // namespace basis
