#include "json_io.h"

#include "error.h"

#include <set>
#include <vector>

namespace basis {

namespace {

// A key for a one-line message: control characters shown as '?', very long keys cut short.
std::string shownKey(const std::string& key)
{
    std::string s = key.size() <= 60 ? key : key.substr(0, 57) + "...";
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20)
            c = '?';
    return s;
}

// "a.b[].c": object keys by name, array levels as [], the first 8 levels only.
std::string keyPath(const std::vector<std::string>& keys, const std::vector<bool>& isArray, size_t depth)
{
    std::string out;
    for (size_t i = 0; i < depth && i < keys.size(); ++i) {
        if (i == 8)
            return "'" + out + "...'";
        if (isArray[i])
            out += "[]";
        else if (!keys[i].empty())
            out += (out.empty() ? "" : ".") + shownKey(keys[i]);
    }
    return out.empty() ? "the top level" : "'" + out + "'";
}

} // namespace

nlohmann::json parseJson(const std::filesystem::path& file, const char* data, size_t size, const JsonParseOptions& o)
{
    auto fail = [&](const std::string& what) -> void { throw Error(file.string() + ": " + what); };
    std::vector<std::set<std::string>> seen;   // keys per open object, by depth
    std::vector<std::string> keys;             // the key being read at each depth
    std::vector<bool> isArray;                 // whether each open level is an array
    std::string duplicate;
    using Event = nlohmann::json::parse_event_t;
    auto callback = [&](int depth, Event event, nlohmann::json& parsed) {
        const auto level = static_cast<size_t>(depth);
        if (event == Event::object_start || event == Event::array_start) {
            if (depth >= kMaxJsonDepth)
                fail("value at " + keyPath(keys, isArray, level) + " is nested more than " +
                     std::to_string(kMaxJsonDepth) + " levels deep (no real file is; refusing " + o.what + ")");
            keys.resize(level + 1);
            isArray.resize(level + 1);
            seen.resize(level + 1);
            keys[level].clear();
            isArray[level] = event == Event::array_start;
            seen[level].clear();
        } else if (event == Event::key) {
            // A key event comes at the depth of the object's members, one below the object itself.
            const std::string key = parsed.get<std::string>();
            keys[level - 1] = key;
            if (o.rejectDuplicateKeys && duplicate.empty() && !seen[level - 1].insert(key).second)
                duplicate = level == 1 ? "duplicate " + o.topLevelKind + " '" + shownKey(key) + "'"
                                       : "duplicate key '" + shownKey(key) + "' in " + keyPath(keys, isArray, level - 1);
        }
        return true;
    };
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(data, data + size, callback);
    } catch (const nlohmann::json::parse_error& e) {
        fail("invalid JSON in " + o.what + ": " + e.what());
    } catch (const nlohmann::json::exception& e) {
        // out_of_range: a number beyond double (1e400) and the like.
        fail("invalid JSON in " + o.what + ": " + e.what());
    }
    if (!duplicate.empty())
        fail(duplicate + " in " + o.what);
    return json;
}

std::string describeJson(const nlohmann::json& value)
{
    if (value.is_object())
        return "an object";
    if (value.is_array())
        return "an array";
    const std::string text = value.dump();   // a scalar: bounded by the file, cut short here
    return text.size() <= 60 ? text : text.substr(0, 57) + "...";
}

} // namespace basis
