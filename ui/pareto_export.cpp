#include "pareto_export.h"

#include "error.h"
#include "pareto_plot.h"
#include "sweep.h"
#include "sweep_results.h"

#include <qcustomplot.h>

namespace basis::ui {

PlotOutcome plotResultsFile(const PlotRequest& r)
{
    if (r.xAxis != QLatin1String("kept") && r.xAxis != QLatin1String("mb"))
        throw Error("--plot-x '" + r.xAxis.toStdString() + "': expected kept (parameters kept, %) or mb (size as stored)");
    const QString suffix = r.out.section(QLatin1Char('.'), -1).toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("pdf") && suffix != QLatin1String("svg"))
        throw Error(r.out.toStdString() + ": the plot is written as .png, .pdf or .svg (named by the extension)");
    const std::vector<EvalResult> rows = resultsFromSweepRecords(readSweepResults(r.results.toStdString()));
    ParetoPlot plot;
    plot.resize(r.width, r.height);
    plot.plot()->resize(r.width, r.height);
    plot.setResults(rows);
    PlotOutcome out;
    out.evaluations = plot.evaluations();
    if (out.evaluations.isEmpty())
        throw Error(r.results.toStdString() + ": no record has a perplexity or accuracy to plot");
    if (!r.evaluation.isEmpty() && !out.evaluations.contains(r.evaluation))
        throw Error("--plot-evaluation '" + r.evaluation.toStdString() + "': not an evaluation of " +
                    r.results.toStdString() + " (it has: " + out.evaluations.join(QStringLiteral("; ")).toStdString() + ")");
    plot.setXAxis(r.xAxis == QLatin1String("mb") ? ParetoPlot::XAxis::SizeMB : ParetoPlot::XAxis::KeptPercent);
    plot.setEvaluation(r.evaluation);
    plot.plot()->replot();
    out.evaluation = plot.evaluation();
    out.series = plot.seriesNames();
    for (const EvalResult& e : rows)
        out.points += e.evaluation == out.evaluation;
    QString error;
    const bool ok = suffix == QLatin1String("png") ? plot.savePng(r.out, &error)
                    : suffix == QLatin1String("pdf") ? plot.savePdf(r.out, &error)
                                                     : plot.saveSvg(r.out, &error);
    if (!ok)
        throw Error(error.toStdString());
    return out;
}

} // namespace basis::ui
