#pragma once
// GPT-2 byte-level BPE (vocab.json + merges.txt, or tokenizer.json's model section).
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

    std::vector<int64_t> encode(const std::string& text) const override;
    std::string decode(const std::vector<int64_t>& ids) const override;
    int64_t vocabSize() const override;
    std::string kind() const override { return "byte-level-bpe"; }

    // Id of a token string (e.g. "<|endoftext|>"), or -1.
    int64_t tokenId(const std::string& token) const;
};

// GPT-2's pre-tokenizer, equivalent to the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// hand-written over UTF-8 (no std::regex). Returns the pieces as byte strings.
std::vector<std::string> gpt2PreTokenize(const std::string& text);

} // namespace basis
