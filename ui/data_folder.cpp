#include "data_folder.h"

#include "datasets.h"
#include "resources.h"

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
    // The data that ships with the program (resources/data): TinyStories, so a fresh install can calibrate.
    return QString::fromStdString(builtinDataDir().string());
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

namespace basis::ui {

QString dataDirHolding(const QString& dir, const QString& preset)
{
    auto holds = [&](const QString& d) {
        return !d.isEmpty() && QFileInfo::exists(QString::fromStdString(
                                   datasetPath(preset.toStdString(), "train", d.toStdString()).string()));
    };
    if (holds(dir))
        return dir;
    const QString builtin = QString::fromStdString(builtinDataDir().string());
    return holds(builtin) ? builtin : dir;
}

} // namespace basis::ui
