#pragma once
// tokenizer.json's Split pre-tokenizer with behavior "Isolated": the pattern's matches and the text between
// them become separate pieces, in order. The pattern runs in PCRE2 (Debian's libpcre2, UTF + Unicode
// properties, JIT-compiled when the platform allows), so the pattern a file carries is used as written.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace basis {

class RegexPreTokenizer {
public:
    // Throws basis::Error with PCRE2's message and offset when the pattern does not compile; `source` names
    // the file in that message.
    RegexPreTokenizer(const std::string& pattern, const std::string& source);
    ~RegexPreTokenizer();
    RegexPreTokenizer(const RegexPreTokenizer&) = delete;
    RegexPreTokenizer& operator=(const RegexPreTokenizer&) = delete;

    const std::string& pattern() const { return m_pattern; }
    // Calls piece() for every piece of text, in order; pieces concatenate to text. Thread-safe.
    void split(std::string_view text, const std::function<void(std::string_view)>& piece) const;
    std::vector<std::string> pieces(std::string_view text) const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
    std::string m_pattern;
};

// tokenizer.json's NFC normalizer (ICU's Normalizer2). ASCII text is returned as is without conversion.
std::string nfcNormalize(std::string_view text);

} // namespace basis
