// basis-studio: the desktop application. Argument handling and the screenshot mode; the rest is in ui/.
#include "studio_options.h"

#include "config_runner.h"
#include "main_window.h"

#include <QApplication>
#include <QTimer>

#include <cstdio>

int main(int argc, char** argv)
{
    if (wantsScreenshot(argc, argv) && !qEnvironmentVariableIsSet("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");   // no display needed for documentation and tests
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("BasisStudio"));
    QApplication::setApplicationName(QStringLiteral("Basis Studio"));
    QApplication::setApplicationVersion(QStringLiteral("0.1.0"));
    QApplication::setDesktopFileName(QStringLiteral("basis-studio"));   // resources/basis-studio.desktop
    const StudioOptions options = parseStudioOptions(QApplication::arguments());

    basis::ui::MainWindow window;
    if (!options.screenshot.isEmpty())
        window.resize(1600, 1000);
    window.show();

    if (!options.screenshot.isEmpty()) {
        auto shoot = [&window, options] {
            if (!options.tab.isEmpty() && !window.showTab(options.tab)) {
                std::fprintf(stderr, "basis-studio: no tab '%s' (tabs: %s)\n", qPrintable(options.tab),
                             qPrintable(window.tabNames().join(QStringLiteral(", "))));
                QApplication::exit(2);
                return;
            }
            // Let layouts and queued updates settle before grabbing.
            QTimer::singleShot(300, &window, [&window, options] {
                const bool ok = window.grab().save(options.screenshot);
                std::fprintf(ok ? stdout : stderr, ok ? "wrote %s\n" : "basis-studio: cannot write %s\n",
                             qPrintable(options.screenshot));
                QApplication::exit(ok ? 0 : 1);
            });
        };
        if (!options.config.isEmpty()) {
            // The config's whole run first (calibrate, compress, evaluate, generate), then the picture.
            QObject::connect(&window, &basis::ui::MainWindow::modelSettled, &window, [&window, shoot](bool loaded) {
                if (!loaded) {
                    shoot();   // the window shows why, in its log
                    return;
                }
                auto* runner = new basis::ui::ConfigRunner(&window);
                QObject::connect(runner, &basis::ui::ConfigRunner::finished, &window, [shoot](bool ok, const QString& error) {
                    if (!ok)
                        std::fprintf(stderr, "basis-studio: the config's run stopped: %s\n", qPrintable(error));
                    shoot();
                });
                runner->start();
            }, Qt::SingleShotConnection);
        } else if (!options.model.isEmpty())
            QObject::connect(&window, &basis::ui::MainWindow::modelSettled, &window, shoot, Qt::SingleShotConnection);
        else
            QTimer::singleShot(0, &window, shoot);
    }

    if (!options.config.isEmpty()) {
        if (!window.openConfig(options.config, options.model) && !options.screenshot.isEmpty())
            return 1;
    } else if (!options.model.isEmpty()) {
        window.openModel(options.model);
    }
    return QApplication::exec();
}
