// json_check last-line|whole: reads standard input; `last-line` parses its last non-empty line, `whole` all of it,
// as one JSON object. Exit 0 and "ok: N keys" when it is one, 1 and the parser's message when not. A test tool
// for the --json contract (no Python, no jq on the build machines).
#include <nlohmann/json.hpp>

#include <iostream>
#include <iterator>
#include <string>

int main(int argc, char** argv)
{
    const std::string mode = argc > 1 ? argv[1] : "last-line";
    const std::string all{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    std::string text = all;
    if (mode == "last-line") {
        auto end = all.find_last_not_of("\r\n");
        if (end == std::string::npos) {
            std::cerr << "json_check: no output\n";
            return 1;
        }
        const auto begin = all.rfind('\n', end);
        text = all.substr(begin == std::string::npos ? 0 : begin + 1, end - (begin == std::string::npos ? 0 : begin + 1) + 1);
    } else if (mode != "whole") {
        std::cerr << "usage: json_check last-line|whole < output\n";
        return 2;
    }
    try {
        const nlohmann::json j = nlohmann::json::parse(text);
        if (!j.is_object()) {
            std::cerr << "json_check: not a JSON object: " << text.substr(0, 200) << "\n";
            return 1;
        }
        std::cout << "ok: " << j.size() << " keys\n";
        return 0;
    } catch (const nlohmann::json::exception& e) {
        std::cerr << "json_check: " << e.what() << "; the line was: " << text.substr(0, 200) << "\n";
        return 1;
    }
}
