#include "evaluate_view.h"

#include "data_folder.h"
#include "datasets.h"
#include "eval_results_model.h"
#include "multiple_choice_tasks.h"
#include "pareto_plot.h"
#include "sweep.h"
#include "sweep_results.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSignalBlocker>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace basis::ui {

namespace {

const QString kTextFile = QStringLiteral("file");

QComboBox* modelCombo()
{
    auto* c = new QComboBox;
    c->addItem(QObject::tr("dense and compressed"), QStringLiteral("both"));
    c->addItem(QObject::tr("dense"), QStringLiteral("dense"));
    c->addItem(QObject::tr("compressed"), QStringLiteral("compressed"));
    c->setToolTip(QObject::tr("Which model to run: the one loaded (dense), the last compressed copy, or both in turn."));
    return c;
}

QSpinBox* spin(int low, int high, int value, const QString& suffix, const QString& tip)
{
    auto* s = new QSpinBox;
    s->setRange(low, high);
    s->setValue(value);
    s->setSuffix(suffix);
    s->setToolTip(tip);
    return s;
}

QToolButton* browseButton(const QString& tip)
{
    auto* b = new QToolButton;
    b->setText(QStringLiteral("…"));
    b->setToolTip(tip);
    return b;
}

QHBoxLayout* row(QWidget* a, QWidget* b)
{
    auto* l = new QHBoxLayout;
    l->addWidget(a, 1);
    l->addWidget(b);
    return l;
}

QString lastFolder() { return QSettings().value(QStringLiteral("folders/results")).toString(); }

} // namespace

EvaluateView::EvaluateView(QWidget* parent) : QWidget(parent)
{
    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(buildPplForm());
    leftLayout->addWidget(buildThroughputForm());
    leftLayout->addWidget(buildTasksForm());
    m_hint = new QLabel;
    m_hint->setWordWrap(true);
    leftLayout->addWidget(m_hint);
    m_rankNote = new QLabel;
    m_rankNote->setWordWrap(true);
    m_rankNote->hide();
    leftLayout->addWidget(m_rankNote);
    leftLayout->addStretch(1);
    // Three forms may not fit a short window: they scroll rather than squeeze.
    auto* leftScroll = new QScrollArea;
    leftScroll->setWidget(left);
    leftScroll->setWidgetResizable(true);
    leftScroll->setFrameShape(QFrame::NoFrame);
    leftScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    leftScroll->setMinimumWidth(380);
    leftScroll->setMaximumWidth(520);

    auto* splitter = new QSplitter;
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(leftScroll);
    splitter->addWidget(buildResults());
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({420, 1180});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);
    updateForm();
}

QWidget* EvaluateView::buildPplForm()
{
    m_source = new QComboBox;
    for (const std::string& name : datasetPresets())
        m_source->addItem(tr("%1 (dataset preset)").arg(QString::fromStdString(name)), QString::fromStdString(name));
    m_source->addItem(tr("text file"), kTextFile);
    m_source->setToolTip(tr("A dataset preset is read from the data folder with the published recipe (rows joined "
                            "with blank lines); a text file is read whole."));
    m_file = new QLineEdit;
    m_file->setPlaceholderText(tr("a plain text file"));
    m_fileBrowse = browseButton(tr("Choose an evaluation text file"));
    connect(m_fileBrowse, &QToolButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Evaluation text"), m_file->text(),
                                                       tr("Text (*.txt *.raw);;All files (*)"));
        if (!f.isEmpty())
            m_file->setText(f);
    });
    m_dataDir = new QLineEdit;
    m_dataDir->setPlaceholderText(tr("folder holding wikitext-2-raw/, ptb/, c4/, tinystories-valid/"));
    m_dataDir->setText(rememberedDataDir());
    m_dataBrowse = browseButton(tr("Choose the data folder of the dataset presets"));
    connect(m_dataBrowse, &QToolButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Data folder"), m_dataDir->text());
        if (!d.isEmpty())
            setDataDir(d);
    });
    // Without WikiText-2 in the data folder (a fresh install has only the built-in data), TinyStories, whose texts
    // ship with the program, is the preset that runs.
    const auto has = [this](const char* preset) {
        return QFileInfo::exists(QString::fromStdString(datasetPath(preset, "test", m_dataDir->text().toStdString()).string()));
    };
    if (!has("wikitext2")) {
        m_source->setCurrentIndex(m_source->findData(QStringLiteral("tinystories")));
        if (!has("tinystories"))
            m_dataDir->setText(dataDirHolding(m_dataDir->text(), QStringLiteral("tinystories")));
    }
    m_context = spin(2, 1 << 20, int(PerplexityJobOptions{}.context), tr(" tokens"), tr("Tokens per evaluation window."));
    m_stride = spin(0, 1 << 20, int(PerplexityJobOptions{}.stride), tr(" tokens"),
                    tr("Start of each window after the previous one's; a window scores only the tokens no earlier "
                       "window scored. 0: the context (windows do not overlap)."));
    m_stride->setSpecialValueText(tr("= context"));
    m_protocol = new QComboBox;
    m_protocol->addItem(tr("window-mean"), QStringLiteral("window-mean"));
    m_protocol->addItem(tr("token-mean"), QStringLiteral("token-mean"));
    m_protocol->setToolTip(tr("window-mean: exp(mean over windows of each window's mean NLL), as the published "
                              "evaluation. token-mean: exp(total NLL / scored tokens)."));
    m_pplModel = modelCombo();
    m_pplRun = new QPushButton(tr("Evaluate &perplexity"));
    m_pplRun->setToolTip(tr("Run perplexity on the engine thread (F5); progress and Cancel in the status bar."));
    connect(m_pplRun, &QPushButton::clicked, this, &EvaluateView::pplRequested);
    connect(m_source, &QComboBox::currentIndexChanged, this, &EvaluateView::updateForm);

    auto* box = new QGroupBox(tr("Perplexity"));
    auto* form = new QFormLayout(box);
    form->addRow(tr("&Text"), m_source);
    form->addRow(tr("Data folder"), row(m_dataDir, m_dataBrowse));
    form->addRow(tr("File"), row(m_file, m_fileBrowse));
    form->addRow(tr("C&ontext"), m_context);
    form->addRow(tr("St&ride"), m_stride);
    form->addRow(tr("Protocol"), m_protocol);
    form->addRow(tr("Model"), m_pplModel);
    form->addRow(m_pplRun);
    return box;
}

QWidget* EvaluateView::buildThroughputForm()
{
    // Initial values are the engine's defaults (job_options.h), the same as basis-cli's.
    const ThroughputJobOptions tp;
    m_promptLen = spin(1, 1 << 16, int(tp.promptLen), tr(" tokens"), tr("Prompt tokens processed by the first forward pass (prefill)."));
    m_genLen = spin(2, 1 << 16, int(tp.genLen), tr(" tokens"), tr("New tokens decoded one at a time with the KV cache."));
    m_batch = spin(1, 1024, int(tp.batch), QString(), tr("Sequences generated together."));
    m_repeats = spin(1, 100, int(tp.repeats), QString(), tr("Timed runs after one warm-up; the medians are reported."));
    m_tpModel = modelCombo();
    m_tpRun = new QPushButton(tr("Measure &throughput"));
    m_tpRun->setToolTip(tr("Time prefill and decode on the engine thread (Shift+F5)."));
    connect(m_tpRun, &QPushButton::clicked, this, &EvaluateView::throughputRequested);

    auto* box = new QGroupBox(tr("Throughput"));
    auto* form = new QFormLayout(box);
    form->addRow(tr("Prompt"), m_promptLen);
    form->addRow(tr("Generate"), m_genLen);
    form->addRow(tr("Batch"), m_batch);
    form->addRow(tr("Repeats"), m_repeats);
    form->addRow(tr("Model"), m_tpModel);
    form->addRow(m_tpRun);
    return box;
}

QWidget* EvaluateView::buildTasksForm()
{
    m_task = new QComboBox;
    for (const McTaskInfo& t : mcTasks()) {
        const QString name = QString::fromStdString(t.name);
        m_task->addItem(name, name);
        m_task->setItemData(m_task->count() - 1,
                            tr("JSONL fields read: %1%2")
                                .arg(QString::fromStdString(t.fields),
                                     t.accNorm ? QString() : tr(" (lm-eval reports acc only for this task)")),
                            Qt::ToolTipRole);
    }
    m_task->setToolTip(tr("How each JSONL document becomes a context and its choices, as lm-evaluation-harness "
                          "builds them; generic reads {\"context\", \"choices\", \"label\"}."));
    m_taskFile = new QLineEdit;
    m_taskFile->setPlaceholderText(tr("a JSONL task file (one document per line)"));
    m_taskFile->setText(QSettings().value(QStringLiteral("evaluate/taskFile")).toString());
    auto* browse = browseButton(tr("Choose a JSONL task file"));
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString start = m_taskFile->text().isEmpty() ? m_dataDir->text() : m_taskFile->text();
        const QString f = QFileDialog::getOpenFileName(this, tr("Task file"), start,
                                                       tr("JSON lines (*.jsonl *.json);;All files (*)"));
        if (!f.isEmpty())
            m_taskFile->setText(f);
    });
    connect(m_taskFile, &QLineEdit::editingFinished, this, [this] {
        QSettings().setValue(QStringLiteral("evaluate/taskFile"), m_taskFile->text().trimmed());
    });
    m_taskLimit = spin(0, 1 << 30, int(TasksJobOptions{}.limit), tr(" items"),
                       tr("Score only the first N documents of the file; 0 scores every document."));
    m_taskLimit->setSpecialValueText(tr("all"));
    m_tasksModel = modelCombo();
    m_tasksRun = new QPushButton(tr("Evaluate &zero-shot task"));
    m_tasksRun->setToolTip(tr("Score every choice's log-likelihood on the engine thread (Ctrl+F5); acc and acc_norm "
                              "± standard error go into the table. Progress and Cancel in the status bar."));
    connect(m_tasksRun, &QPushButton::clicked, this, &EvaluateView::tasksRequested);
    connect(m_task, &QComboBox::currentIndexChanged, this, &EvaluateView::suggestTaskFile);
    connect(m_dataDir, &QLineEdit::textChanged, this, &EvaluateView::suggestTaskFile);
    suggestTaskFile();

    auto* box = new QGroupBox(tr("Zero-shot tasks"));
    auto* form = new QFormLayout(box);
    form->addRow(tr("Tas&k"), m_task);
    form->addRow(tr("Data file"), row(m_taskFile, browse));
    form->addRow(tr("&Limit"), m_taskLimit);
    form->addRow(tr("Model"), m_tasksModel);
    form->addRow(m_tasksRun);
    return box;
}

void EvaluateView::suggestTaskFile()
{
    if (!m_taskFile || !m_taskFile->text().trimmed().isEmpty() || m_task->currentData().toString() != QLatin1String("hellaswag"))
        return;
    const QString f = QDir(m_dataDir->text()).filePath(QStringLiteral("hellaswag/hellaswag_val_2000.jsonl"));
    if (!m_dataDir->text().isEmpty() && QFileInfo::exists(f))
        m_taskFile->setText(QDir::cleanPath(f));
}

QWidget* EvaluateView::buildResults()
{
    m_results = new EvalResultsModel(this);
    auto* proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(m_results);
    proxy->setSortRole(Qt::UserRole);
    m_table = new QTableView;
    m_table->setModel(proxy);
    m_table->setAlternatingRowColors(true);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(-1, Qt::AscendingOrder);   // run order until a header is clicked
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(EvalResultsModel::Evaluation, QHeaderView::Stretch);
    m_pareto = new ParetoPlot;
    connect(m_results, &QAbstractItemModel::rowsInserted, this, &EvaluateView::refreshPlot);
    connect(m_results, &QAbstractItemModel::modelReset, this, &EvaluateView::refreshPlot);
    refreshPlot();

    auto button = [this](const QString& text, const QString& tip, const QString& what) {
        auto* b = new QPushButton(text);
        b->setToolTip(tip);
        connect(b, &QPushButton::clicked, this, [this, what] { chooseExport(what); });
        return b;
    };
    auto* tableBar = new QHBoxLayout;
    tableBar->addWidget(new QLabel(tr("<b>Results</b> (every finished run)")), 1);
    tableBar->addWidget(button(tr("Export CSV…"), tr("Save the table as comma-separated values"), QStringLiteral("csv")));
    tableBar->addWidget(button(tr("Export JSON…"), tr("Save the table as JSON"), QStringLiteral("json")));
    auto* clear = new QPushButton(tr("Clear"));
    clear->setToolTip(tr("Remove every row (the plot follows)"));
    connect(clear, &QPushButton::clicked, m_results, &EvalResultsModel::clear);
    tableBar->addWidget(clear);
    auto* plotBar = new QHBoxLayout;
    plotBar->addWidget(new QLabel(tr("<b>Pareto view</b> (hover a point for its run, click it to load its settings)")), 1);
    m_plotEvaluation = new QComboBox;
    m_plotEvaluation->setToolTip(tr("Which evaluation the plot shows (automatic: the one with the most runs)"));
    m_plotEvaluation->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_plotEvaluation->setMaximumWidth(360);
    m_plotX = new QComboBox;
    m_plotX->addItem(tr("x: parameters kept (%)"), QStringLiteral("kept"));
    m_plotX->addItem(tr("x: size as stored (MB)"), QStringLiteral("mb"));
    m_plotX->setToolTip(tr("Parameters kept, or the model's size in bytes as stored (packed integers of the "
                           "quantizers included): the fair axis between low-rank and quantized models"));
    connect(m_plotX, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        m_pareto->setXAxis(m_plotX->currentData().toString() == QLatin1String("mb") ? ParetoPlot::XAxis::SizeMB
                                                                                     : ParetoPlot::XAxis::KeptPercent);
    });
    connect(m_plotEvaluation, qOverload<int>(&QComboBox::activated), this, [this] {
        m_pareto->setEvaluation(m_plotEvaluation->currentData().toString());
    });
    connect(m_pareto, &ParetoPlot::pointClicked, this, &EvaluateView::runChosen);
    plotBar->addWidget(m_plotEvaluation);
    plotBar->addWidget(m_plotX);
    m_sweep = new QPushButton(tr("Sweep…"));
    m_sweep->setToolTip(tr("Compress and evaluate a list of methods × budgets × group sizes × allocators, calibrating "
                           "once; every run becomes a point here and a line of a results file"));
    connect(m_sweep, &QPushButton::clicked, this, &EvaluateView::sweepRequested);
    plotBar->addWidget(m_sweep);
    auto* open = new QPushButton(tr("Open results…"));
    open->setToolTip(tr("Add the runs of a sweep's results.jsonl (basis-cli sweep) to the table and the plot"));
    connect(open, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Open sweep results"), lastFolder(),
                                                          tr("Sweep results (*.jsonl);;All files (*)"));
        if (file.isEmpty())
            return;
        QString error;
        const bool ok = openSweepResults(file, &error);
        emit message(int(ok ? Severity::Info : Severity::Error), ok ? tr("Opened %1.").arg(file) : error);
    });
    plotBar->addWidget(open);
    plotBar->addWidget(button(tr("PNG…"), tr("Save the plot as PNG (twice the on-screen resolution)"),
                              QStringLiteral("png")));
    plotBar->addWidget(button(tr("PDF…"), tr("Save the plot as vector PDF"), QStringLiteral("pdf")));
    plotBar->addWidget(button(tr("SVG…"), tr("Save the plot as SVG"), QStringLiteral("svg")));

    auto* top = new QWidget;
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addLayout(tableBar);
    topLayout->addWidget(m_table);
    auto* bottom = new QWidget;
    auto* bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    bottomLayout->addLayout(plotBar);
    bottomLayout->addWidget(m_pareto, 1);
    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(top);
    splitter->addWidget(bottom);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);
    return splitter;
}

void EvaluateView::setMaxContext(int64_t maxPositions)
{
    const int top = maxPositions > 0 ? int(std::min<int64_t>(maxPositions, 1 << 20)) : (1 << 20);
    m_context->setMaximum(top);
    m_context->setValue(std::min<int>(top, int(PerplexityJobOptions{}.context)));
    m_stride->setMaximum(top);
}

void EvaluateView::setCompressedAvailable(bool available)
{
    const bool appeared = available && !m_compressed;
    m_compressed = available;
    updateForm();
    if (appeared)   // a new compressed model is what the user wants to compare
        for (QComboBox* c : {m_pplModel, m_tpModel, m_tasksModel})
            c->setCurrentIndex(c->findData(QStringLiteral("both")));
}

void EvaluateView::setBusy(bool busy)
{
    m_busy = busy;
    updateForm();
}

void EvaluateView::setDataDir(const QString& dir)
{
    m_dataDir->setText(dir);
    if (!dir.isEmpty())
        rememberDataDir(dir);
}

void EvaluateView::setRankNote(const QString& note)
{
    m_rankNote->setText(note);
    m_rankNote->setVisible(!note.isEmpty());
}

QString EvaluateView::dataDir() const { return m_dataDir->text(); }

void EvaluateView::setPplForm(const PerplexityJobOptions& s)
{
    const int preset = s.dataset.empty() ? -1 : m_source->findData(QString::fromStdString(canonicalDatasetName(s.dataset)));
    if (preset >= 0) {
        m_source->setCurrentIndex(preset);
    } else {
        m_source->setCurrentIndex(m_source->findData(kTextFile));
        m_file->setText(QString::fromStdString(s.text.string()));
    }
    if (!s.dataDir.empty())
        setDataDir(QString::fromStdString(s.dataDir.string()));
    if (s.context > 0)
        m_context->setValue(int(s.context));
    m_stride->setValue(s.stride == s.context ? 0 : int(s.stride));
    m_protocol->setCurrentIndex(std::max(0, m_protocol->findData(QString::fromStdString(s.protocol))));
}

void EvaluateView::updateForm()
{
    const bool file = m_source->currentData().toString() == kTextFile;
    m_file->setEnabled(file);
    m_fileBrowse->setEnabled(file);
    m_dataDir->setEnabled(!file);
    m_dataBrowse->setEnabled(!file);
    for (QComboBox* c : {m_pplModel, m_tpModel, m_tasksModel}) {
        // Without a compressed model only "dense" can run; the others stay listed, greyed, so the choice is visible.
        for (int i = 0; i < c->count(); ++i)
            if (c->itemData(i).toString() != QLatin1String("dense"))
                c->setItemData(i, m_compressed ? QVariant() : QVariant(0), Qt::UserRole - 1);
        if (!m_compressed)
            c->setCurrentIndex(c->findData(QStringLiteral("dense")));
    }
    m_pplRun->setEnabled(!m_busy);
    m_tpRun->setEnabled(!m_busy);
    m_tasksRun->setEnabled(!m_busy);
    if (m_sweep)
        m_sweep->setEnabled(!m_busy);
    m_hint->setText(m_compressed ? QString()
                                 : tr("Compress the model (Compression tab) to evaluate a compressed copy beside the "
                                      "dense one."));
}

std::vector<bool> EvaluateView::chosenModels(const QComboBox* combo)
{
    const QString m = combo->currentData().toString();
    if (m == QLatin1String("both"))
        return {false, true};
    return {m == QLatin1String("compressed")};
}

std::vector<PerplexityJobOptions> EvaluateView::pplSetups() const
{
    PerplexityJobOptions base;
    if (m_source->currentData().toString() == kTextFile)
        base.text = m_file->text().toStdString();
    else
        base.dataset = m_source->currentData().toString().toStdString();
    base.dataDir = m_dataDir->text().toStdString();
    base.context = m_context->value();
    base.stride = m_stride->value();
    base.protocol = m_protocol->currentData().toString().toStdString();
    std::vector<PerplexityJobOptions> out;
    for (bool compressed : chosenModels(m_pplModel)) {
        base.compressed = compressed;
        out.push_back(base);
    }
    return out;
}

std::vector<ThroughputJobOptions> EvaluateView::throughputSetups() const
{
    ThroughputJobOptions base;
    base.promptLen = m_promptLen->value();
    base.genLen = m_genLen->value();
    base.batch = m_batch->value();
    base.repeats = m_repeats->value();
    std::vector<ThroughputJobOptions> out;
    for (bool compressed : chosenModels(m_tpModel)) {
        base.compressed = compressed;
        out.push_back(base);
    }
    return out;
}

std::vector<TasksJobOptions> EvaluateView::tasksSetups() const
{
    TasksJobOptions base;
    base.task = m_task->currentData().toString().toStdString();
    base.data = m_taskFile->text().trimmed().toStdString();
    base.limit = m_taskLimit->value();
    std::vector<TasksJobOptions> out;
    for (bool compressed : chosenModels(m_tasksModel)) {
        base.compressed = compressed;
        out.push_back(base);
    }
    return out;
}

void EvaluateView::addTasks(const TasksSummary& summary) { m_results->append(resultFromTasks(summary)); }

void EvaluateView::addPpl(const PerplexitySummary& summary) { m_results->append(resultFromPpl(summary)); }
void EvaluateView::addThroughput(const ThroughputSummary& summary) { m_results->append(resultFromThroughput(summary)); }

void EvaluateView::addSweepRecord(const nlohmann::json& record)
{
    for (const EvalResult& r : resultsFromSweepRecord(record))
        m_results->append(r);
}

bool EvaluateView::openSweepResults(const QString& file, QString* error)
{
    try {
        for (const nlohmann::json& r : readSweepResults(file.toStdString()))
            addSweepRecord(r);
        return true;
    } catch (const std::exception& e) {
        if (error)
            *error = QString::fromStdString(e.what());
        return false;
    }
}

void EvaluateView::refreshPlot()
{
    m_pareto->setResults(m_results->results());
    if (m_plotEvaluation) {   // null while buildResults is still making the controls
        const QSignalBlocker block(m_plotEvaluation);
        const QString shown = m_pareto->evaluation();
        m_plotEvaluation->clear();
        for (const QString& e : m_pareto->evaluations())
            m_plotEvaluation->addItem(e, e);
        m_plotEvaluation->setCurrentIndex(std::max(0, m_plotEvaluation->findData(shown)));
        m_plotEvaluation->setVisible(m_plotEvaluation->count() > 1);
    }
    // acc and acc_norm take room from the evaluation text: shown once a task run has filled them.
    const auto& rows = m_results->results();
    const bool tasks = std::any_of(rows.begin(), rows.end(), [](const EvalResult& r) { return std::isfinite(r.acc); });
    m_table->setColumnHidden(EvalResultsModel::Acc, !tasks);
    m_table->setColumnHidden(EvalResultsModel::AccNorm, !tasks);
}

bool EvaluateView::exportCsv(const QString& file, QString* error) const
{
    return writeFileAtomically(file, m_results->toCsv(), error);
}

bool EvaluateView::exportJson(const QString& file, QString* error) const
{
    return writeFileAtomically(file, m_results->toJson(), error);
}

void EvaluateView::chooseExport(const QString& what)
{
    const QString filter = what == QLatin1String("csv")    ? tr("CSV (*.csv)")
                           : what == QLatin1String("json") ? tr("JSON (*.json)")
                           : what == QLatin1String("png")  ? tr("PNG image (*.png)")
                           : what == QLatin1String("svg")  ? tr("SVG image (*.svg)")
                                                           : tr("PDF (*.pdf)");
    const bool table = what == QLatin1String("csv") || what == QLatin1String("json");
    const QString suggested = QDir(lastFolder()).filePath((table ? QStringLiteral("results.") : QStringLiteral("pareto.")) + what);
    QString file = QFileDialog::getSaveFileName(this, table ? tr("Export results") : tr("Export plot"), suggested, filter);
    if (file.isEmpty())
        return;
    if (QFileInfo(file).suffix().isEmpty())
        file += QLatin1Char('.') + what;
    QSettings().setValue(QStringLiteral("folders/results"), QFileInfo(file).absolutePath());
    QString error;
    const bool ok = what == QLatin1String("csv")    ? exportCsv(file, &error)
                    : what == QLatin1String("json") ? exportJson(file, &error)
                    : what == QLatin1String("png")  ? m_pareto->savePng(file, &error)
                    : what == QLatin1String("svg")  ? m_pareto->saveSvg(file, &error)
                                                    : m_pareto->savePdf(file, &error);
    emit message(int(ok ? Severity::Info : Severity::Error),
                 ok ? tr("Exported %1.").arg(file) : tr("Export: %1").arg(error));
}

} // namespace basis::ui
