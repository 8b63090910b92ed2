#pragma once
// Named evaluation and calibration corpora under a data directory, and exactly how each becomes one string.
// The recipes follow the published Basis Sharing / SVD-LLM evaluation code (Hugging Face datasets rows joined
// with "\n\n"), so perplexities compare with the papers'. BOS is not part of the text: the caller's BOS policy
// adds it once at the start (tokenizeForEvaluation).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace basis {

struct DatasetOptions {
    std::string split = "test";   // test | valid | train (calibration)
    int64_t maxDocuments = 0;     // c4: first N documents (0 = every document in the file)
};

struct DatasetText {
    std::string name;              // canonical preset name
    std::string split;
    std::filesystem::path file;
    std::string text;
    int64_t documents = 0;         // rows (lines, sentences or documents) joined
    std::string recipe;            // one sentence: what was read and how it was joined
};

// wikitext2, ptb, c4, tinystories ("wikitext" is accepted for wikitext2).
const std::vector<std::string>& datasetPresets();
std::string canonicalDatasetName(const std::string& name);   // throws basis::Error for an unknown name

// The file of a preset's split under dataDir (it need not exist). "calibration" means train, "evaluation" test.
std::filesystem::path datasetPath(const std::string& name, const std::string& split, const std::filesystem::path& dataDir);

// The data folder a preset is read from: `dataDir` when given; else the data that ships with the program
// (resources/data, which holds tinystories) when it has the preset's file. Throws basis::Error saying a data folder
// is needed, and what it must hold, otherwise.
std::filesystem::path presetDataDir(const std::string& name, const std::string& split, const std::filesystem::path& dataDir);

// A plain text file as an evaluation text: read whole, as it is (the recipe says so).
DatasetText loadTextFile(const std::filesystem::path& file);

// Reads a preset (from presetDataDir). Errors name the preset and the file looked for (missing file, unknown split, bad JSONL line).
DatasetText loadDataset(const std::string& name, const std::filesystem::path& dataDir, const DatasetOptions& options = {});

} // namespace basis
