#include "eval_results_model.h"

#include "plan_text.h"
#include "rank_strategy.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

namespace basis::ui {

namespace {

QString number(double v) { return std::isfinite(v) ? QString::number(v, 'g', 17) : QString(); }

QJsonValue jsonNumber(double v) { return std::isfinite(v) ? QJsonValue(v) : QJsonValue(QJsonValue::Null); }

double fromJson(const QJsonValue& v) { return v.isDouble() ? v.toDouble() : std::numeric_limits<double>::quiet_NaN(); }

// RFC 4180: quote a field holding a comma, quote or line break, doubling its quotes.
QString csvField(QString s)
{
    if (s.contains(QLatin1Char(',')) || s.contains(QLatin1Char('"')) || s.contains(QLatin1Char('\n'))) {
        s.replace(QLatin1String("\""), QLatin1String("\"\""));
        return QLatin1Char('"') + s + QLatin1Char('"');
    }
    return s;
}

const char* const kKeys[] = {"kind", "variant", "method", "ratio_percent", "group_size", "parameters", "dense_parameters",
                             "parameters_kept_percent", "evaluation", "ppl", "acc", "acc_stderr", "acc_norm",
                             "acc_norm_stderr", "prefill_tokens_per_second",
                             "decode_tokens_per_second", "seconds", "healed"};

} // namespace

QString methodLabel(const ModelVariant& v)
{
    const QString method = QString::fromStdString(v.method);
    return v.healed.empty() ? method : QObject::tr("%1 + healed (%2)").arg(method, QString::fromStdString(v.healed));
}

QString rankLabel(const std::string& strategy, double budget, double energy)
{
    QString s = QString::fromStdString(strategy);
    if (budget > 0)
        s += QStringLiteral(" rho %1").arg(budget, 0, 'g', 4);
    else if (energy > 0)
        s += QStringLiteral(" tau %1").arg(energy, 0, 'g', 4);
    return s;
}

namespace {

// The strategy's part of a row: its label (which also ends the evaluation text, so that each strategy is its own
// evaluation in the table and the plot) and what it spent.
void setRank(EvalResult& r, const std::optional<RankRunStatistics>& rank)
{
    if (!rank)
        return;
    const RankSettings& s = rank->settings;
    r.rank = rankLabel(rankStrategyName(s.strategy), s.budget, s.energy);
    r.rankShare = rank->meanShare;
    bool measured = !rank->projections.empty();
    for (const RankSlotStatistics& p : rank->projections)
        measured = measured && p.energyMeasured;
    if (measured)
        r.rankEnergy = rank->energyKept;
}

} // namespace

EvalResult resultFromPpl(const PerplexitySummary& s)
{
    EvalResult r;
    r.kind = QStringLiteral("perplexity");
    r.model = s.model;
    r.evaluation = QStringLiteral("%1, context %2, stride %3, %4")
                       .arg(QString::fromStdString(s.source))
                       .arg(s.result.context)
                       .arg(s.result.stride)
                       .arg(QString::fromStdString(protocolName(s.result.protocol)));
    setRank(r, s.rank);
    if (s.rank)
        r.evaluation += QStringLiteral(", %1, prompt %2").arg(r.rank).arg(s.promptTokens);
    r.ppl = s.result.ppl;
    r.seconds = s.result.seconds;
    return r;
}

EvalResult resultFromThroughput(const ThroughputSummary& s)
{
    EvalResult r;
    r.kind = QStringLiteral("throughput");
    r.model = s.model;
    r.evaluation = QStringLiteral("prompt %1, generate %2, batch %3, %4 repeats")
                       .arg(s.result.options.promptLen)
                       .arg(s.result.options.genLen)
                       .arg(s.result.options.batch)
                       .arg(s.result.options.repeats);
    setRank(r, s.rank);
    if (s.rank)
        r.evaluation += QStringLiteral(", ") + r.rank;
    r.prefillTokensPerSecond = s.result.prefillTokensPerSecond;
    r.decodeTokensPerSecond = s.result.decodeTokensPerSecond;
    r.seconds = s.seconds;
    return r;
}

EvalResult resultFromTasks(const TasksSummary& s)
{
    EvalResult r;
    r.kind = QStringLiteral("tasks");
    r.model = s.model;
    r.evaluation = QStringLiteral("%1, %2 items, %3")
                       .arg(QString::fromStdString(s.task))
                       .arg(s.result.items)
                       .arg(QString::fromStdString(s.data.filename().string()));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const McResult& m = s.result;
    r.acc = m.acc;
    r.accStderr = m.accStderr.value_or(nan);
    r.accNorm = m.reportsAccNorm ? m.accNorm : nan;   // winogrande, boolq: lm-eval reports acc only
    r.accNormStderr = m.reportsAccNorm ? m.accNormStderr.value_or(nan) : nan;
    r.seconds = m.seconds;
    return r;
}

void EvalResultsModel::append(const EvalResult& r)
{
    const int row = int(m_rows.size());
    beginInsertRows({}, row, row);
    m_rows.push_back(r);
    endInsertRows();
}

void EvalResultsModel::clear()
{
    beginResetModel();
    m_rows.clear();
    endResetModel();
}

int EvalResultsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }
int EvalResultsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : Columns; }

QVariant EvalResultsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::DisplayRole) {
        // Short headers leave the Evaluation column room; the tooltips give the units.
        static const char* const names[] = {"Variant", "Method",     "Ratio %", "g",   "Parameters", "Kept %",
                                            "Evaluation", "PPL",     "acc",     "acc_norm", "Prefill t/s", "Decode t/s"};
        return tr(names[section]);
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case Ratio: return tr("Compression ratio asked for (%): the share of the target projections' parameters removed by "
                              "the published per-matrix rule, or \"exact\": an exact budget.");
        case Group: return tr("Group size g: layers sharing one basis.");
        case Parameters: return tr("Distinct parameters of the model evaluated (a shared basis counted once).");
        case Kept: return tr("Parameters kept (%): parameters of this model / parameters of the dense model × 100.");
        case Ppl: return tr("Perplexity: exp of the mean negative log-likelihood under the protocol shown (lower is better).");
        case Acc: return tr("Zero-shot accuracy: share of items whose highest-likelihood choice is the gold one, "
                            "± the standard error of that mean (higher is better).");
        case AccNorm: return tr("Accuracy with each choice's log-likelihood divided by its length in characters "
                                "(lm-evaluation-harness acc_norm), ± standard error.");
        case Prefill: return tr("Prefill tokens/s: prompt tokens processed per second in the first forward pass (median "
                                "of the repeats).");
        case Decode: return tr("Decode tokens/s: new tokens per second while decoding with the KV cache (median of the "
                               "repeats).");
        default: return {};
        }
    }
    return {};
}

QVariant EvalResultsModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_rows.size()))
        return {};
    const EvalResult& r = m_rows[size_t(index.row())];
    const bool dense = r.model.variant == "dense";
    if (role == Qt::TextAlignmentRole)
        return index.column() == Evaluation || index.column() <= Method ? QVariant(Qt::AlignLeft | Qt::AlignVCenter)
                                                                        : QVariant(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::UserRole) {   // sort keys
        switch (index.column()) {
        case Ratio: return r.model.budget > 0 ? r.model.budget : r.model.ratio;
        case Group: return qlonglong(r.model.groupSize);
        case Parameters: return qlonglong(r.model.parameters);
        case Kept: return r.keptPercent();
        case Ppl: return r.ppl;
        case Acc: return r.acc;
        case AccNorm: return r.accNorm;
        case Prefill: return r.prefillTokensPerSecond;
        case Decode: return r.decodeTokensPerSecond;
        default: break;
        }
        role = Qt::DisplayRole;
    }
    if (role == Qt::ToolTipRole && index.column() == Evaluation)
        return tr("%1 run, %2 s").arg(r.kind).arg(r.seconds, 0, 'f', 2);
    if (role != Qt::DisplayRole)
        return {};
    auto fixed = [](double v, int decimals) { return std::isfinite(v) ? QString::number(v, 'f', decimals) : QString(); };
    auto withError = [&](double v, double e) {
        return !std::isfinite(v) ? QString() : std::isfinite(e) ? fixed(v, 4) + QStringLiteral(" ± ") + fixed(e, 4) : fixed(v, 4);
    };
    switch (index.column()) {
    case Variant: return QString::fromStdString(r.model.variant);
    case Method:
        // An exact budget's allocator beside the method: runs of one method at one size differ by it.
        return r.model.budget > 0 && !r.model.allocator.empty() && r.model.allocator != "uniform"
                   ? QStringLiteral("%1 · %2").arg(methodLabel(r.model), QString::fromStdString(r.model.allocator))
                   : methodLabel(r.model);
    case Ratio:
        return dense ? QStringLiteral("–")
                     : r.model.budget > 0 ? tr("%1 exact").arg(r.model.budget) : QString::number(r.model.ratio);
    case Group: return dense ? QStringLiteral("–") : QString::number(r.model.groupSize);
    case Parameters: return formatCount(r.model.parameters);
    case Kept: return fixed(r.keptPercent(), 1);
    case Evaluation: return r.evaluation;
    case Ppl: return fixed(r.ppl, 3);
    case Acc: return withError(r.acc, r.accStderr);
    case AccNorm: return withError(r.accNorm, r.accNormStderr);
    case Prefill: return fixed(r.prefillTokensPerSecond, 0);
    case Decode: return fixed(r.decodeTokensPerSecond, 0);
    default: return {};
    }
}

QByteArray EvalResultsModel::toCsv() const
{
    QStringList lines;
    QStringList header;
    for (const char* k : kKeys)
        header << QString::fromLatin1(k);
    lines << header.join(QLatin1Char(','));
    for (const EvalResult& r : m_rows) {
        lines << QStringList{r.kind,
                             QString::fromStdString(r.model.variant),
                             QString::fromStdString(r.model.method),
                             number(r.model.ratio),
                             QString::number(r.model.groupSize),
                             QString::number(r.model.parameters),
                             QString::number(r.model.denseParameters),
                             number(r.keptPercent()),
                             csvField(r.evaluation),
                             number(r.ppl),
                             number(r.acc),
                             number(r.accStderr),
                             number(r.accNorm),
                             number(r.accNormStderr),
                             number(r.prefillTokensPerSecond),
                             number(r.decodeTokensPerSecond),
                             number(r.seconds),
                             QString::fromStdString(r.model.healed)}
                     .join(QLatin1Char(','));
    }
    return (lines.join(QLatin1Char('\n')) + QLatin1Char('\n')).toUtf8();
}

QByteArray EvalResultsModel::toJson() const
{
    QJsonArray rows;
    for (const EvalResult& r : m_rows) {
        QJsonObject o;
        o[QStringLiteral("kind")] = r.kind;
        o[QStringLiteral("variant")] = QString::fromStdString(r.model.variant);
        o[QStringLiteral("method")] = QString::fromStdString(r.model.method);
        o[QStringLiteral("ratio_percent")] = r.model.ratio;
        o[QStringLiteral("group_size")] = qint64(r.model.groupSize);
        o[QStringLiteral("parameters")] = qint64(r.model.parameters);
        o[QStringLiteral("dense_parameters")] = qint64(r.model.denseParameters);
        o[QStringLiteral("healed")] = QString::fromStdString(r.model.healed);
        o[QStringLiteral("parameters_kept_percent")] = r.keptPercent();
        o[QStringLiteral("evaluation")] = r.evaluation;
        o[QStringLiteral("ppl")] = jsonNumber(r.ppl);
        o[QStringLiteral("acc")] = jsonNumber(r.acc);
        o[QStringLiteral("acc_stderr")] = jsonNumber(r.accStderr);
        o[QStringLiteral("acc_norm")] = jsonNumber(r.accNorm);
        o[QStringLiteral("acc_norm_stderr")] = jsonNumber(r.accNormStderr);
        o[QStringLiteral("prefill_tokens_per_second")] = jsonNumber(r.prefillTokensPerSecond);
        o[QStringLiteral("decode_tokens_per_second")] = jsonNumber(r.decodeTokensPerSecond);
        o[QStringLiteral("seconds")] = r.seconds;
        rows.append(o);
    }
    return QJsonDocument(QJsonObject{{QStringLiteral("results"), rows}}).toJson(QJsonDocument::Indented);
}

bool EvalResultsModel::loadJson(const QByteArray& json, QString* error)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (doc.isNull() || !doc.isObject() || !doc.object().value(QStringLiteral("results")).isArray()) {
        if (error)
            *error = doc.isNull() ? tr("not JSON: %1 at offset %2").arg(parseError.errorString()).arg(parseError.offset)
                                  : tr("not a results export: no \"results\" array");
        return false;
    }
    std::vector<EvalResult> rows;
    for (const QJsonValue& v : doc.object().value(QStringLiteral("results")).toArray()) {
        const QJsonObject o = v.toObject();
        EvalResult r;
        r.kind = o.value(QStringLiteral("kind")).toString();
        r.model.variant = o.value(QStringLiteral("variant")).toString().toStdString();
        r.model.method = o.value(QStringLiteral("method")).toString().toStdString();
        r.model.ratio = o.value(QStringLiteral("ratio_percent")).toDouble();
        r.model.groupSize = o.value(QStringLiteral("group_size")).toInteger();
        r.model.parameters = o.value(QStringLiteral("parameters")).toInteger();
        r.model.denseParameters = o.value(QStringLiteral("dense_parameters")).toInteger();
        r.model.healed = o.value(QStringLiteral("healed")).toString().toStdString();   // absent in older exports
        r.evaluation = o.value(QStringLiteral("evaluation")).toString();
        r.ppl = fromJson(o.value(QStringLiteral("ppl")));
        r.acc = fromJson(o.value(QStringLiteral("acc")));   // absent in older exports: NaN
        r.accStderr = fromJson(o.value(QStringLiteral("acc_stderr")));
        r.accNorm = fromJson(o.value(QStringLiteral("acc_norm")));
        r.accNormStderr = fromJson(o.value(QStringLiteral("acc_norm_stderr")));
        r.prefillTokensPerSecond = fromJson(o.value(QStringLiteral("prefill_tokens_per_second")));
        r.decodeTokensPerSecond = fromJson(o.value(QStringLiteral("decode_tokens_per_second")));
        r.seconds = o.value(QStringLiteral("seconds")).toDouble();
        if (r.kind.isEmpty() || r.model.variant.empty()) {
            if (error)
                *error = tr("result %1 has no kind or variant").arg(rows.size() + 1);
            return false;
        }
        rows.push_back(r);
    }
    beginResetModel();
    m_rows = std::move(rows);
    endResetModel();
    return true;
}

bool writeFileAtomically(const QString& file, const QByteArray& data, QString* error)
{
    QSaveFile out(file);
    if (!out.open(QIODevice::WriteOnly) || out.write(data) != data.size() || !out.commit()) {
        if (error)
            *error = QObject::tr("cannot write %1: %2").arg(file, out.errorString());
        return false;
    }
    return true;
}

} // namespace basis::ui
