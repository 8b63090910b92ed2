// Task files: each task's field mapping builds lm-eval's contexts and choices; bad files fail naming file and line.
#include "test_support.h"

#include "atomic_file.h"
#include "multiple_choice_tasks.h"

#include <gtest/gtest.h>

namespace {

using basis::McItem;

// Writes `content` to a scratch file and reads it under `task`.
std::vector<McItem> readInline(const std::string& task, const std::string& content, std::filesystem::path* pathOut = nullptr)
{
    const auto path = basis::test::scratchDir("mc-" + task) / (task + ".jsonl");
    basis::writeFileAtomically(path, content);
    if (pathOut)
        *pathOut = path;
    return basis::readMcTaskFile(task, path);
}

void expectChoice(const McItem& item, size_t c, const std::string& context, const std::string& continuation,
                  const std::string& text)
{
    ASSERT_LT(c, item.choices.size());
    EXPECT_EQ(item.choices[c].context, context);
    EXPECT_EQ(item.choices[c].continuation, continuation);
    EXPECT_EQ(item.choices[c].text, text);
}

TEST(McTasks, HellaswagPreprocessedQuery)
{
    const auto items = readInline("hellaswag",
        R"({"ind": 0, "query": "Roof shingle removal: A man is sitting on a roof. he", "label": 3, "endings": ["a.", "b [step] c.", "c", "d"]})" "\n");
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].gold, 3);
    EXPECT_EQ(items[0].line, 1);
    ASSERT_EQ(items[0].choices.size(), 4u);
    expectChoice(items[0], 0, "Roof shingle removal: A man is sitting on a roof. he", " a.", "a.");
    expectChoice(items[0], 1, "Roof shingle removal: A man is sitting on a roof. he", " b c.", "b c.");
}

TEST(McTasks, HellaswagOriginalFieldsArePreprocessedAsLmEval)
{
    // ctx_b is capitalized (Python str.capitalize: the rest lower-cased), [title] becomes ". ", markers go.
    const auto items = readInline("hellaswag",
        R"({"activity_label": "Making a cake", "ctx_a": "[header] How to bake. [title] Mix flour.", "ctx_b": "then ADD eggs", "endings": [" Stir well.  ", "Eat [substeps] it."], "label": "1"})" "\n");
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].gold, 1);
    expectChoice(items[0], 0, "Making a cake: How to bake.. Mix flour. Then add eggs", " Stir well.", "Stir well.");
    expectChoice(items[0], 1, "Making a cake: How to bake.. Mix flour. Then add eggs", " Eat it.", "Eat it.");
}

TEST(McTasks, ArcHuggingFaceAndOriginalForms)
{
    const auto items = readInline("arc_easy",
        R"({"id": "x", "question": "Which is a gas?", "choices": {"text": ["ice", "steam"], "label": ["A", "B"]}, "answerKey": "B"})" "\n"
        "\n"
        R"({"question": {"stem": "Pick 2", "choices": [{"text": "one", "label": "1"}, {"text": "two", "label": "2"}]}, "answerKey": "2"})" "\n");
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[0].gold, 1);
    expectChoice(items[0], 1, "Question: Which is a gas?\nAnswer:", " steam", "steam");
    EXPECT_EQ(items[1].gold, 1);
    EXPECT_EQ(items[1].line, 3);   // the blank line counts
    expectChoice(items[1], 0, "Question: Pick 2\nAnswer:", " one", "one");
    const auto challenge = readInline("arc_challenge",
        R"({"question": "Q?", "choices": {"text": ["a", "b", "c"], "label": ["A", "B", "C"]}, "answerKey": "A"})" "\n");
    EXPECT_EQ(challenge[0].gold, 0);
    EXPECT_EQ(challenge[0].choices.size(), 3u);
}

TEST(McTasks, Piqa)
{
    const auto items = readInline("piqa", R"({"goal": "Open a jar", "sol1": "twist the lid", "sol2": "eat the lid", "label": 0})" "\n");
    EXPECT_EQ(items[0].gold, 0);
    expectChoice(items[0], 0, "Question: Open a jar\nAnswer:", " twist the lid", "twist the lid");
    expectChoice(items[0], 1, "Question: Open a jar\nAnswer:", " eat the lid", "eat the lid");
}

TEST(McTasks, WinograndePartialScoring)
{
    const auto items = readInline("winogrande",
        R"({"sentence": "Sarah was a much better surgeon than Maria so _ always got the harder cases.", "option1": "Sarah", "option2": "Maria", "answer": "1"})" "\n");
    EXPECT_EQ(items[0].gold, 0);
    const std::string rest = " always got the harder cases.";
    expectChoice(items[0], 0, "Sarah was a much better surgeon than Maria so Sarah", rest,
                 "Sarah was a much better surgeon than Maria so Sarah");
    expectChoice(items[0], 1, "Sarah was a much better surgeon than Maria so Maria", rest,
                 "Sarah was a much better surgeon than Maria so Maria");
    EXPECT_FALSE(basis::mcTask("winogrande").accNorm);
}

TEST(McTasks, BoolqBothLabelForms)
{
    const auto items = readInline("boolq",
        R"({"passage": "Water boils at 100 C.", "question": "does water boil at 100 c", "answer": true})" "\n"
        R"({"passage": "P", "question": "q", "label": 0})" "\n");
    EXPECT_EQ(items[0].gold, 1);
    expectChoice(items[0], 0, "Water boils at 100 C.\nQuestion: does water boil at 100 c?\nAnswer:", " no", "no");
    expectChoice(items[0], 1, "Water boils at 100 C.\nQuestion: does water boil at 100 c?\nAnswer:", " yes", "yes");
    EXPECT_EQ(items[1].gold, 0);
}

TEST(McTasks, OpenbookqaHuggingFaceAndOriginalForms)
{
    const auto items = readInline("openbookqa",
        R"({"id": "7", "question_stem": "The sun is", "choices": {"text": ["cold", "a star"], "label": ["A", "B"]}, "answerKey": "B"})" "\n"
        R"({"question": {"stem": "Ice is", "choices": [{"text": "hot", "label": "A"}, {"text": "cold", "label": "B"}]}, "answerKey": "B"})" "\n");
    EXPECT_EQ(items[0].gold, 1);
    expectChoice(items[0], 1, "The sun is", " a star", "a star");
    expectChoice(items[1], 0, "Ice is", " hot", "hot");
}

TEST(McTasks, Generic)
{
    const auto items = readInline("generic", R"({"context": "The sky is", "choices": ["blue", "green"], "label": 0})" "\n");
    EXPECT_EQ(items[0].gold, 0);
    expectChoice(items[0], 0, "The sky is", " blue", "blue");
}

TEST(McTasks, LimitReadsTheFirstItems)
{
    const auto path = basis::test::scratchDir("mc-limit") / "g.jsonl";
    basis::writeFileAtomically(path, R"({"context": "a", "choices": ["b"], "label": 0})" "\n"
                                     R"({"context": "c", "choices": ["d"], "label": 0})" "\n"
                                     "not json, never read\n");
    EXPECT_EQ(basis::readMcTaskFile("generic", path, 2).size(), 2u);
}

TEST(McTasks, Utf8LengthCountsCodePointsAsPythonLen)
{
    EXPECT_EQ(basis::utf8Length("abc"), 3);
    EXPECT_EQ(basis::utf8Length("caf\xc3\xa9"), 4);
}

// Errors name the file and the line, and say what is wrong.
void expectFileError(const std::string& task, const std::string& content, const std::string& line, const std::string& what)
{
    const auto path = basis::test::scratchDir("mc-error") / "bad.jsonl";
    basis::writeFileAtomically(path, content);
    basis::test::expectError([&] { basis::readMcTaskFile(task, path); }, {path.string() + ":" + line + ":", what});
}

const char* kGood = R"({"context": "a", "choices": ["b", "c"], "label": 1})" "\n";

TEST(McTaskErrors, LabelOutOfRange)
{
    expectFileError("generic", std::string(kGood) + R"({"context": "a", "choices": ["b", "c"], "label": 2})" "\n", "2",
                    "label 'label' = 2 out of range for 2 choices");
    expectFileError("hellaswag", R"({"query": "q", "endings": ["a", "b", "c", "d"], "label": -1})" "\n", "1", "out of range");
    expectFileError("winogrande", R"({"sentence": "A _ b", "option1": "x", "option2": "y", "answer": "3"})" "\n", "1", "out of range");
    expectFileError("arc_easy", R"({"question": "q", "choices": {"text": ["a"], "label": ["A"]}, "answerKey": "E"})" "\n", "1",
                    "answerKey 'E' is not one of the choice labels");
}

TEST(McTaskErrors, EmptyChoiceList)
{
    expectFileError("generic", std::string(kGood) + kGood + R"({"context": "a", "choices": [], "label": 0})" "\n", "3",
                    "empty choice list 'choices'");
    expectFileError("hellaswag", R"({"query": "q", "endings": [], "label": 0})" "\n", "1", "empty choice list 'endings'");
}

TEST(McTaskErrors, MissingField)
{
    expectFileError("generic", R"({"context": "a", "label": 0})" "\n", "1", "missing field 'choices'");
    expectFileError("piqa", R"({"goal": "g", "sol1": "a", "label": 0})" "\n", "1", "missing field 'sol2'");
    expectFileError("boolq", R"({"passage": "p", "question": "q"})" "\n", "1", "missing field 'label'");
    expectFileError("winogrande", R"({"sentence": "no blank", "option1": "x", "option2": "y", "answer": "1"})" "\n", "1",
                    "has no '_' blank");
}

TEST(McTaskErrors, InvalidJsonLineAndWrongTypes)
{
    expectFileError("generic", std::string(kGood) + "{\"context\": \"a\", \n", "2", "invalid JSON");
    expectFileError("generic", "[1, 2]\n", "1", "expected a JSON object");
    expectFileError("generic", R"({"context": "a", "choices": "b", "label": 0})" "\n", "1", "must be a list of strings");
    expectFileError("generic", R"({"context": "a", "choices": ["b"], "label": "first"})" "\n", "1", "must be an integer label");
}

TEST(McTaskErrors, UnknownTaskEmptyFileAndMissingFile)
{
    basis::test::expectError([] { basis::mcTask("mmlu"); }, {"unknown task 'mmlu'", "hellaswag", "winogrande"});
    const auto path = basis::test::scratchDir("mc-empty") / "empty.jsonl";
    basis::writeFileAtomically(path, "\n\n");
    basis::test::expectError([&] { basis::readMcTaskFile("piqa", path); }, {path.string(), "no piqa documents"});
    basis::test::expectError([&] { basis::readMcTaskFile("piqa", path.parent_path() / "nope.jsonl"); }, {"nope.jsonl"});
}

} // namespace
