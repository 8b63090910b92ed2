#include "tokenizer.h"

#include "bpe_tokenizer.h"
#include "atomic_file.h"
#include "error.h"
#include "json_io.h"
#include "sentencepiece_tokenizer.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <system_error>

namespace basis {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A freshly loaded tokenizer plus what loadTokenizer needs to finish it.
struct Loaded {
    std::unique_ptr<Tokenizer> tokenizer;
    std::function<int64_t(const std::string&)> idOf;   // vocabulary id of a token string, -1 when absent
    fs::path tokenizerJson;                            // set when loaded from tokenizer.json
};

bool isFile(const fs::path& p)
{
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

Loaded loadVocabulary(const fs::path& dir)
{
    Loaded out;
    if (isFile(dir / "tokenizer.model")) {
        // Preferred: checkpoints that ship both (Llama, Mistral) are SentencePiece models at heart.
        auto sp = SentencePieceTokenizer::load(dir / "tokenizer.model");
        const auto* raw = sp.get();
        out.idOf = [raw](const std::string& t) { return raw->pieceToId(t); };
        out.tokenizer = std::move(sp);
    } else if (isFile(dir / "tokenizer.json")) {
        auto bpe = BpeTokenizer::fromTokenizerJson(dir / "tokenizer.json");
        const auto* raw = bpe.get();
        out.idOf = [raw](const std::string& t) { return raw->tokenId(t); };
        out.tokenizer = std::move(bpe);
        out.tokenizerJson = dir / "tokenizer.json";
    } else if (isFile(dir / "vocab.json") && isFile(dir / "merges.txt")) {
        auto bpe = BpeTokenizer::fromVocabMerges(dir / "vocab.json", dir / "merges.txt");
        const auto* raw = bpe.get();
        out.idOf = [raw](const std::string& t) { return raw->tokenId(t); };
        out.tokenizer = std::move(bpe);
    } else {
        throw Error("no tokenizer found in " + dir.string()
                    + ": looked for tokenizer.model, tokenizer.json, and vocab.json + merges.txt");
    }
    return out;
}

// The file's JSON, or null when the file does not exist. Malformed JSON is an error naming the file.
json readOptionalJson(const fs::path& file)
{
    if (!isFile(file))
        return nullptr;
    json j = readJsonFile(file);
    if (!j.is_object())
        throw Error(file.string() + ": expected a JSON object");
    return j;
}

// A special-token entry is a string ("<s>") or an AddedToken object ({"content": "<s>", ...}); null or
// anything else counts as not given.
std::optional<std::string> tokenText(const json& file, const char* key)
{
    if (!file.is_object() || !file.contains(key))
        return std::nullopt;
    const json& v = file.at(key);
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v.at("content").is_string())
        return v.at("content").get<std::string>();
    return std::nullopt;
}

// config.json's bos_token_id / eos_token_id: an integer, or a list whose first entry is used.
std::optional<int64_t> configId(const json& config, const char* key)
{
    if (!config.is_object() || !config.contains(key))
        return std::nullopt;
    const json& v = config.at(key);
    const json& first = v.is_array() && !v.empty() ? v.front() : v;
    if (first.is_number_integer())
        return first.get<int64_t>();
    return std::nullopt;
}

struct FolderConfig {
    json tokenizerConfig, specialTokensMap, modelConfig;
};

// Where an id comes from, first hit wins: special_tokens_map.json (transformers lets it override
// tokenizer_config.json), tokenizer_config.json, then config.json's *_token_id, then the tokenizer's own.
// A token string missing from the vocabulary is passed over.
std::optional<int64_t> resolveSpecial(const Loaded& l, const FolderConfig& f, const char* tokenKey,
                                      const char* idKey, std::optional<int64_t> own)
{
    for (const json* file : {&f.specialTokensMap, &f.tokenizerConfig}) {
        if (const auto text = tokenText(*file, tokenKey)) {
            if (const int64_t id = l.idOf(*text); id >= 0)
                return id;
        }
    }
    if (const auto id = configId(f.modelConfig, idKey))
        return id;
    return own;
}

// tokenizer.json may add BOS itself through a TemplateProcessing post-processor (Llama 3 style) instead of
// an add_bos_token flag: treat a template that starts with a special token as "adds BOS".
bool templateAddsBos(const json& processor)
{
    if (!processor.is_object())
        return false;
    const std::string type = processor.value("type", "");
    if (type == "Sequence" && processor.contains("processors") && processor.at("processors").is_array()) {
        for (const json& p : processor.at("processors"))
            if (templateAddsBos(p))
                return true;
        return false;
    }
    if (type != "TemplateProcessing" || !processor.contains("single") || !processor.at("single").is_array())
        return false;
    const json& single = processor.at("single");
    return !single.empty() && single.front().is_object() && single.front().contains("SpecialToken");
}

bool tokenizerJsonAddsBos(const fs::path& tokenizerJson)
{
    const json j = readOptionalJson(tokenizerJson);
    return j.is_object() && j.contains("post_processor") && templateAddsBos(j.at("post_processor"));
}

// add_bos_token from tokenizer_config.json. When the key is absent we follow the tokenizer class's own
// default in transformers: LlamaTokenizer (and any SentencePiece model) adds BOS, GPT2Tokenizer does not
// (its add_bos_token defaults to False) unless a tokenizer.json template adds it.
bool resolveAddBos(const Loaded& l, const FolderConfig& f, const fs::path& configFile)
{
    const json& c = f.tokenizerConfig;
    if (c.is_object() && c.contains("add_bos_token") && !c.at("add_bos_token").is_null()) {
        if (!c.at("add_bos_token").is_boolean())
            throw Error(configFile.string() + ": add_bos_token must be true or false, found "
                        + describeJson(c.at("add_bos_token")));
        return c.at("add_bos_token").get<bool>();
    }
    const std::string cls = c.is_object() ? c.value("tokenizer_class", "") : "";
    if (l.tokenizer->kind() == "sentencepiece" || cls.find("Llama") != std::string::npos)
        return true;
    return !l.tokenizerJson.empty() && tokenizerJsonAddsBos(l.tokenizerJson);
}

} // namespace

std::unique_ptr<Tokenizer> loadTokenizer(const std::filesystem::path& modelDir)
{
    if (!std::filesystem::is_directory(modelDir))
        throw Error(modelDir.string() + ": not a folder (expected a Hugging Face model folder)");
    Loaded l = loadVocabulary(modelDir);
    FolderConfig f;
    f.tokenizerConfig = readOptionalJson(modelDir / "tokenizer_config.json");
    f.specialTokensMap = readOptionalJson(modelDir / "special_tokens_map.json");
    f.modelConfig = readOptionalJson(modelDir / "config.json");

    Tokenizer& tok = *l.tokenizer;
    const auto bos = resolveSpecial(l, f, "bos_token", "bos_token_id", tok.bosId());
    const auto eos = resolveSpecial(l, f, "eos_token", "eos_token_id", tok.eosId());
    tok.setSpecialTokens(bos, eos, resolveAddBos(l, f, modelDir / "tokenizer_config.json"));
    return std::move(l.tokenizer);
}

} // namespace basis
