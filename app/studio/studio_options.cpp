#include "studio_options.h"

#include <QCommandLineParser>

#include <cstdio>
#include <cstdlib>
#include <cstring>

StudioOptions parseStudioOptions(const QStringList& arguments)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Basis Studio: compress language models with shared low-rank bases."));
    p.addHelpOption();
    p.addVersionOption();
    const QCommandLineOption model(QStringLiteral("model"), QStringLiteral("Open this model: a Hugging Face folder, builtin:stories260k (the "
                                                  "real pretrained model that ships with Basis Studio), or a Hub name "
                                                  "org/name[@revision] from the local Hugging Face cache."),
                                   QStringLiteral("MODEL"));
    const QCommandLineOption config(QStringLiteral("config"),
                                    QStringLiteral("Open this YAML run config: its model (unless --model) and settings."),
                                    QStringLiteral("FILE.yaml"));
    const QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        QStringLiteral("Render the window offscreen at 1600x1000, save it as PNG and exit. With --config the window "
                       "is first brought to the state the config describes, one engine job after the other: "
                       "calibrated (the cache named by calibration_args.calib_path is reused when it matches, "
                       "otherwise recomputed), compressed with its settings, its basis_studio.evaluate entries run "
                       "on the dense and the compressed model into the Evaluate tab, and the Generate tab's prompt "
                       "continued by both. With --model only the model is loaded; with neither, the start page."),
        QStringLiteral("FILE.png"));
    const QCommandLineOption tab(QStringLiteral("tab"),
                                 QStringLiteral("Tab shown in the screenshot: compression, layers, spectra, heatmaps, "
                                                "evaluate, generate (the tab titles, case-insensitive)."),
                                 QStringLiteral("NAME"));
    const QCommandLineOption plot(QStringLiteral("plot"),
                                  QStringLiteral("Draw the Pareto view of a sweep's results file (basis-cli sweep) "
                                                 "without a window, write it to --out and exit."),
                                  QStringLiteral("results.jsonl"));
    const QCommandLineOption out(QStringLiteral("out"), QStringLiteral("With --plot: the picture, .png, .pdf or .svg."),
                                 QStringLiteral("FILE"));
    const QCommandLineOption plotX(QStringLiteral("plot-x"),
                                   QStringLiteral("With --plot: the x axis, kept (parameters kept, %; default) or mb "
                                                  "(model size as stored)."),
                                   QStringLiteral("AXIS"), QStringLiteral("kept"));
    const QCommandLineOption plotEvaluation(QStringLiteral("plot-evaluation"),
                                            QStringLiteral("With --plot: which evaluation (as the Evaluate tab names "
                                                           "it); default: the one with the most runs."),
                                            QStringLiteral("TEXT"));
    const QCommandLineOption json(QStringLiteral("json"),
                                  QStringLiteral("With --plot: print one JSON object as the last line."));
    p.addOptions({model, config, screenshot, tab, plot, out, plotX, plotEvaluation, json});
    p.process(arguments);
    if (!p.positionalArguments().isEmpty()) {
        std::fprintf(stderr, "basis-studio: unexpected argument '%s' (see --help)\n",
                     qPrintable(p.positionalArguments().first()));
        std::exit(2);
    }
    if (p.isSet(tab) && !p.isSet(screenshot)) {
        std::fprintf(stderr, "basis-studio: --tab needs --screenshot\n");
        std::exit(2);
    }
    if (p.isSet(plot) != p.isSet(out)) {
        std::fprintf(stderr, "basis-studio: --plot and --out go together (the results file and the picture)\n");
        std::exit(2);
    }
    if (p.isSet(plot) && (p.isSet(model) || p.isSet(config) || p.isSet(screenshot))) {
        std::fprintf(stderr, "basis-studio: --plot draws a results file alone; it takes no --model, --config or --screenshot\n");
        std::exit(2);
    }
    StudioOptions o;
    o.model = p.value(model);
    o.config = p.value(config);
    o.screenshot = p.value(screenshot);
    o.tab = p.value(tab);
    o.plot = p.value(plot);
    o.out = p.value(out);
    o.plotX = p.value(plotX);
    o.plotEvaluation = p.value(plotEvaluation);
    o.json = p.isSet(json);
    return o;
}

bool wantsScreenshot(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--screenshot") == 0 || std::strncmp(argv[i], "--screenshot=", 13) == 0 ||
            std::strcmp(argv[i], "--plot") == 0 || std::strncmp(argv[i], "--plot=", 7) == 0)
            return true;
    return false;
}
