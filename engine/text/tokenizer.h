#pragma once
// Tokenizers of Hugging Face checkpoint folders. Torch-free.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace basis {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // Text -> ids, never adding BOS/EOS (callers decide with addsBos()).
    virtual std::vector<int64_t> encode(const std::string& text) const = 0;
    // Ids -> text, skipping BOS/EOS/padding control tokens.
    virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
    virtual int64_t vocabSize() const = 0;
    virtual std::string kind() const = 0;   // "sentencepiece", "byte-level-bpe"

    std::optional<int64_t> bosId() const { return m_bos; }
    std::optional<int64_t> eosId() const { return m_eos; }
    // tokenizer_config.json's add_bos_token (with the tokenizer class's default when the key is absent).
    bool addsBos() const { return m_addBos; }

    void setSpecialTokens(std::optional<int64_t> bos, std::optional<int64_t> eos, bool addBos) {
        m_bos = bos; m_eos = eos; m_addBos = addBos;
    }

private:
    std::optional<int64_t> m_bos, m_eos;
    bool m_addBos = false;
};

// Loads the tokenizer of a model folder: tokenizer.model (SentencePiece), tokenizer.json (byte-level BPE),
// or vocab.json + merges.txt; reads tokenizer_config.json / special_tokens_map.json for BOS/EOS and
// add_bos_token. Throws basis::Error naming the folder when no tokenizer is found or a file is malformed.
std::unique_ptr<Tokenizer> loadTokenizer(const std::filesystem::path& modelDir);

} // namespace basis
