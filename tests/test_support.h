#pragma once
// Locating ../shared (models, data, golden files) from tests. Tests that need it skip with a clear
// message when it is absent; stories260K and the TinyStories texts come from resources/ (embedded_data.h).
#include "embedded_data.h"
#include "error.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <initializer_list>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace basis::test {

inline std::filesystem::path sharedDir()
{
    if (const char* env = std::getenv("BASIS_SHARED_DIR"); env && *env)
        return env;
    return BASIS_SHARED_DIR_DEFAULT;
}

inline std::filesystem::path sharedPath(const std::string& relative)
{
    if (auto embedded = embeddedCopy(relative))
        return *embedded;
    return sharedDir() / relative;
}

// A fresh empty folder under the build tree's temporary area, removed by the caller or left for inspection.
inline std::filesystem::path scratchDir(const std::string& name)
{
    // The process id keeps tests of one suite apart when ctest runs them in parallel processes.
    auto dir = std::filesystem::temp_directory_path() / ("basis-test-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

// Expects `fn` to throw basis::Error whose message contains every fragment.
template <typename Fn>
void expectError(Fn fn, std::initializer_list<std::string> fragments)
{
    try {
        fn();
        ADD_FAILURE() << "no error thrown";
    } catch (const basis::Error& e) {
        const std::string msg = e.what();
        for (const auto& f : fragments)
            EXPECT_NE(msg.find(f), std::string::npos) << "message '" << msg << "' lacks '" << f << "'";
    }
}

// A GoogleTest parameter name from a shape name ("llama-micro" -> "llama_micro").
inline std::string paramName(std::string name)
{
    for (char& c : name)
        if (c == '-')
            c = '_';
    return name;
}

} // namespace basis::test

#define BASIS_REQUIRE_SHARED(relative)                                                              \
    do {                                                                                              \
        if (!std::filesystem::exists(basis::test::sharedPath(relative)))                              \
            GTEST_SKIP() << "test data not found: " << basis::test::sharedPath(relative)              \
                         << " (set BASIS_SHARED_DIR to the shared/ folder)";                          \
    } while (0)
