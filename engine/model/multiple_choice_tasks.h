#pragma once
// Zero-shot multiple-choice task files (JSONL, one document per line) mapped to scoring requests the way
// lm-evaluation-harness builds them: hellaswag, arc_easy, arc_challenge, piqa, winogrande, boolq, openbookqa
// and a generic {"context", "choices", "label"} form. Torch-free.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace basis {

// One loglikelihood request: log p(continuation | context).
struct McChoice {
    std::string context;
    std::string continuation;   // what is scored (lm-eval: target delimiter " " + the choice)
    std::string text;           // lm-eval's doc_to_choice string: its length normalises acc_norm
};

struct McItem {
    std::vector<McChoice> choices;
    int64_t gold = 0;
    int64_t line = 0;           // 1-based line of the source file (0 when built in code)
};

// The same context for every choice, continuation = " " + choice (lm-eval's default target delimiter).
McItem makeSharedContextItem(const std::string& context, const std::vector<std::string>& choices, int64_t gold);

struct McTaskInfo {
    std::string name;
    bool accNorm = true;        // lm-eval reports acc_norm for this task (winogrande and boolq: acc only)
    std::string fields;         // the JSONL fields read, for help and errors
};

const std::vector<McTaskInfo>& mcTasks();
// Throws basis::Error "unknown task 'x' (expected one of: ...)".
const McTaskInfo& mcTask(const std::string& name);

// One document under a task's mapping. `where` ("file:line") prefixes every error: missing or ill-typed field,
// empty choice list, label out of range, winogrande sentence without "_".
McItem mcItemFromJson(const std::string& task, const nlohmann::json& doc, const std::string& where);

// Reads the first `limit` documents (0 = all) of a JSONL file; blank lines are skipped. Errors name the file
// and line: invalid JSON, not an object, and everything mcItemFromJson checks; an empty file is an error too.
std::vector<McItem> readMcTaskFile(const std::string& task, const std::filesystem::path& file, int64_t limit = 0);

// lm-eval's hellaswag preprocess(): strip, " [title]" -> ". ", drop "[...]" markers, "  " -> " ".
std::string hellaswagPreprocess(const std::string& text);

// Python's len() of a UTF-8 string (code points): lm-eval's acc_norm divides by len(choice).
int64_t utf8Length(const std::string& text);

} // namespace basis
