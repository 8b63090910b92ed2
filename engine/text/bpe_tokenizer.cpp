// GPT-2 byte-level BPE, matching transformers' slow GPT2Tokenizer id for id:
//   added tokens split out -> GPT-2 regex pre-tokenizer -> bytes -> BPE merges by rank -> vocabulary ids.
#include "bpe_tokenizer.h"

#include "error.h"
#include "json_io.h"
#include "regex_pretokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace basis {

namespace {

using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------------------
// Unicode classes of the GPT-2 regex: \p{L}, \p{N}, \s; everything else (and invalid UTF-8) is "other".

namespace uc {
enum Class : uint8_t { O = 0, L = 1, N = 2, S = 3 };
struct Range {
    uint32_t first, last;
    Class cls;
};
constexpr Range kRanges[] = {
#include "bpe_unicode_tables.inc"
};
} // namespace uc

constexpr uint32_t kInvalidCodePoint = 0xFFFFFFFFu;

uc::Class classifyAscii(uint32_t c)
{
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return uc::L;
    if (c >= '0' && c <= '9') return uc::N;
    if (c == ' ' || (c >= '\t' && c <= '\r')) return uc::S;
    return uc::O;
}

uc::Class classify(uint32_t cp)
{
    if (cp < 0x80) return classifyAscii(cp);
    // Last range starting at or before cp; the ranges are sorted and disjoint.
    const auto* end = std::end(uc::kRanges);
    const auto* it = std::upper_bound(std::begin(uc::kRanges), end, cp,
                                      [](uint32_t c, const uc::Range& r) { return c < r.first; });
    if (it == std::begin(uc::kRanges)) return uc::O;
    --it;
    return cp <= it->last ? it->cls : uc::O;
}

// ---------------------------------------------------------------------------------------------------------
// Strict UTF-8 decoding. An invalid sequence yields kInvalidCodePoint over its "maximal subpart" (the lead byte
// plus the continuation bytes that were still acceptable), which is exactly what Python's errors="replace"
// turns into one U+FFFD.

struct Utf8Step {
    uint32_t cp;
    size_t len;
};

Utf8Step decodeUtf8(const unsigned char* s, size_t avail)
{
    const unsigned b0 = s[0];
    if (b0 < 0x80) return {b0, 1};
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;   // allowed range of the second byte
    uint32_t cp;
    if (b0 < 0xC2) return {kInvalidCodePoint, 1};
    if (b0 < 0xE0) { need = 1; cp = b0 & 0x1F; }
    else if (b0 < 0xF0) {
        need = 2; cp = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;        // no overlong forms
        else if (b0 == 0xED) hi = 0x9F;   // no surrogates
    } else if (b0 < 0xF5) {
        need = 3; cp = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        else if (b0 == 0xF4) hi = 0x8F;   // nothing above U+10FFFF
    } else {
        return {kInvalidCodePoint, 1};
    }
    for (size_t k = 1; k <= need; ++k) {
        const unsigned b = k < avail ? s[k] : 0x100;
        const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
        if (!ok) return {kInvalidCodePoint, k};
        cp = (cp << 6) | (b & 0x3F);
    }
    return {cp, need + 1};
}

void appendUtf8(std::string& out, uint32_t cp)
{
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

// Bytes -> UTF-8 text, each maximal invalid subpart becoming U+FFFD (Python's bytes.decode(errors="replace")).
void appendValidUtf8(std::string& out, std::string_view bytes)
{
    const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
    size_t i = 0;
    while (i < bytes.size()) {
        const Utf8Step step = decodeUtf8(s + i, bytes.size() - i);
        if (step.cp == kInvalidCodePoint) out += "\xEF\xBF\xBD";
        else out.append(bytes.data() + i, step.len);
        i += step.len;
    }
}

// ---------------------------------------------------------------------------------------------------------
// GPT-2 pre-tokenizer:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// A cursor over the UTF-8 text; pieces are reported as string_views, so nothing is allocated per character.

class PreTokenizer {
public:
    explicit PreTokenizer(std::string_view text)
        : m_s(reinterpret_cast<const unsigned char*>(text.data())), m_n(text.size()) {}

    // Calls emit(std::string_view) for every piece, in order; the pieces concatenate to the text.
    template <class Emit>
    void run(Emit&& emit)
    {
        size_t i = 0;
        while (i < m_n) {
            const size_t end = pieceEnd(i);
            emit(std::string_view(reinterpret_cast<const char*>(m_s) + i, end - i));
            i = end;
        }
    }

private:
    struct Char {
        uc::Class cls;
        size_t len;
    };

    Char charAt(size_t i) const
    {
        if (m_s[i] < 0x80) return {classifyAscii(m_s[i]), 1};
        const Utf8Step step = decodeUtf8(m_s + i, m_n - i);
        return {step.cp == kInvalidCodePoint ? uc::O : classify(step.cp), step.len};
    }

    // End of the piece that starts at i: the first alternative of the regex that matches there.
    size_t pieceEnd(size_t i) const
    {
        if (const size_t n = contractionLength(i)) return i + n;
        Char c = charAt(i);
        size_t runStart = i;
        // " ?X+" for X in L, N, other: a single plain space may lead a run of any non-space class.
        if (m_s[i] == ' ' && i + 1 < m_n) {
            const Char next = charAt(i + 1);
            if (next.cls != uc::S) {
                c = next;
                runStart = i + 1;
            }
        }
        if (c.cls != uc::S) return runEnd(runStart, c.cls);
        return whitespaceEnd(i);
    }

    // 's 't 're 've 'm 'll 'd -- case-sensitive, as in GPT-2's pattern.
    size_t contractionLength(size_t i) const
    {
        if (m_s[i] != '\'' || i + 1 >= m_n) return 0;
        const unsigned char a = m_s[i + 1];
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (i + 2 >= m_n) return 0;
        const unsigned char b = m_s[i + 2];
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        return 0;
    }

    size_t runEnd(size_t i, uc::Class cls) const
    {
        while (i < m_n) {
            const Char c = charAt(i);
            if (c.cls != cls) break;
            i += c.len;
        }
        return i;
    }

    // \s+(?!\S) backs off one character when a non-space follows, so that the last space can lead the next
    // word; a lone whitespace character before a non-space is taken by the final \s+.
    size_t whitespaceEnd(size_t i) const
    {
        size_t lastStart = i, j = i;
        while (j < m_n) {
            const Char c = charAt(j);
            if (c.cls != uc::S) break;
            lastStart = j;
            j += c.len;
        }
        if (j == m_n || lastStart == i) return j;
        return lastStart;
    }

    const unsigned char* m_s;
    size_t m_n;
};

// Whether the character at pos is whitespace (\s); len receives its length in bytes.
bool isSpaceAt(std::string_view text, size_t pos, size_t& len)
{
    const Utf8Step step = decodeUtf8(reinterpret_cast<const unsigned char*>(text.data()) + pos, text.size() - pos);
    len = step.len;
    return step.cp != kInvalidCodePoint && classify(step.cp) == uc::S;
}

// Start of the whitespace run that ends text[begin, end) (end when there is none).
size_t trimTrailingSpace(std::string_view text, size_t begin, size_t end)
{
    while (end > begin) {
        size_t start = end - 1;   // back to the lead byte of the last character
        while (start > begin && end - start < 4 && (uint8_t(text[start]) & 0xC0) == 0x80) --start;
        size_t len = 0;
        if (!isSpaceAt(text, start, len) || start + len != end) break;
        end = start;
    }
    return end;
}

// ---------------------------------------------------------------------------------------------------------
// GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in order,
// so that every token is a printable string.

std::array<uint32_t, 256> makeByteToCodePoint()
{
    std::array<uint32_t, 256> map{};
    uint32_t extra = 0;
    for (uint32_t b = 0; b < 256; ++b) {
        const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        map[b] = printable ? b : 256 + extra++;
    }
    return map;
}

const std::array<uint32_t, 256>& byteToCodePoint()
{
    static const auto map = makeByteToCodePoint();
    return map;
}

// Inverse of byteToCodePoint() for code points below 324, -1 elsewhere.
int codePointToByte(uint32_t cp)
{
    static const auto inverse = [] {
        std::array<int16_t, 324> inv;
        inv.fill(-1);
        for (int b = 0; b < 256; ++b) inv[byteToCodePoint()[b]] = int16_t(b);
        return inv;
    }();
    return cp < inverse.size() ? inverse[cp] : -1;
}

// Vocabulary string (byte-level form) -> the raw bytes it stands for. Characters outside the byte alphabet are
// kept as their own UTF-8 (such tokens cannot come out of byte-level BPE, but decode should not fail on them).
std::string tokenBytes(std::string_view token)
{
    std::string out;
    const auto* s = reinterpret_cast<const unsigned char*>(token.data());
    size_t i = 0;
    while (i < token.size()) {
        const Utf8Step step = decodeUtf8(s + i, token.size() - i);
        const int b = step.cp == kInvalidCodePoint ? -1 : codePointToByte(step.cp);
        if (b >= 0) out += char(b);
        else out.append(token.data() + i, step.len);
        i += step.len;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// File helpers: every failure is a basis::Error naming the file.

std::string readFile(const std::filesystem::path& path)
{
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw Error("BPE tokenizer: file not found: " + path.string());
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("BPE tokenizer: cannot open " + path.string());
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

json readJson(const std::filesystem::path& path)
{
    const std::string text = readFile(path);
    return parseJson(path, text.data(), text.size());
}

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what)
{
    throw Error(path.string() + ": " + what);
}

// Ids above this are taken as a corrupt file rather than allocated for.
constexpr int64_t kMaxTokenId = int64_t(1) << 26;

std::vector<std::pair<std::string, int64_t>> parseVocab(const json& vocab, const std::filesystem::path& path,
                                                        const std::string& where)
{
    if (!vocab.is_object()) fail(path, where + " must be an object of token -> id");
    std::vector<std::pair<std::string, int64_t>> out;
    out.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        const json& v = it.value();
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= kMaxTokenId)
            fail(path, where + ": token \"" + it.key() + "\" has no valid id (" + describeJson(v) + ")");
        out.emplace_back(it.key(), v.get<int64_t>());
    }
    if (out.empty()) fail(path, where + " is empty");
    return out;
}

using MergeList = std::vector<std::pair<std::string, std::string>>;

// "a b" -> {a, b}; false unless there are exactly two non-empty parts.
bool splitMerge(std::string_view line, std::pair<std::string, std::string>& out)
{
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp + 1 >= line.size()) return false;
    if (line.find(' ', sp + 1) != std::string_view::npos) return false;
    out = {std::string(line.substr(0, sp)), std::string(line.substr(sp + 1))};
    return true;
}

MergeList parseMergesTxt(const std::filesystem::path& path)
{
    const std::string text = readFile(path);
    MergeList merges;
    size_t pos = 0, lineNo = 0;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) eol = text.size();
        std::string_view line(text.data() + pos, eol - pos);
        pos = eol + 1;
        ++lineNo;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || (lineNo == 1 && line.substr(0, 8) == "#version")) continue;
        std::pair<std::string, std::string> merge;
        if (!splitMerge(line, merge))
            fail(path, "line " + std::to_string(lineNo) + ": a merge must be two tokens separated by one space, got \"" +
                           std::string(line) + "\"");
        merges.push_back(std::move(merge));
    }
    return merges;
}

MergeList parseMergesJson(const json& merges, const std::filesystem::path& path)
{
    if (!merges.is_array()) fail(path, "model.merges must be an array");
    MergeList out;
    out.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
        const json& m = merges[i];
        std::pair<std::string, std::string> merge;
        bool ok = false;
        if (m.is_string()) {
            ok = splitMerge(m.get_ref<const std::string&>(), merge);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            merge = {m[0].get<std::string>(), m[1].get<std::string>()};
            ok = !merge.first.empty() && !merge.second.empty();
        }
        if (!ok) fail(path, "model.merges[" + std::to_string(i) + "] is not \"a b\" or [\"a\", \"b\"]: " + describeJson(m));
        out.push_back(std::move(merge));
    }
    return out;
}

struct AddedToken {
    std::string content;
    int64_t id;
    bool lstrip = false, rstrip = false;
};

bool boolField(const json& obj, const char* key)
{
    const auto it = obj.find(key);
    return it != obj.end() && it->is_boolean() && it->get<bool>();
}

std::vector<AddedToken> parseAddedTokens(const json& root, const std::filesystem::path& path)
{
    std::vector<AddedToken> out;
    const auto it = root.find("added_tokens");
    if (it == root.end() || it->is_null()) return out;
    if (!it->is_array()) fail(path, "added_tokens must be an array");
    for (size_t i = 0; i < it->size(); ++i) {
        const json& t = (*it)[i];
        const std::string where = "added_tokens[" + std::to_string(i) + "]";
        if (!t.is_object() || !t.contains("id") || !t.contains("content") || !t["content"].is_string() ||
            !t["id"].is_number_integer())
            fail(path, where + " needs an integer \"id\" and a string \"content\"");
        const int64_t id = t["id"].get<int64_t>();
        if (id < 0 || id >= kMaxTokenId) fail(path, where + " has an invalid id " + std::to_string(id));
        if (t["content"].get_ref<const std::string&>().empty()) fail(path, where + " has empty content");
        out.push_back({t["content"].get<std::string>(), id, boolField(t, "lstrip"), boolField(t, "rstrip")});
    }
    return out;
}

// A normalizer or pre-tokenizer for a message: its "type" when it has one, never the whole (unbounded) value.
std::string typeOf(const json& j)
{
    if (j.is_object() && j.contains("type") && j["type"].is_string())
        return describeJson(j["type"]);
    return describeJson(j);
}

// The normalizer and pre-tokenizer a tokenizer.json asks for.
struct Pipeline {
    bool addPrefixSpace = false;
    bool nfc = false;
    std::string splitPattern;   // empty: GPT-2's ByteLevel regex
};

bool isNfc(const json& n)
{
    if (!n.is_object() || !n.contains("type"))
        return false;
    if (n["type"] == "NFC")
        return true;
    // A Sequence holding only NFC, as some exports write it.
    const auto list = n.find("normalizers");
    return n["type"] == "Sequence" && list != n.end() && list->is_array() && list->size() == 1 && isNfc((*list)[0]);
}

// Sequence[Split(Regex, Isolated), ByteLevel(use_regex=false)] (LLaMA-3, Qwen2): the Split's pattern.
std::string splitPattern(const json& pre, const std::filesystem::path& path)
{
    const auto list = pre.find("pretokenizers");
    if (list == pre.end() || !list->is_array() || list->size() != 2 || !(*list)[0].is_object() || !(*list)[1].is_object() ||
        (*list)[0].value("type", std::string()) != "Split" || (*list)[1].value("type", std::string()) != "ByteLevel")
        fail(path, "unsupported pre_tokenizer Sequence (only [Split, ByteLevel] is implemented)");
    const json& split = (*list)[0];
    const json& byteLevel = (*list)[1];
    const auto pattern = split.find("pattern");
    if (pattern == split.end() || !pattern->is_object() || !pattern->contains("Regex") || !(*pattern)["Regex"].is_string())
        fail(path, "pre_tokenizer Split: only a {\"Regex\": ...} pattern is implemented");
    if (split.value("behavior", std::string()) != "Isolated")
        fail(path, "pre_tokenizer Split: behavior " + typeOf(split.value("behavior", json())) +
                       " is not supported (only Isolated)");
    if (boolField(split, "invert"))
        fail(path, "pre_tokenizer Split: invert=true is not supported");
    if (boolField(byteLevel, "add_prefix_space"))
        fail(path, "pre_tokenizer Sequence: ByteLevel with add_prefix_space=true after a Split is not supported");
    if (!byteLevel.contains("use_regex") || !byteLevel["use_regex"].is_boolean() || byteLevel["use_regex"].get<bool>())
        fail(path, "pre_tokenizer Sequence: the ByteLevel after a Split must have use_regex=false (it would split twice)");
    return (*pattern)["Regex"].get<std::string>();
}

// Only what GPT-2, LLaMA-3 and Qwen2 files use is implemented; anything else would tokenize differently, so it
// is refused rather than silently giving other ids.
Pipeline checkPipeline(const json& root, const std::filesystem::path& path)
{
    Pipeline p;
    const auto norm = root.find("normalizer");
    if (norm != root.end() && !norm->is_null()) {
        if (!isNfc(*norm))
            fail(path, "unsupported normalizer " + typeOf(*norm) + " (only NFC, or none, is implemented)");
        p.nfc = true;
    }
    const auto pre = root.find("pre_tokenizer");
    const std::string type = pre != root.end() && pre->is_object() ? pre->value("type", std::string()) : std::string();
    if (type == "Sequence") {
        p.splitPattern = splitPattern(*pre, path);
        return p;
    }
    if (type != "ByteLevel")
        fail(path, "unsupported pre_tokenizer " + (pre == root.end() ? std::string("null") : typeOf(*pre)) +
                       " (only GPT-2's ByteLevel and Sequence[Split, ByteLevel] are implemented)");
    if (pre->contains("use_regex") && (*pre)["use_regex"].is_boolean() && !(*pre)["use_regex"].get<bool>())
        fail(path, "unsupported pre_tokenizer ByteLevel with use_regex=false");
    p.addPrefixSpace = boolField(*pre, "add_prefix_space");
    return p;
}

// What tokenizer.json contributes to a BpeTokenizer.
struct TokenizerJson {
    std::vector<std::pair<std::string, int64_t>> vocab;
    MergeList merges;
    std::vector<AddedToken> added;
    Pipeline pipeline;
    std::string unkToken;   // empty: none
    bool ignoreMerges = false;
};

TokenizerJson parseTokenizerJson(const std::filesystem::path& path)
{
    const json root = readJson(path);
    if (!root.is_object()) fail(path, "not a JSON object");
    const auto model = root.find("model");
    if (model == root.end() || !model->is_object()) fail(path, "no \"model\" object");
    const std::string type = model->value("type", std::string("BPE"));
    if (type != "BPE") fail(path, "model.type is \"" + type + "\", expected \"BPE\"");
    if (!model->contains("vocab")) fail(path, "model.vocab is missing");
    if (!model->contains("merges")) fail(path, "model.merges is missing");

    TokenizerJson out;
    out.pipeline = checkPipeline(root, path);
    out.vocab = parseVocab((*model)["vocab"], path, "model.vocab");
    out.merges = parseMergesJson((*model)["merges"], path);
    out.added = parseAddedTokens(root, path);
    // LLaMA-3: a piece that is itself a vocabulary token is emitted as is, without merging.
    out.ignoreMerges = boolField(*model, "ignore_merges");
    const auto unk = model->find("unk_token");
    if (unk != model->end() && unk->is_string()) out.unkToken = unk->get<std::string>();
    return out;
}

// BPE work item: the pair starting at symbol `pos` is (left, right) and merges into `result` at `rank`.
struct Candidate {
    int32_t rank, pos, left, right, result;
};

// Heap order: lowest rank first, then leftmost.
struct LaterCandidate {
    bool operator()(const Candidate& a, const Candidate& b) const
    {
        return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
    }
};

struct Symbol {
    int32_t id;     // symbol index, -1 once merged into its left neighbour
    int32_t next;   // index of the next live symbol, -1 at the end
    int32_t prev;
};

uint64_t pairKey(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

} // namespace

// ---------------------------------------------------------------------------------------------------------

struct BpeTokenizer::Impl {
    struct Merge {
        int32_t rank, result;
    };

    // BPE works on dense "symbol" indices: every vocabulary string, plus strings that occur only in merges
    // (transformers merges by rank regardless of the vocabulary and looks the final strings up afterwards).
    std::unordered_map<std::string, int32_t> symbolIndex;   // load time only
    std::vector<int64_t> symbolToken;                       // symbol -> vocabulary id, -1 when not in it
    std::array<int32_t, 256> byteSymbol{};
    std::unordered_map<uint64_t, Merge> merges;
    int64_t unkId = -1;
    bool addPrefixSpace = false;
    bool nfc = false;
    bool ignoreMerges = false;
    std::unique_ptr<RegexPreTokenizer> regex;   // null: the hand-written GPT-2 pre-tokenizer

    std::unordered_map<std::string, int64_t> tokenIds;   // vocabulary and added tokens
    std::vector<std::string> idBytes;                    // id -> raw bytes (or added token text)
    std::vector<uint8_t> idKind;                         // 0 unused, 1 bytes, 2 added token outside the vocabulary
    int64_t vocabSize = 0;

    std::vector<AddedToken> added;
    std::array<bool, 256> addedFirstByte{};

    int32_t symbolOf(const std::string& s)
    {
        const auto [it, inserted] = symbolIndex.emplace(s, int32_t(symbolToken.size()));
        if (inserted) symbolToken.push_back(-1);
        return it->second;
    }

    void build(const std::vector<std::pair<std::string, int64_t>>& vocab, const MergeList& mergeList,
               std::vector<AddedToken> addedTokens);
    void addToken(const std::string& token, int64_t id, uint8_t kind);

    void encodeText(std::string_view text, std::vector<int64_t>& out) const;
    void encodeSegment(std::string_view text, std::vector<int64_t>& out) const;
    void bpe(std::string_view piece, std::vector<int64_t>& out) const;
    void emitSymbol(int32_t symbol, std::vector<int64_t>& out) const;
    const AddedToken* addedAt(std::string_view text, size_t pos) const;
};

void BpeTokenizer::Impl::addToken(const std::string& token, int64_t id, uint8_t kind)
{
    tokenIds[token] = id;
    if (size_t(id) >= idBytes.size()) {
        idBytes.resize(size_t(id) + 1);
        idKind.resize(size_t(id) + 1, 0);
    }
    if (idKind[size_t(id)] == 0) ++vocabSize;
    idBytes[size_t(id)] = kind == 1 ? tokenBytes(token) : token;
    idKind[size_t(id)] = kind;
}

void BpeTokenizer::Impl::build(const std::vector<std::pair<std::string, int64_t>>& vocab, const MergeList& mergeList,
                               std::vector<AddedToken> addedTokens)
{
    symbolIndex.reserve(vocab.size() + 1024);
    for (const auto& [token, id] : vocab) {
        const int32_t symbol = symbolOf(token);
        symbolToken[size_t(symbol)] = id;
        addToken(token, id, 1);
    }
    for (int b = 0; b < 256; ++b) {
        std::string s;
        appendUtf8(s, byteToCodePoint()[size_t(b)]);
        byteSymbol[size_t(b)] = symbolOf(s);
    }
    merges.reserve(mergeList.size());
    for (size_t rank = 0; rank < mergeList.size(); ++rank) {
        const auto& [a, b] = mergeList[rank];
        const int32_t left = symbolOf(a), right = symbolOf(b);
        const int32_t result = symbolOf(a + b);
        // A repeated merge keeps its last rank, as Python's dict(zip(merges, range(n))) does.
        merges[pairKey(left, right)] = {int32_t(rank), result};
    }
    for (const AddedToken& t : addedTokens) {
        const bool inVocab = tokenIds.count(t.content) && tokenIds.at(t.content) == t.id;
        if (!inVocab) addToken(t.content, t.id, 2);
        tokenIds[t.content] = t.id;
        addedFirstByte[uint8_t(t.content[0])] = true;
    }
    added = std::move(addedTokens);
    symbolIndex.clear();   // only needed while loading
}

void BpeTokenizer::Impl::emitSymbol(int32_t symbol, std::vector<int64_t>& out) const
{
    const int64_t id = symbolToken[size_t(symbol)];
    if (id >= 0) out.push_back(id);
    else if (unkId >= 0) out.push_back(unkId);   // transformers: encoder.get(token, unk); no unk -> dropped
}

// Merges the bytes of one pre-tokenized piece. Equivalent to transformers' loop "merge every occurrence of the
// lowest-ranked adjacent pair, left to right", but with a heap so long pieces stay O(n log n).
void BpeTokenizer::Impl::bpe(std::string_view piece, std::vector<int64_t>& out) const
{
    const size_t n = piece.size();
    if (n == 1) {
        emitSymbol(byteSymbol[uint8_t(piece[0])], out);
        return;
    }
    if (ignoreMerges) {
        thread_local std::string token;
        token.clear();
        for (const char c : piece)
            appendUtf8(token, byteToCodePoint()[uint8_t(c)]);
        const auto it = tokenIds.find(token);
        if (it != tokenIds.end() && size_t(it->second) < idKind.size() && idKind[size_t(it->second)] == 1) {
            out.push_back(it->second);
            return;
        }
    }
    // Scratch reused across calls (encode is const and may run on several threads at once).
    thread_local std::vector<Symbol> syms;
    thread_local std::vector<Candidate> heap, batch;
    syms.resize(n);
    for (size_t i = 0; i < n; ++i)
        syms[i] = {byteSymbol[uint8_t(piece[i])], i + 1 < n ? int32_t(i + 1) : -1, int32_t(i) - 1};
    heap.clear();

    auto push = [&](int32_t pos) {
        if (pos < 0 || syms[size_t(pos)].next < 0) return;
        const int32_t left = syms[size_t(pos)].id, right = syms[size_t(syms[size_t(pos)].next)].id;
        const auto it = merges.find(pairKey(left, right));
        if (it == merges.end()) return;
        heap.push_back({it->second.rank, pos, left, right, it->second.result});
        std::push_heap(heap.begin(), heap.end(), LaterCandidate());
    };
    for (size_t i = 0; i + 1 < n; ++i) push(int32_t(i));

    while (!heap.empty()) {
        // All queued occurrences of the best pair, leftmost first; some may be stale.
        const int32_t rank = heap.front().rank;
        batch.clear();
        while (!heap.empty() && heap.front().rank == rank) {
            std::pop_heap(heap.begin(), heap.end(), LaterCandidate());
            batch.push_back(heap.back());
            heap.pop_back();
        }
        for (const Candidate& c : batch) {
            Symbol& s = syms[size_t(c.pos)];
            if (s.id != c.left || s.next < 0 || syms[size_t(s.next)].id != c.right) continue;   // stale
            Symbol& r = syms[size_t(s.next)];
            s.id = c.result;
            r.id = -1;
            s.next = r.next;
            if (s.next >= 0) syms[size_t(s.next)].prev = c.pos;
            push(s.prev);
            push(c.pos);
        }
    }
    for (int32_t i = 0; i >= 0; i = syms[size_t(i)].next) emitSymbol(syms[size_t(i)].id, out);
}

void BpeTokenizer::Impl::encodeSegment(std::string_view raw, std::vector<int64_t>& out) const
{
    // tokenizers normalizes each segment between added tokens, then pre-tokenizes it.
    const std::string normalized = nfc ? nfcNormalize(raw) : std::string();
    const std::string_view text = nfc ? std::string_view(normalized) : raw;
    if (regex)
        regex->split(text, [&](std::string_view piece) { bpe(piece, out); });
    else
        PreTokenizer(text).run([&](std::string_view piece) { bpe(piece, out); });
}

// Longest added token starting at pos, or null.
const AddedToken* BpeTokenizer::Impl::addedAt(std::string_view text, size_t pos) const
{
    if (!addedFirstByte[uint8_t(text[pos])]) return nullptr;
    const AddedToken* best = nullptr;
    for (const AddedToken& t : added)
        if (text.compare(pos, t.content.size(), t.content) == 0 && (!best || t.content.size() > best->content.size()))
            best = &t;
    return best;
}

// Added tokens are cut out of the text first (leftmost, then longest match), as transformers does; the text
// between them is pre-tokenized on its own. lstrip/rstrip tokens swallow the whitespace beside them.
void BpeTokenizer::Impl::encodeText(std::string_view text, std::vector<int64_t>& out) const
{
    if (added.empty()) {
        encodeSegment(text, out);
        return;
    }
    size_t segStart = 0, pos = 0;
    while (pos < text.size()) {
        const AddedToken* t = addedAt(text, pos);
        if (!t) {
            ++pos;
            continue;
        }
        const size_t segEnd = t->lstrip ? trimTrailingSpace(text, segStart, pos) : pos;
        encodeSegment(text.substr(segStart, segEnd - segStart), out);
        out.push_back(t->id);
        pos += t->content.size();
        size_t len = 0;
        if (t->rstrip)
            while (pos < text.size() && isSpaceAt(text, pos, len)) pos += len;
        segStart = pos;
    }
    encodeSegment(text.substr(segStart), out);
}

// ---------------------------------------------------------------------------------------------------------

BpeTokenizer::BpeTokenizer() : m_impl(std::make_unique<Impl>()) {}
BpeTokenizer::~BpeTokenizer() = default;

std::unique_ptr<BpeTokenizer> BpeTokenizer::fromVocabMerges(const std::filesystem::path& vocabJson,
                                                            const std::filesystem::path& mergesTxt)
{
    const auto vocab = parseVocab(readJson(vocabJson), vocabJson, "vocabulary");
    const MergeList merges = parseMergesTxt(mergesTxt);
    std::unique_ptr<BpeTokenizer> tok(new BpeTokenizer());
    // The slow GPT2Tokenizer registers <|endoftext|> (its unk/bos/eos) as a special token.
    std::vector<AddedToken> added;
    for (const auto& [token, id] : vocab)
        if (token == "<|endoftext|>") added.push_back({token, id});
    tok->m_impl->build(vocab, merges, added);
    tok->m_impl->unkId = tok->tokenId("<|endoftext|>");
    return tok;
}

std::unique_ptr<BpeTokenizer> BpeTokenizer::fromTokenizerJson(const std::filesystem::path& tokenizerJson)
{
    TokenizerJson parsed;
    try {
        parsed = parseTokenizerJson(tokenizerJson);
    } catch (const json::exception& e) {   // a field of an unexpected JSON type
        fail(tokenizerJson, std::string("unexpected content (") + e.what() + ")");
    }
    std::unique_ptr<BpeTokenizer> tok(new BpeTokenizer());
    tok->m_impl->build(parsed.vocab, parsed.merges, std::move(parsed.added));
    tok->m_impl->addPrefixSpace = parsed.pipeline.addPrefixSpace;
    tok->m_impl->nfc = parsed.pipeline.nfc;
    tok->m_impl->ignoreMerges = parsed.ignoreMerges;
    // GPT-2's own pattern keeps the hand-written pre-tokenizer: it gives the same pieces (tests/tokenizer_bpe)
    // and is faster (basis-cli bench-tokenizer).
    if (!parsed.pipeline.splitPattern.empty() && parsed.pipeline.splitPattern != kGpt2PreTokenizerPattern)
        tok->m_impl->regex = std::make_unique<RegexPreTokenizer>(parsed.pipeline.splitPattern, tokenizerJson.string());
    if (!parsed.unkToken.empty()) tok->m_impl->unkId = tok->tokenId(parsed.unkToken);
    return tok;
}

std::vector<int64_t> BpeTokenizer::encode(const std::string& text) const
{
    std::vector<int64_t> out;
    out.reserve(text.size() / 3 + 4);
    size_t len = 0;
    // tokenizers' ByteLevel(add_prefix_space) adds the space only when the text does not start with one.
    if (m_impl->addPrefixSpace && !text.empty() && !isSpaceAt(text, 0, len))
        m_impl->encodeText(" " + text, out);
    else
        m_impl->encodeText(text, out);
    return out;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const
{
    const Impl& d = *m_impl;
    std::string text, bytes;
    for (const int64_t id : ids) {
        if (id < 0 || size_t(id) >= d.idKind.size() || d.idKind[size_t(id)] == 0) continue;   // not a token
        if (id == bosId() || id == eosId()) continue;
        if (d.idKind[size_t(id)] == 2) {
            // Added tokens are text, not byte-level: the pending bytes are decoded on their own first.
            appendValidUtf8(text, bytes);
            bytes.clear();
            text += d.idBytes[size_t(id)];
        } else {
            bytes += d.idBytes[size_t(id)];
        }
    }
    appendValidUtf8(text, bytes);
    return text;
}

int64_t BpeTokenizer::vocabSize() const { return m_impl->vocabSize; }

void BpeTokenizer::setPreTokenizerRegex(const std::string& pattern)
{
    m_impl->regex = std::make_unique<RegexPreTokenizer>(pattern, "pre-tokenizer pattern");
}

bool BpeTokenizer::usesRegexPreTokenizer() const { return m_impl->regex != nullptr; }
bool BpeTokenizer::normalizesNfc() const { return m_impl->nfc; }

int64_t BpeTokenizer::tokenId(const std::string& token) const
{
    const auto it = m_impl->tokenIds.find(token);
    return it == m_impl->tokenIds.end() ? -1 : it->second;
}

std::vector<std::string> gpt2PreTokenize(const std::string& text)
{
    std::vector<std::string> pieces;
    PreTokenizer(text).run([&](std::string_view piece) { pieces.emplace_back(piece); });
    return pieces;
}

} // namespace basis
