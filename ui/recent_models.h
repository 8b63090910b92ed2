#pragma once
// Recently opened model folders, newest first, kept in QSettings: de-duplicated by canonical path and capped.
#include <QStringList>

namespace basis::ui {

class RecentModels {
public:
    static constexpr int kMax = 8;
    static QStringList list();                       // folders that still exist
    static void add(const QString& dir);
    static void clear();
    // The pure rule, for tests: `dir` first, its duplicates removed, at most kMax entries.
    static QStringList withAdded(QStringList list, const QString& dir);
};

} // namespace basis::ui
