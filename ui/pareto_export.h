#pragma once
// `basis-studio --plot results.jsonl --out pareto.png`: the Evaluate tab's Pareto view drawn from a sweep's
// results file without a window (the same ParetoPlot code), for papers and CI.
#include <QString>
#include <QStringList>

namespace basis::ui {

struct PlotRequest {
    QString results;                 // a sweep's results.jsonl
    QString out;                     // .png, .pdf or .svg
    QString xAxis = QStringLiteral("kept");   // kept (parameters kept, %) or mb (size as stored)
    QString evaluation;              // which evaluation; empty: the one with the most runs
    int width = 1200, height = 750;
};

struct PlotOutcome {
    QString evaluation;              // the evaluation drawn
    QStringList evaluations;         // every evaluation of the file
    QStringList series;              // legend names of the series drawn
    int points = 0;
};

// Throws basis::Error naming the file and what is wrong (unreadable file, no record with a result, unknown
// evaluation or axis, unwritable output).
PlotOutcome plotResultsFile(const PlotRequest& request);

} // namespace basis::ui
