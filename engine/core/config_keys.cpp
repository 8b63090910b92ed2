#include "config_keys.h"

#include "error.h"

#include <cmath>

namespace basis {

int64_t ConfigKeys::requiredInt(const char* key) const
{
    if (!has(key))
        fail("missing required key '" + m_prefix + key + "'");
    return toInt(key);
}

std::optional<int64_t> ConfigKeys::maybeInt(const char* key) const
{
    if (!has(key))
        return std::nullopt;
    const nlohmann::json& v = m_j.at(key);
    if (v.is_array())
        return !v.empty() && v[0].is_number_integer() ? std::optional<int64_t>(v[0].get<int64_t>()) : std::nullopt;
    return toInt(key);
}

double ConfigKeys::optDouble(const char* key, double fallback) const
{
    if (!has(key))
        return fallback;
    if (!m_j.at(key).is_number())
        fail("key '" + m_prefix + key + "' must be a number, found " + describeJson(m_j.at(key)));
    return m_j.at(key).get<double>();
}

bool ConfigKeys::optBool(const char* key, bool fallback) const
{
    if (!has(key))
        return fallback;
    if (!m_j.at(key).is_boolean())
        fail("key '" + m_prefix + key + "' must be true or false, found " + describeJson(m_j.at(key)));
    return m_j.at(key).get<bool>();
}

std::string ConfigKeys::optString(const char* key, const std::string& fallback) const
{
    if (!has(key))
        return fallback;
    if (!m_j.at(key).is_string())
        fail("key '" + m_prefix + key + "' must be a string, found " + describeJson(m_j.at(key)));
    return m_j.at(key).get<std::string>();
}

ConfigKeys ConfigKeys::object(const char* key) const
{
    if (!has(key) || !m_j.at(key).is_object())
        fail("key '" + m_prefix + key + "' must be an object");
    ConfigKeys nested(m_j.at(key), m_source);
    nested.m_prefix = m_prefix + key + ".";
    return nested;
}

void ConfigKeys::fail(const std::string& what) const
{
    throw Error(m_source + ": " + what);
}

int64_t ConfigKeys::toInt(const char* key) const
{
    const nlohmann::json& v = m_j.at(key);
    if (v.is_number_integer())
        return v.get<int64_t>();
    // 1e308 must not reach the cast (undefined behaviour beyond int64's range).
    if (v.is_number_float() && std::abs(v.get<double>()) < 9.2e18 && v.get<double>() == std::floor(v.get<double>()))
        return static_cast<int64_t>(v.get<double>());
    fail("key '" + m_prefix + key + "' must be an integer, found " + describeJson(v));
}

} // namespace basis
