#pragma once
// basis-studio [--model MODEL] [--config FILE.yaml] [--screenshot FILE.png [--tab NAME]]
#include <QString>
#include <QStringList>

struct StudioOptions {
    QString model, config, screenshot, tab;
};

// Parses the application's arguments; prints help or an error and exits on --help or a bad combination.
StudioOptions parseStudioOptions(const QStringList& arguments);

// The screenshot option needs the offscreen platform, which must be chosen before QApplication exists.
bool wantsScreenshot(int argc, char** argv);
