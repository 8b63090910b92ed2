#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace basis {

// Writes content to a temporary file beside path, flushes it to disk, then renames it over path, so a
// reader never sees a half-written file and an earlier file survives any failure. Throws basis::Error.
void writeFileAtomically(const std::filesystem::path& path, const std::string& content);

// Reads a whole file; throws basis::Error naming it when it cannot be read.
std::string readFile(const std::filesystem::path& path);

// Reads and parses a JSON file; throws basis::Error "<file>: invalid JSON: ..." or naming an unreadable file.
nlohmann::json readJsonFile(const std::filesystem::path& path);

} // namespace basis
