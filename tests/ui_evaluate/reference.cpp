#include "reference.h"

#include "atomic_file.h"
#include "decoder_model.h"
#include "generate.h"
#include "perplexity.h"
#include "run_options.h"
#include "tokenizer.h"

namespace basis::uitest {

namespace {
std::unique_ptr<DecoderModel> load(const std::filesystem::path& dir)
{
    return DecoderModel::load(dir, RunOptions{"cpu", "float32", applyThreads(0)});
}
} // namespace

double referencePerplexity(const std::filesystem::path& modelDir, const std::filesystem::path& text, int64_t context,
                           int64_t stride, const std::string& protocol)
{
    const auto model = load(modelDir);
    const auto tokenizer = loadTokenizer(modelDir);
    const auto ids = tokenizeForEvaluation(*tokenizer, readFile(text), BosPolicy::Auto);
    PplOptions o;
    o.context = context;
    o.stride = stride;
    o.protocol = parseProtocol(protocol);
    return evaluatePerplexity(*model, ids, o).ppl;
}

std::string referenceGeneration(const std::filesystem::path& modelDir, const std::string& prompt, int64_t maxNewTokens)
{
    const auto model = load(modelDir);
    const auto tokenizer = loadTokenizer(modelDir);
    const auto ids = tokenizeForEvaluation(*tokenizer, prompt, BosPolicy::Auto);
    GenerateOptions o;
    o.maxNewTokens = maxNewTokens;
    const GenerateResult r = generateGreedy(*model, ids, o);
    return tokenizer->decode(std::vector<int64_t>(r.tokens.begin() + r.promptTokens, r.tokens.end()));
}

} // namespace basis::uitest
