#include "reference.h"

#include "atomic_file.h"
#include "calibration_job.h"
#include "decoder_model.h"
#include "generate.h"
#include "multiple_choice.h"
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
    // The text after the prompt as the whole sequence reads (a continuation may start with a space).
    const std::string whole = tokenizer->decode(r.tokens), head = tokenizer->decode(ids);
    return whole.substr(head.size());
}

ReferenceTasks referenceTasks(const std::filesystem::path& modelDir, const std::string& task,
                              const std::filesystem::path& file, int64_t limit)
{
    const auto model = load(modelDir);
    const auto tokenizer = loadTokenizer(modelDir);
    const McResult r = evaluateMultipleChoice(*model, *tokenizer, readMcTaskFile(task, file, limit), McOptions{}, {}, task);
    return {r.items, r.acc, r.accNorm, r.accStderr.value_or(-1), r.accNormStderr.value_or(-1)};
}

int64_t referenceCalibrationTokens(const std::filesystem::path& modelDir, const std::filesystem::path& text,
                                   int64_t samples, int64_t context)
{
    const auto model = load(modelDir);
    const auto tokenizer = loadTokenizer(modelDir);
    CalibrationRequest r;
    r.text = text;
    r.options.samples = samples;
    r.options.context = context;
    return calibrateFromText(*model, *tokenizer, r).stats.tokens;
}

} // namespace basis::uitest
