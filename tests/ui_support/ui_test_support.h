#pragma once
// Helpers shared by the Qt Test suites of the GUI (tests/ui_*): where ../shared is, and a settings sandbox.
#include <QCoreApplication>
#include <QStandardPaths>
#include <QString>

#include <cstdlib>
#include <filesystem>

namespace basis::uitest {

inline std::filesystem::path sharedPath(const std::string& relative)
{
    const char* env = std::getenv("BASIS_SHARED_DIR");
    return std::filesystem::path(env && *env ? env : BASIS_SHARED_DIR_DEFAULT) / relative;
}

// QSettings and QStandardPaths of a test never touch the user's own (recent models, caches).
inline void sandboxSettings(const char* testName)
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("BasisStudioTests"));
    QCoreApplication::setApplicationName(QString::fromLatin1(testName));
}

} // namespace basis::uitest

// Skips the current Qt Test function, naming the missing file, when ../shared is absent.
#define BASIS_UI_REQUIRE_SHARED(relative)                                                                        \
    do {                                                                                                           \
        const auto p_ = basis::uitest::sharedPath(relative);                                                       \
        if (!std::filesystem::exists(p_))                                                                          \
            QSKIP(qPrintable(QStringLiteral("test data not found: %1 (set BASIS_SHARED_DIR to the shared/ folder)") \
                                 .arg(QString::fromStdString(p_.string()))));                                      \
    } while (0)
