#include "regex_pretokenizer.h"

#include "error.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

namespace basis {

struct RegexPreTokenizer::Impl {
    pcre2_code* code = nullptr;
    ~Impl()
    {
        if (code)
            pcre2_code_free(code);
    }
};

RegexPreTokenizer::RegexPreTokenizer(const std::string& pattern, const std::string& source)
    : m_impl(std::make_unique<Impl>()), m_pattern(pattern)
{
    int error = 0;
    PCRE2_SIZE offset = 0;
    // UCP: \s, \d, \w and POSIX classes by Unicode properties, as Python's regex and tokenizers' onig do.
    // MATCH_INVALID_UTF: invalid UTF-8 in the text is never matched (it ends up in a gap piece) instead of
    // failing the whole match.
    m_impl->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
    if (!m_impl->code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof(message));
        throw Error(source + ": the Split pre-tokenizer's regex does not compile at offset " + std::to_string(offset) +
                    ": " + reinterpret_cast<const char*>(message));
    }
    // Without JIT (an unsupported platform) the interpreter gives the same matches, only slower.
    pcre2_jit_compile(m_impl->code, PCRE2_JIT_COMPLETE);
}

RegexPreTokenizer::~RegexPreTokenizer() = default;

void RegexPreTokenizer::split(std::string_view text, const std::function<void(std::string_view)>& piece) const
{
    struct MatchData {
        pcre2_match_data* data;
        ~MatchData() { pcre2_match_data_free(data); }
    };
    thread_local MatchData md{pcre2_match_data_create(1, nullptr)};
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t pos = 0, emitted = 0;
    while (pos < text.size()) {
        const int rc = pcre2_match(m_impl->code, subject, text.size(), pos, 0, md.data, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof(message));
            throw Error(std::string("pre-tokenizer regex failed: ") + reinterpret_cast<const char*>(message));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.data);
        const size_t begin = ov[0], end = ov[1];
        if (end == begin) {   // an empty match splits nothing: step over one UTF-8 character
            pos = begin + 1;
            while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80)
                ++pos;
            continue;
        }
        if (begin > emitted)
            piece(text.substr(emitted, begin - emitted));
        piece(text.substr(begin, end - begin));
        emitted = pos = end;
    }
    if (emitted < text.size())
        piece(text.substr(emitted));
}

std::vector<std::string> RegexPreTokenizer::pieces(std::string_view text) const
{
    std::vector<std::string> out;
    split(text, [&](std::string_view p) { out.emplace_back(p); });
    return out;
}

std::string nfcNormalize(std::string_view text)
{
    bool ascii = true;
    for (const char c : text)
        ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    if (ascii)
        return std::string(text);
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
    if (U_FAILURE(status))
        throw Error(std::string("ICU's NFC normalizer is unavailable: ") + u_errorName(status));
    const icu::UnicodeString in = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
    if (nfc->isNormalized(in, status) && U_SUCCESS(status))
        return std::string(text);
    status = U_ZERO_ERROR;
    const icu::UnicodeString out = nfc->normalize(in, status);
    if (U_FAILURE(status))
        throw Error(std::string("NFC normalization failed: ") + u_errorName(status));
    std::string utf8;
    out.toUTF8String(utf8);
    return utf8;
}

} // namespace basis
