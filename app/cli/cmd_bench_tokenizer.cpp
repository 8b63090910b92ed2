// basis-cli bench tokenizer: encode speed of a byte-level BPE tokenizer on a text (WikiText-2 test by default),
// with its GPT-2 hand-written pre-tokenizer and with the same pattern run by PCRE2, in one run; the ids must
// agree. Also the pre-tokenize time of the LLaMA-3 and Qwen2 patterns on the same text.
#include "commands.h"

#include "bpe_tokenizer.h"
#include "datasets.h"
#include "error.h"
#include "regex_pretokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

namespace basis::cli {

namespace {

// LLaMA-3's and Qwen2's published Split patterns (their tokenizer.json files).
constexpr const char* kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

template <typename F>
double bestOf(int repeats, F&& f)
{
    double best = 1e300;
    for (int r = 0; r < repeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

std::unique_ptr<BpeTokenizer> loadBpe(const std::filesystem::path& dir)
{
    if (std::filesystem::is_regular_file(dir / "vocab.json") && std::filesystem::is_regular_file(dir / "merges.txt"))
        return BpeTokenizer::fromVocabMerges(dir / "vocab.json", dir / "merges.txt");
    if (std::filesystem::is_regular_file(dir / "tokenizer.json"))
        return BpeTokenizer::fromTokenizerJson(dir / "tokenizer.json");
    throw Error(dir.string() + ": no GPT-2 tokenizer (vocab.json + merges.txt, or tokenizer.json)");
}

} // namespace

int runBenchTokenizer(const BenchTokenizerArgs& a)
{
    if (a.repeats < 1)
        throw Error("bench tokenizer: --repeats must be at least 1");
    const DatasetText data = a.text.empty() ? loadDataset("wikitext2", a.dataDir) : loadTextFile(a.text);
    auto tok = loadBpe(a.tokenizer);
    if (tok->usesRegexPreTokenizer())
        throw Error(a.tokenizer + ": the tokenizer does not use GPT-2's pre-tokenizer; nothing to compare");
    const double mb = static_cast<double>(data.text.size()) / 1e6;

    std::vector<int64_t> fast, viaRegex;
    const double tFast = bestOf(a.repeats, [&] { fast = tok->encode(data.text); });
    tok->setPreTokenizerRegex(kGpt2PreTokenizerPattern);
    const double tRegex = bestOf(a.repeats, [&] { viaRegex = tok->encode(data.text); });
    if (fast != viaRegex)
        throw Error("bench tokenizer: the PCRE2 path gave other ids than the GPT-2 path on " + data.file.string());

    std::printf("bench tokenizer: %s, %s (%.2f MB), %zu tokens, best of %d\n", a.tokenizer.c_str(),
                data.file.string().c_str(), mb, fast.size(), a.repeats);
    std::printf("%-34s %10s %10s %12s\n", "encode (pre-tokenize + BPE)", "seconds", "MB/s", "tokens/s");
    std::printf("%-34s %10.3f %10.2f %12.0f\n", "GPT-2 hand-written pre-tokenizer", tFast, mb / tFast, fast.size() / tFast);
    std::printf("%-34s %10.3f %10.2f %12.0f\n", "PCRE2 (JIT), GPT-2 pattern", tRegex, mb / tRegex, fast.size() / tRegex);
    std::printf("ids identical: yes (%zu tokens)\n", fast.size());

    nlohmann::json patterns = nlohmann::json::object();
    std::printf("%-34s %10s %10s %12s\n", "pre-tokenize only", "seconds", "MB/s", "pieces");
    for (const auto& [name, pattern] : {std::pair<const char*, const char*>{"gpt2", kGpt2PreTokenizerPattern},
                                        {"llama3", kLlama3Pattern}, {"qwen2", kQwen2Pattern}}) {
        const RegexPreTokenizer re(pattern, name);
        size_t pieces = 0;
        const double t = bestOf(a.repeats, [&] {
            pieces = 0;
            re.split(data.text, [&](std::string_view) { ++pieces; });
        });
        std::printf("%-34s %10.3f %10.2f %12zu\n", (std::string("PCRE2, ") + name + " pattern").c_str(), t, mb / t, pieces);
        patterns[name] = {{"seconds", t}, {"pieces", pieces}};
    }
    size_t gpt2Pieces = 0;
    const double tHand = bestOf(a.repeats, [&] { gpt2Pieces = gpt2PreTokenize(data.text).size(); });
    std::printf("%-34s %10.3f %10.2f %12zu\n", "hand-written, gpt2", tHand, mb / tHand, gpt2Pieces);
    if (a.json)
        std::cout << nlohmann::json{{"text", data.file.string()}, {"bytes", data.text.size()}, {"tokens", fast.size()},
                                    {"gpt2_path_seconds", tFast}, {"pcre2_path_seconds", tRegex}, {"ids_identical", true},
                                    {"pretokenize_pcre2", patterns}, {"pretokenize_handwritten_seconds", tHand}}
                         .dump()
                  << std::endl;
    return 0;
}

} // namespace basis::cli
