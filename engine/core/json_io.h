#pragma once
// JSON parsing for every file the project reads: a nesting limit no real Hugging Face file reaches, so that
// hostile input is rejected with the file and the key path instead of growing stacks, and messages that never
// serialise an unbounded value.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace basis {

// Deeper than any real config.json, tokenizer.json or safetensors header (they nest at most about 6 levels).
constexpr int kMaxJsonDepth = 64;

struct JsonParseOptions {
    std::string what = "the file";   // named in messages: "invalid JSON in <what>"
    bool rejectDuplicateKeys = false; // nlohmann (like Python's json) keeps the last value otherwise
    std::string topLevelKind = "key"; // what the root's keys are, for the duplicate message ("tensor" in a header)
};

// Parses `size` bytes of JSON; throws basis::Error "<file>: ..." naming the key path when the nesting is too deep.
nlohmann::json parseJson(const std::filesystem::path& file, const char* data, size_t size, const JsonParseOptions& options = {});

// A short description of a value for an error message: scalars as JSON (cut to 60 characters), containers by type.
std::string describeJson(const nlohmann::json& value);

} // namespace basis
