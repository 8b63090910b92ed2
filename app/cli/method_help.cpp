#include "method_help.h"

#include "method_registry.h"

#include <vector>

namespace basis::cli {

std::string methodFlagHelp()
{
    const std::vector<const CompressionMethod*> all = methods();
    std::string s;
    for (size_t i = 0; i < all.size(); ++i)
        s += (i == 0 ? "" : i + 1 == all.size() ? " or " : ", ") + all[i]->name();
    return s;
}

namespace {

// Words wrapped at `width` columns, every line indented by `indent` spaces.
std::string wrapped(const std::string& text, size_t indent, size_t width)
{
    std::string out, line;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find(' ', start);
        if (end == std::string::npos)
            end = text.size();
        const std::string word = text.substr(start, end - start);
        if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
            out += std::string(indent, ' ') + line + "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
        start = end + 1;
    }
    if (!line.empty())
        out += std::string(indent, ' ') + line + "\n";
    return out;
}

} // namespace

std::string methodsFooter()
{
    std::string s = "Methods:\n";
    for (const CompressionMethod* m : methods())
        s += "  " + m->name() + " (" + m->displayName() + ")\n" + wrapped(m->description(), 4, 100);
    return s;
}

std::string settingHelp(const char* key)
{
    std::string help, users;
    size_t count = 0;
    const std::vector<const CompressionMethod*> all = methods();
    for (const CompressionMethod* m : all) {
        for (const MethodSetting& s : m->settings()) {
            if (s.key != key)
                continue;
            if (help.empty())
                help = s.help;
            users += (users.empty() ? "" : ", ") + m->name();
            ++count;
        }
    }
    return count == all.size() ? help : help + " (read by " + users + ")";
}

} // namespace basis::cli
