#include "datasets.h"

#include "atomic_file.h"
#include "error.h"
#include "json_io.h"
#include "resources.h"

#include <nlohmann/json.hpp>

#include <sstream>

namespace fs = std::filesystem;

namespace basis {

namespace {

struct Preset {
    const char* name;
    const char* folder;
    const char* train;
    const char* valid;
    const char* test;
};

// The file names of the usual distributions (raw WikiText-2, Mikolov PTB, allenai/c4 en JSONL, TinyStories split).
const Preset kPresets[] = {
    {"wikitext2", "wikitext-2-raw", "wiki.train.raw", "wiki.valid.raw", "wiki.test.raw"},
    {"ptb", "ptb", "ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"},
    {"c4", "c4", "c4-train.jsonl", "c4-validation.jsonl", "c4-validation.jsonl"},
    {"tinystories", "tinystories-valid", "calib.txt", "eval.txt", "eval.txt"},
};

const Preset& preset(const std::string& name)
{
    const std::string canonical = canonicalDatasetName(name);
    for (const Preset& p : kPresets)
        if (canonical == p.name)
            return p;
    throw Error("unknown dataset '" + name + "'");   // unreachable: canonicalDatasetName throws first
}

std::string normaliseSplit(const std::string& split)
{
    if (split == "train" || split == "calibration")
        return "train";
    if (split == "valid" || split == "validation")
        return "valid";
    if (split == "test" || split == "evaluation")
        return "test";
    throw Error("unknown dataset split '" + split + "' (known: test, valid, train)");
}

bool blank(const std::string& line)
{
    return line.find_first_not_of(" \t\r\n\v\f") == std::string::npos;
}

std::string trim(const std::string& s)
{
    const auto b = s.find_first_not_of(" \t\r\n\v\f");
    if (b == std::string::npos)
        return {};
    const auto e = s.find_last_not_of(" \t\r\n\v\f");
    return s.substr(b, e - b + 1);
}

// Hugging Face text datasets: a row per line of the file, made by `row`, the rows joined with "\n\n".
template <typename RowFn>
std::string joinRows(const std::string& raw, int64_t& rows, RowFn row)
{
    std::istringstream in(raw);
    std::string line, text;
    rows = 0;
    while (std::getline(in, line)) {
        if (rows++ > 0)
            text += "\n\n";
        text += row(line);
    }
    return text;
}

// wikitext-2-raw-v1: each line with its "\n", blank lines as "".
std::string wikiTextRow(const std::string& line)
{
    return blank(line) ? std::string() : line + "\n";
}

std::string joinC4(const std::string& raw, const fs::path& file, int64_t maxDocuments, int64_t& rows)
{
    std::istringstream in(raw);
    std::string line, text;
    rows = 0;
    int64_t lineNo = 0;
    while (std::getline(in, line)) {
        ++lineNo;
        if (blank(line))
            continue;
        if (maxDocuments > 0 && rows >= maxDocuments)
            break;
        const nlohmann::json doc =
            parseJson(file.string() + ":" + std::to_string(lineNo), line.data(), line.size(), {"the line"});
        if (!doc.is_object() || !doc.contains("text") || !doc["text"].is_string())
            throw Error(file.string() + ":" + std::to_string(lineNo) + ": a c4 document needs a string field 'text'");
        if (rows++ > 0)
            text += "\n\n";
        text += doc["text"].get<std::string>();
    }
    if (rows == 0)
        throw Error(file.string() + ": no documents");
    return text;
}

} // namespace

const std::vector<std::string>& datasetPresets()
{
    static const std::vector<std::string> names = {"wikitext2", "ptb", "c4", "tinystories"};
    return names;
}

std::string canonicalDatasetName(const std::string& name)
{
    if (name == "wikitext" || name == "wikitext2" || name == "wikitext-2")
        return "wikitext2";
    for (const std::string& n : datasetPresets())
        if (n == name)
            return n;
    throw Error("unknown dataset '" + name + "' (known: wikitext2 (or wikitext), ptb, c4, tinystories)");
}

fs::path datasetPath(const std::string& name, const std::string& split, const fs::path& dataDir)
{
    const Preset& p = preset(name);
    const std::string s = normaliseSplit(split);
    return dataDir / p.folder / (s == "train" ? p.train : s == "valid" ? p.valid : p.test);
}

fs::path presetDataDir(const std::string& name, const std::string& split, const fs::path& dataDir)
{
    if (!dataDir.empty())
        return dataDir;
    const fs::path builtin = builtinDataDir();
    if (!builtin.empty() && fs::exists(datasetPath(name, split, builtin)))
        return builtin;
    throw Error("dataset '" + canonicalDatasetName(name) + "' needs a data directory (--data-dir or basis_studio.data_dir) holding " +
                datasetPath(name, split, "").string() + " (the built-in data" +
                (builtin.empty() ? std::string(" was not found") : " in " + builtin.string() + " holds only tinystories") + ")");
}

DatasetText loadTextFile(const fs::path& file)
{
    DatasetText d;
    d.file = file;
    d.text = readFile(file);
    d.documents = 1;
    d.recipe = file.filename().string() + ": the file as it is, one string";
    return d;
}

DatasetText loadDataset(const std::string& name, const fs::path& dataDir, const DatasetOptions& options)
{
    DatasetText d;
    d.name = canonicalDatasetName(name);
    d.split = normaliseSplit(options.split);
    d.file = datasetPath(d.name, d.split, presetDataDir(d.name, d.split, dataDir));
    if (!fs::exists(d.file))
        throw Error("dataset '" + d.name + "' (" + d.split + "): " + d.file.string() +
                    " not found; put the file there or give a text file instead");
    const std::string raw = readFile(d.file);
    const std::string file = d.file.filename().string();
    if (d.name == "wikitext2") {
        d.text = joinRows(raw, d.documents, wikiTextRow);
        d.recipe = file + ": the Hugging Face wikitext-2-raw-v1 rows (each line with its newline, blank lines empty), "
                          "joined with \"\\n\\n\"";
    } else if (d.name == "ptb") {
        d.text = joinRows(raw, d.documents, trim);   // ptb_text_only: each line stripped
        d.recipe = file + ": the Hugging Face ptb_text_only sentences (each line stripped), joined with \"\\n\\n\"";
    } else if (d.name == "c4") {
        d.text = joinC4(raw, d.file, options.maxDocuments, d.documents);
        d.recipe = file + ": the 'text' field of the first " + std::to_string(d.documents) +
                   " JSONL documents, joined with \"\\n\\n\"";
    } else {
        d.text = raw;
        d.documents = 1;
        d.recipe = file + ": the file as it is, one string (stories separated by blank lines)";
    }
    return d;
}

} // namespace basis
