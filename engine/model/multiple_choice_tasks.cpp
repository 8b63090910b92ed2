#include "multiple_choice_tasks.h"

#include "atomic_file.h"
#include "error.h"
#include "json_io.h"

#include <algorithm>
#include <sstream>

namespace basis {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw Error(where + ": " + what); }

const json& field(const json& doc, const std::string& key, const std::string& where)
{
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null())
        fail(where, "missing field '" + key + "'");
    return *it;
}

std::string stringField(const json& doc, const std::string& key, const std::string& where)
{
    const json& v = field(doc, key, where);
    if (!v.is_string())
        fail(where, "field '" + key + "' must be a string");
    return v.get<std::string>();
}

std::vector<std::string> stringList(const json& v, const std::string& key, const std::string& where)
{
    if (!v.is_array())
        fail(where, "field '" + key + "' must be a list of strings");
    if (v.empty())
        fail(where, "empty choice list '" + key + "'");
    std::vector<std::string> out;
    for (const json& s : v) {
        if (!s.is_string())
            fail(where, "field '" + key + "' must be a list of strings");
        out.push_back(s.get<std::string>());
    }
    return out;
}

// An integer label: a JSON integer or a string of digits (Hugging Face hellaswag stores "3").
int64_t indexField(const json& doc, const std::string& key, const std::string& where)
{
    const json& v = field(doc, key, where);
    if (v.is_number_integer())
        return v.get<int64_t>();
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (!s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return std::stoll(s);
    }
    fail(where, "field '" + key + "' must be an integer label");
}

void checkGold(int64_t gold, size_t choices, const std::string& key, const std::string& where)
{
    if (gold < 0 || gold >= static_cast<int64_t>(choices))
        fail(where, "label '" + key + "' = " + std::to_string(gold) + " out of range for " +
                        std::to_string(choices) + " choices (expected 0.." + std::to_string(choices - 1) + ")");
}

std::string strip(const std::string& s)
{
    const char* ws = " \t\n\r\v\f";
    const size_t b = s.find_first_not_of(ws);
    if (b == std::string::npos)
        return {};
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Python's str.capitalize() on ASCII letters (non-ASCII characters are left as they are).
std::string capitalize(std::string s)
{
    for (size_t i = 0; i < s.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80)
            s[i] = static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
    }
    return s;
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to)
{
    size_t pos = 0;
    while ((pos = s.find(from, pos)) != std::string::npos) {
        s.replace(pos, from.size(), to);
        pos += to.size();
    }
    return s;
}

// ARC and OpenBookQA: Hugging Face form {"choices": {"text": [...], "label": [...]}} or the original
// {"question": {"stem", "choices": [{"text", "label"}]}}. Returns texts and labels.
void arcChoices(const json& choices, const std::string& where, std::vector<std::string>& texts,
                std::vector<std::string>& labels)
{
    if (choices.is_object()) {
        texts = stringList(field(choices, "text", where), "choices.text", where);
        labels = stringList(field(choices, "label", where), "choices.label", where);
        if (labels.size() != texts.size())
            fail(where, "choices.text and choices.label differ in length");
        return;
    }
    if (!choices.is_array())
        fail(where, "field 'choices' must be an object {text, label} or a list of {text, label}");
    if (choices.empty())
        fail(where, "empty choice list 'choices'");
    for (const json& c : choices) {
        if (!c.is_object())
            fail(where, "each choice must be an object {text, label}");
        texts.push_back(stringField(c, "text", where));
        labels.push_back(stringField(c, "label", where));
    }
}

int64_t answerIndex(const json& doc, const std::vector<std::string>& labels, const std::string& where)
{
    std::string key = stringField(doc, "answerKey", where);
    key.erase(0, key.find_first_not_of(" \t"));   // lm-eval: answerKey.lstrip()
    auto it = std::find(labels.begin(), labels.end(), key);
    if (it == labels.end())
        fail(where, "answerKey '" + key + "' is not one of the choice labels");
    return it - labels.begin();
}

McItem arcItem(const json& doc, const std::string& stemKey, bool questionAnswerPrompt, const std::string& where)
{
    std::string stem;
    std::vector<std::string> texts, labels;
    const json* q = doc.contains("question") ? &doc["question"] : nullptr;
    if (q && q->is_object()) {   // original ARC / OpenBookQA files
        stem = stringField(*q, "stem", where);
        arcChoices(field(*q, "choices", where), where, texts, labels);
    } else {
        stem = stringField(doc, stemKey, where);
        arcChoices(field(doc, "choices", where), where, texts, labels);
    }
    const std::string context = questionAnswerPrompt ? "Question: " + stem + "\nAnswer:" : stem;
    return makeSharedContextItem(context, texts, answerIndex(doc, labels, where));
}

McItem hellaswagItem(const json& doc, const std::string& where)
{
    std::string context;
    if (doc.contains("query")) {   // already preprocessed (lm-eval's processed docs, klosax's text data)
        context = stringField(doc, "query", where);
    } else {
        const std::string ctx = stringField(doc, "ctx_a", where) + " " + capitalize(stringField(doc, "ctx_b", where));
        context = hellaswagPreprocess(stringField(doc, "activity_label", where) + ": " + ctx);
    }
    const std::string key = doc.contains("endings") || !doc.contains("choices") ? "endings" : "choices";
    std::vector<std::string> endings = stringList(field(doc, key, where), key, where);
    for (std::string& e : endings)
        e = hellaswagPreprocess(e);   // idempotent on endings that are already preprocessed
    const std::string labelKey = doc.contains("label") || !doc.contains("gold") ? "label" : "gold";
    const int64_t gold = indexField(doc, labelKey, where);
    checkGold(gold, endings.size(), labelKey, where);
    return makeSharedContextItem(context, endings, gold);
}

// Partial scoring (lm-eval's winogrande): the context is the sentence up to "_" with the option filled in, the
// continuation the rest of the sentence, the same for both options.
McItem winograndeItem(const json& doc, const std::string& where)
{
    const std::string sentence = stringField(doc, "sentence", where);
    const size_t blank = sentence.find('_');
    if (blank == std::string::npos)
        fail(where, "field 'sentence' has no '_' blank");
    const std::string options[2] = {stringField(doc, "option1", where), stringField(doc, "option2", where)};
    const int64_t answer = indexField(doc, "answer", where);
    if (answer != 1 && answer != 2)
        fail(where, "label 'answer' = " + std::to_string(answer) + " out of range (expected \"1\" or \"2\")");
    McItem item;
    item.gold = answer - 1;
    const std::string continuation = " " + strip(sentence.substr(blank + 1));
    for (const std::string& option : options) {
        const std::string context = sentence.substr(0, blank) + option;
        item.choices.push_back({context, continuation, context});
    }
    return item;
}

McItem boolqItem(const json& doc, const std::string& where)
{
    const std::string context = stringField(doc, "passage", where) + "\nQuestion: " + stringField(doc, "question", where) +
                                "?\nAnswer:";
    int64_t gold = 0;
    if (doc.contains("answer")) {   // the original BoolQ files
        if (!doc["answer"].is_boolean())
            fail(where, "field 'answer' must be true or false");
        gold = doc["answer"].get<bool>() ? 1 : 0;
    } else {                        // super_glue: label 0 = no, 1 = yes
        gold = indexField(doc, "label", where);
        checkGold(gold, 2, "label", where);
    }
    return makeSharedContextItem(context, {"no", "yes"}, gold);
}

McItem genericItem(const json& doc, const std::string& where)
{
    const std::string context = stringField(doc, "context", where);
    const std::vector<std::string> choices = stringList(field(doc, "choices", where), "choices", where);
    const int64_t gold = indexField(doc, "label", where);
    checkGold(gold, choices.size(), "label", where);
    return makeSharedContextItem(context, choices, gold);
}

} // namespace

McItem makeSharedContextItem(const std::string& context, const std::vector<std::string>& choices, int64_t gold)
{
    McItem item;
    item.gold = gold;
    for (const std::string& c : choices)
        item.choices.push_back({context, " " + c, c});
    return item;
}

const std::vector<McTaskInfo>& mcTasks()
{
    static const std::vector<McTaskInfo> tasks = {
        {"hellaswag", true, "query (or activity_label, ctx_a, ctx_b), endings, label"},
        {"arc_easy", true, "question, choices {text, label}, answerKey"},
        {"arc_challenge", true, "question, choices {text, label}, answerKey"},
        {"piqa", true, "goal, sol1, sol2, label"},
        {"winogrande", false, "sentence (with _), option1, option2, answer (\"1\" or \"2\")"},
        {"boolq", false, "passage, question, answer (bool) or label (0 = no, 1 = yes)"},
        {"openbookqa", true, "question_stem, choices {text, label}, answerKey"},
        {"generic", true, "context, choices (each scored as \" \" + choice), label"},
    };
    return tasks;
}

const McTaskInfo& mcTask(const std::string& name)
{
    for (const McTaskInfo& t : mcTasks())
        if (t.name == name)
            return t;
    std::string names;
    for (const McTaskInfo& t : mcTasks())
        names += (names.empty() ? "" : ", ") + t.name;
    throw Error("unknown task '" + name + "' (expected one of: " + names + ")");
}

McItem mcItemFromJson(const std::string& task, const json& doc, const std::string& where)
{
    mcTask(task);
    if (!doc.is_object())
        fail(where, "expected a JSON object");
    if (task == "hellaswag")
        return hellaswagItem(doc, where);
    if (task == "arc_easy" || task == "arc_challenge")
        return arcItem(doc, "question", true, where);
    if (task == "openbookqa")
        return arcItem(doc, "question_stem", false, where);
    if (task == "piqa") {
        const std::string context = "Question: " + stringField(doc, "goal", where) + "\nAnswer:";
        const int64_t gold = indexField(doc, "label", where);
        checkGold(gold, 2, "label", where);
        return makeSharedContextItem(context, {stringField(doc, "sol1", where), stringField(doc, "sol2", where)}, gold);
    }
    if (task == "winogrande")
        return winograndeItem(doc, where);
    if (task == "boolq")
        return boolqItem(doc, where);
    return genericItem(doc, where);
}

std::vector<McItem> readMcTaskFile(const std::string& task, const std::filesystem::path& file, int64_t limit)
{
    mcTask(task);
    std::istringstream in(readFile(file));
    std::vector<McItem> items;
    std::string line;
    int64_t number = 0;
    while ((limit <= 0 || static_cast<int64_t>(items.size()) < limit) && std::getline(in, line)) {
        ++number;
        if (strip(line).empty())
            continue;
        const std::string where = file.string() + ":" + std::to_string(number);
        json doc;
        doc = parseJson(where, line.data(), line.size(), {"the line"});
        McItem item = mcItemFromJson(task, doc, where);
        item.line = number;
        items.push_back(std::move(item));
    }
    if (items.empty())
        throw Error(file.string() + ": no " + task + " documents (the file is empty)");
    return items;
}

namespace {

// The reference's re.sub("\\[.*?\\]", "", s): each '[' up to the first ']' after it on the same line goes.
std::string withoutBracketed(const std::string& s)
{
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        if (s[i] == '[') {
            const size_t close = s.find_first_of("]\n\r", i + 1);
            if (close != std::string::npos && s[close] == ']') {
                i = close + 1;
                continue;
            }
        }
        out += s[i++];
    }
    return out;
}

} // namespace

std::string hellaswagPreprocess(const std::string& text)
{
    const std::string s = withoutBracketed(replaceAll(strip(text), " [title]", ". "));
    return replaceAll(s, "  ", " ");
}

int64_t utf8Length(const std::string& text)
{
    return std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

} // namespace basis
