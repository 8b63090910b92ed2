#pragma once
// GPT-2 byte-level BPE (vocab.json + merges.txt, or tokenizer.json's model section). Malformed files give a
// basis::Error naming the file. tokenizer.json pipelines: GPT-2's ByteLevel, or (LLaMA-3, Qwen2) an optional NFC
// normalizer and Sequence[Split(regex, Isolated), ByteLevel], the regex run by PCRE2; others are refused
// rather than tokenized differently.
#include "tokenizer.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace basis {

class BpeTokenizer : public Tokenizer {
public:
    static std::unique_ptr<BpeTokenizer> fromVocabMerges(const std::filesystem::path& vocabJson,
                                                         const std::filesystem::path& mergesTxt);
    static std::unique_ptr<BpeTokenizer> fromTokenizerJson(const std::filesystem::path& tokenizerJson);

    // Same ids as transformers' slow GPT2Tokenizer: added tokens (from tokenizer.json, or <|endoftext|> with
    // vocab.json) are split out first. Thread-safe.
    std::vector<int64_t> encode(const std::string& text) const override;
    // Skips the BOS/EOS ids given to setSpecialTokens() and ids that are no token; invalid UTF-8 becomes U+FFFD.
    std::string decode(const std::vector<int64_t>& ids) const override;
    // Number of distinct ids, added tokens included.
    int64_t vocabSize() const override;
    std::string kind() const override { return "byte-level-bpe"; }

    // Id of a token string as written in the vocabulary (byte-level form, e.g. "\u0120the" for " the", or an
    // added token such as "<|endoftext|>"), or -1.
    int64_t tokenId(const std::string& token) const;

    // Runs this PCRE2 pattern as the pre-tokenizer instead of the current one (benchmarks and the proof that
    // the GPT-2 fast path and the regex agree). Throws basis::Error when it does not compile.
    void setPreTokenizerRegex(const std::string& pattern);
    bool usesRegexPreTokenizer() const;
    bool normalizesNfc() const;

    ~BpeTokenizer() override;

private:
    BpeTokenizer();
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// GPT-2's pre-tokenizer pattern as tokenizer.json files write it.
inline constexpr const char* kGpt2PreTokenizerPattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// GPT-2's pre-tokenizer, equivalent to the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// hand-written over UTF-8 (no std::regex). Returns the pieces as byte strings.
std::vector<std::string> gpt2PreTokenize(const std::string& text);

} // namespace basis
