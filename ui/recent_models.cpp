#include "recent_models.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>

namespace basis::ui {

namespace {
const char* const kKey = "recent/models";

QString canonical(const QString& dir)
{
    const QFileInfo info(dir);
    const QString c = info.canonicalFilePath();
    return QDir::cleanPath(c.isEmpty() ? info.absoluteFilePath() : c);
}
} // namespace

QStringList RecentModels::withAdded(QStringList list, const QString& dir)
{
    const QString c = canonical(dir);
    list.removeIf([&](const QString& d) { return canonical(d) == c; });
    list.prepend(c);
    while (list.size() > kMax)
        list.removeLast();
    return list;
}

QStringList RecentModels::list()
{
    QStringList out;
    for (const QString& d : QSettings().value(kKey).toStringList())
        if (QFileInfo(d).isDir())
            out << d;
    return out;
}

void RecentModels::add(const QString& dir)
{
    QSettings().setValue(kKey, withAdded(QSettings().value(kKey).toStringList(), dir));
}

void RecentModels::clear() { QSettings().remove(kKey); }

} // namespace basis::ui
