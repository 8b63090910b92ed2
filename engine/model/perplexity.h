#pragma once
// Perplexity over windows of a token stream, with the protocol stated in every result.
#include "progress.h"

#include <cstdint>
#include <string>
#include <vector>

namespace at {
class Tensor;   // sumNll's arguments: declared, so this header stays free of LibTorch
}

namespace basis {

class DecoderModel;
class Tokenizer;

enum class PplProtocol { WindowMean, TokenMean };
enum class BosPolicy { Auto, Always, Never };
// How the windows go through the model. Whole: each forward pass runs every layer (the model is read once per
// pass). Layerwise: the hidden states of many windows stay at one layer's input and that layer runs over all of
// them before the next, the sequential scheme of streamed calibration (the model is read once per chunk of
// windows, which matters when its weights do not fit in memory and every pass would read them from disk again).
// Auto: layerwise when the weights take more than the memory available.
enum class PplPasses { Auto, Whole, Layerwise };

std::string protocolName(PplProtocol p);   // "window-mean", "token-mean"
PplProtocol parseProtocol(const std::string& name);
std::string bosPolicyName(BosPolicy p);
BosPolicy parseBosPolicy(const std::string& name);
PplPasses parsePasses(const std::string& name);

// Tokenizes a text whole and prepends BOS once at its start when the policy asks for it (auto: when the
// tokenizer's add_bos_token is set). Always with a tokenizer that has no BOS is an error.
std::vector<int64_t> tokenizeForEvaluation(const Tokenizer& tokenizer, const std::string& text, BosPolicy bos,
                                           bool* bosAdded = nullptr);

struct PplOptions {
    int64_t context = 512;
    int64_t stride = 0;              // 0 = context (no overlap)
    PplProtocol protocol = PplProtocol::WindowMean;
    int64_t batch = 0;               // windows of equal length per forward pass; 0 = autoBatch()
    int64_t workers = 0;             // forward passes side by side, one thread each; 0 = autoWorkers()
    PplPasses passes = PplPasses::Auto;
    // Layerwise: hidden states kept per chunk of windows, in bytes; 0 = a quarter of the memory available, at
    // least 256 MB. The numbers do not depend on it (each pass computes what it computes alone).
    int64_t layerwiseBytes = 0;
};

struct PplResult {
    double ppl = 0;                  // under the requested protocol
    double pplWindowMean = 0;        // both are always computed; `ppl` picks one
    double pplTokenMean = 0;
    double nll = 0;                  // mean NLL per scored token (log of token-mean PPL)
    int64_t tokens = 0;              // scored tokens
    int64_t windows = 0;
    int64_t inputTokens = 0;         // length of the token stream, BOS included
    PplProtocol protocol = PplProtocol::WindowMean;
    int64_t context = 0, stride = 0;
    int64_t batch = 0;               // windows per forward pass actually used
    int64_t workers = 0;             // forward passes run side by side
    bool layerwise = false;          // went a layer at a time (PplPasses)
    int64_t chunks = 0;              // layerwise: chunks of windows, each reading the model once (whole: 0)
    double seconds = 0;
};

// Windows per forward pass when PplOptions::batch is 0: as many as fit ~256 MB of activations (attention
// scores, MLP and residual rows of one window estimated from the config), at most 64. A small model evaluates
// 512-token windows one at a time at a fraction of the BLAS rate; stacking them recovers most of it.
int64_t autoBatch(const DecoderModel& model, int64_t context);

// Forward passes side by side when PplOptions::workers is 0: on the CPU one per LibTorch thread, each pass on one
// thread (side_by_side.h); on a GPU one.
int64_t autoWorkers(const DecoderModel& model);

// Whether `passes` means layer at a time for this model: Auto compares the bytes of its weights in the compute
// dtype (an upper bound for weights kept as stored) with `availableBytes` (0: unknown, whole passes), and is
// always layer at a time for a model with host weights (each layer then crosses to the device once per chunk).
bool evaluatesLayerwise(const DecoderModel& model, PplPasses passes, int64_t availableBytes);

// Sum of -log p(targets[i] | hidden row i) over rows of hidden [rows, dim], in float64. Logits are made in row
// chunks of at most ~24 MB so a 50k vocabulary never needs one 200 MB buffer per window.
double sumNll(const DecoderModel& model, const at::Tensor& hidden, const at::Tensor& targets);

// Windows [i*stride, i*stride + context) until the end of the stream; the last partial window is kept.
// Each window is scored on its own, on the tokens no earlier window scored (all but its first token when
// stride == context), as the Hugging Face perplexity guide and the published Basis Sharing evaluation do.
// window-mean: exp(mean over windows of the window's mean NLL); token-mean: exp(total NLL / tokens).
// Whole and layerwise passes run the same operations on the same batches: the same numbers to the last bit.
PplResult evaluatePerplexity(const DecoderModel& model, const std::vector<int64_t>& ids, const PplOptions& options,
                             const JobContext& job = {});

} // namespace basis
