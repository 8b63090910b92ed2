#include "data_folder.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QSettings>

namespace basis::ui {

namespace {
const QString kKey = QStringLiteral("evaluate/dataDir");   // the Evaluate tab's key before the panels shared it

QString foundDataDir()
{
    const QString env = qEnvironmentVariable("BASIS_SHARED_DIR");
    if (!env.isEmpty() && QFileInfo(QDir(env).filePath(QStringLiteral("data"))).isDir())
        return QDir::cleanPath(QDir(env).filePath(QStringLiteral("data")));
    QDir dir(QCoreApplication::applicationDirPath());
    for (int up = 0; up < 5 && !dir.isRoot(); ++up) {
        const QString candidate = dir.filePath(QStringLiteral("shared/data"));
        if (QFileInfo(candidate).isDir())
            return QDir::cleanPath(candidate);
        if (!dir.cdUp())
            break;
    }
    return {};
}
} // namespace

QString rememberedDataDir()
{
    const QString saved = QSettings().value(kKey).toString();
    return saved.isEmpty() ? foundDataDir() : saved;
}

void rememberDataDir(const QString& dir)
{
    if (!dir.isEmpty())
        QSettings().setValue(kKey, dir);
}

} // namespace basis::ui
