#pragma once
// basis-studio [--model MODEL] [--config FILE.yaml] [--screenshot FILE.png [--tab NAME]]
// basis-studio --plot results.jsonl --out pareto.png [--plot-x kept|mb] [--plot-evaluation TEXT] [--json]
#include <QString>
#include <QStringList>

struct StudioOptions {
    QString model, config, screenshot, tab;
    QString plot, out, plotX = QStringLiteral("kept"), plotEvaluation;   // the headless Pareto plot
    bool json = false;
};

// Parses the application's arguments; prints help or an error and exits on --help or a bad combination.
StudioOptions parseStudioOptions(const QStringList& arguments);

// The screenshot and plot options need the offscreen platform, which must be chosen before QApplication exists.
bool wantsScreenshot(int argc, char** argv);
