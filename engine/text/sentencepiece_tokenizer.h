#pragma once
// SentencePiece tokenizer.model through the basis_spm module, which alone links libsentencepiece and is
// loaded with dlopen(RTLD_LOCAL | RTLD_DEEPBIND): Debian's sentencepiece carries a protobuf that
// crashes next to LibTorch's when both are linked into one executable (docs/ARCHITECTURE.md, "Layers").
#include "tokenizer.h"

namespace basis {

class SentencePieceTokenizer : public Tokenizer {
public:
    static std::unique_ptr<SentencePieceTokenizer> load(const std::filesystem::path& modelFile);
    ~SentencePieceTokenizer() override;

    std::vector<int64_t> encode(const std::string& text) const override;
    std::string decode(const std::vector<int64_t>& ids) const override;
    int64_t vocabSize() const override;
    std::string kind() const override { return "sentencepiece"; }

    int64_t pieceToId(const std::string& piece) const;   // -1 when absent
    std::string idToPiece(int64_t id) const;

    // Where the module is looked for: $BASIS_SPM_MODULE, beside the executable, ../lib/basis-studio/.
    static std::filesystem::path modulePath();

private:
    SentencePieceTokenizer() = default;
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace basis
