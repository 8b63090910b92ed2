// basis-studio: the desktop application. Argument handling and the screenshot mode; the rest is in ui/.
#include "studio_options.h"

#include "config_runner.h"
#include "error.h"
#include "main_window.h"
#include "pareto_export.h"

#include <nlohmann/json.hpp>

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
    if (!options.plot.isEmpty()) {
        try {
            basis::ui::PlotRequest r;
            r.results = options.plot;
            r.out = options.out;
            r.xAxis = options.plotX;
            r.evaluation = options.plotEvaluation;
            const basis::ui::PlotOutcome o = basis::ui::plotResultsFile(r);
            std::printf("wrote %s: %d runs of \"%s\", series %s\n", qPrintable(options.out), o.points,
                        qPrintable(o.evaluation), qPrintable(o.series.join(QStringLiteral(", "))));
            if (options.json) {
                nlohmann::json series = nlohmann::json::array(), evaluations = nlohmann::json::array();
                for (const QString& s : o.series)
                    series.push_back(s.toStdString());
                for (const QString& e : o.evaluations)
                    evaluations.push_back(e.toStdString());
                std::printf("%s\n", nlohmann::json{{"out", options.out.toStdString()}, {"points", o.points},
                                                   {"evaluation", o.evaluation.toStdString()}, {"series", series},
                                                   {"evaluations", evaluations}}.dump().c_str());
            }
            return 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "basis-studio: error: %s\n", e.what());
            if (options.json)
                std::printf("%s\n", nlohmann::json{{"error", e.what()}}.dump().c_str());
            return 1;
        }
    }

    basis::ui::MainWindow window;
    if (!options.screenshot.isEmpty())
        window.resize(1600, 1000);
    window.show();

    if (!options.screenshot.isEmpty()) {
        // The picture is written in every case (it shows what went wrong); a failure still exits 1 with its reason.
        auto shoot = [&window, options](const QString& failure) {
            if (!options.tab.isEmpty() && !window.showTab(options.tab)) {
                std::fprintf(stderr, "basis-studio: no tab '%s' (tabs: %s)\n", qPrintable(options.tab),
                             qPrintable(window.tabNames().join(QStringLiteral(", "))));
                QApplication::exit(2);
                return;
            }
            // Let layouts and queued updates settle before grabbing.
            QTimer::singleShot(300, &window, [&window, options, failure] {
                const bool ok = window.grab().save(options.screenshot);
                std::fprintf(ok ? stdout : stderr, ok ? "wrote %s\n" : "basis-studio: cannot write %s\n",
                             qPrintable(options.screenshot));
                if (!failure.isEmpty())
                    std::fprintf(stderr, "basis-studio: error: %s\n", qPrintable(failure));
                QApplication::exit(ok && failure.isEmpty() ? 0 : 1);
            });
        };
        auto loadFailure = [&window] {
            const QString e = window.lastError();
            return e.isEmpty() ? QStringLiteral("the model could not be opened") : e;
        };
        if (!options.config.isEmpty()) {
            // The config's whole run first (calibrate, compress, evaluate, generate), then the picture.
            QObject::connect(&window, &basis::ui::MainWindow::modelSettled, &window, [&window, shoot, loadFailure](bool loaded) {
                if (!loaded) {
                    shoot(loadFailure());   // the window shows why, in its log
                    return;
                }
                auto* runner = new basis::ui::ConfigRunner(&window);
                QObject::connect(runner, &basis::ui::ConfigRunner::finished, &window, [shoot](bool ok, const QString& error) {
                    shoot(ok ? QString() : QStringLiteral("the config's run stopped: ") + error);
                });
                runner->start();
            }, Qt::SingleShotConnection);
        } else if (!options.model.isEmpty())
            QObject::connect(&window, &basis::ui::MainWindow::modelSettled, &window, [shoot, loadFailure](bool loaded) {
                shoot(loaded ? QString() : loadFailure());
            }, Qt::SingleShotConnection);
        else
            QTimer::singleShot(0, &window, [shoot] { shoot({}); });
    }

    if (!options.config.isEmpty()) {
        if (!window.openConfig(options.config, options.model) && !options.screenshot.isEmpty()) {
            std::fprintf(stderr, "basis-studio: error: %s\n", qPrintable(window.lastError()));
            return 1;
        }
    } else if (!options.model.isEmpty()) {
        window.openModel(options.model);
    }
    return QApplication::exec();
}
