#pragma once
// Typed reading of config.json keys for the architecture files: every error names the file and the key.
#include "json_io.h"

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace basis {

class ConfigKeys {
public:
    ConfigKeys(const nlohmann::json& j, std::string source) : m_j(j), m_source(std::move(source)) {}

    const nlohmann::json& json() const { return m_j; }
    const std::string& source() const { return m_source; }
    bool has(const char* key) const { return m_j.contains(key) && !m_j.at(key).is_null(); }

    int64_t requiredInt(const char* key) const;
    int64_t optInt(const char* key, int64_t fallback) const { return has(key) ? toInt(key) : fallback; }
    // Some configs list several eos ids: keep the first.
    std::optional<int64_t> maybeInt(const char* key) const;
    double optDouble(const char* key, double fallback) const;
    bool optBool(const char* key, bool fallback) const;
    std::string optString(const char* key, const std::string& fallback) const;
    // The keys of a nested object (rope_scaling), with errors naming "parent.key".
    ConfigKeys object(const char* key) const;
    [[noreturn]] void fail(const std::string& what) const;

private:
    int64_t toInt(const char* key) const;

    const nlohmann::json& m_j;
    std::string m_source;
    std::string m_prefix;   // "rope_scaling." inside a nested object
};

} // namespace basis
