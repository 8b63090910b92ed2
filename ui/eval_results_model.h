#pragma once
// Every finished perplexity, throughput or zero-shot task run of the Evaluate tab, one row each, in the order they finished;
// exported as CSV or JSON (and JSON read back, so a saved table can be compared with a new one).
#include "job_results.h"

#include <QAbstractTableModel>
#include <QByteArray>

#include <cmath>
#include <limits>
#include <vector>

namespace basis::ui {

struct EvalResult {
    QString kind;                    // "perplexity", "throughput" or "tasks"
    ModelVariant model;
    QString evaluation;              // what was measured: "tinystories, context 512, window-mean" or "prompt 128, ..."
    double ppl = std::numeric_limits<double>::quiet_NaN();
    double prefillTokensPerSecond = std::numeric_limits<double>::quiet_NaN();
    double decodeTokensPerSecond = std::numeric_limits<double>::quiet_NaN();
    // Zero-shot accuracy (0..1) and its standard error; NaN where not measured or not defined.
    double acc = std::numeric_limits<double>::quiet_NaN(), accStderr = std::numeric_limits<double>::quiet_NaN();
    double accNorm = std::numeric_limits<double>::quiet_NaN(), accNormStderr = std::numeric_limits<double>::quiet_NaN();
    double seconds = 0;
    // Run under a dynamic-rank strategy: its label ("global-static rho 0.5"; empty: the model as stored), the mean
    // share of rank channels computed and the energy kept (NaN where not measured).
    QString rank;
    double rankShare = std::numeric_limits<double>::quiet_NaN(), rankEnergy = std::numeric_limits<double>::quiet_NaN();

    double keptPercent() const
    {
        return model.denseParameters > 0 ? 100.0 * double(model.parameters) / double(model.denseParameters) : 0.0;
    }
    bool hasPpl() const { return std::isfinite(ppl); }
};

// The method as tables and plots show it: "basis-sharing", or "basis-sharing + healed (lora)" after fine-tuning.
QString methodLabel(const ModelVariant& v);

// A dynamic-rank strategy as rows, points and logs name it: "global-static rho 0.5", "per-token tau 0.95", "baseline".
QString rankLabel(const std::string& strategy, double budget, double energy);

EvalResult resultFromPpl(const PerplexitySummary& s);
EvalResult resultFromThroughput(const ThroughputSummary& s);
EvalResult resultFromTasks(const TasksSummary& s);

class EvalResultsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Variant, Method, Ratio, Group, Parameters, Kept, Evaluation, Ppl, Acc, AccNorm, Prefill, Decode, Columns };
    using QAbstractTableModel::QAbstractTableModel;

    void append(const EvalResult& r);
    void clear();
    const std::vector<EvalResult>& results() const { return m_rows; }

    // The header names are the CSV header and the JSON keys are snake_case of them; numbers are written in full
    // precision (what the table shows is rounded).
    QByteArray toCsv() const;
    QByteArray toJson() const;
    // Replaces the rows with a JSON export's; false (and the reason) when it is not one.
    bool loadJson(const QByteArray& json, QString* error);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    std::vector<EvalResult> m_rows;
};

// Writes `data` to `file` atomically (QSaveFile); false and the reason otherwise.
bool writeFileAtomically(const QString& file, const QByteArray& data, QString* error);

} // namespace basis::ui
