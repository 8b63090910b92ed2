#include "finetune_view.h"

#include "error.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QDoubleValidator>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace basis::ui {

namespace {

QSpinBox* spin(int min, int max, int value, const QString& tip)
{
    auto* s = new QSpinBox;
    s->setRange(min, max);
    s->setValue(value);
    s->setToolTip(tip);
    return s;
}

QDoubleSpinBox* dspin(double min, double max, double value, int decimals, double step, const QString& tip)
{
    auto* s = new QDoubleSpinBox;
    s->setRange(min, max);
    s->setDecimals(decimals);
    s->setSingleStep(step);
    s->setValue(value);
    s->setToolTip(tip);
    return s;
}

// Learning rates read best as 1e-3: a line edit that accepts scientific notation.
QLineEdit* rateEdit(const QString& value, const QString& tip)
{
    auto* e = new QLineEdit(value);
    auto* v = new QDoubleValidator(0, 10, 12, e);
    v->setNotation(QDoubleValidator::ScientificNotation);
    v->setLocale(QLocale::c());
    e->setValidator(v);
    e->setToolTip(tip);
    return e;
}

double rate(const QLineEdit* e, const char* what)
{
    bool ok = false;
    const double v = QLocale::c().toDouble(e->text().trimmed(), &ok);
    if (!ok || !(v >= 0))
        throw Error(std::string("Fine-tune: the ") + what + " '" + e->text().toStdString() + "' is not a number >= 0");
    return v;
}

QString rateText(double v) { return QString::number(v, 'g', 6); }

QWidget* fileRow(QLineEdit* edit, const QString& title, bool folder)
{
    auto* w = new QWidget;
    auto* l = new QHBoxLayout(w);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(edit, 1);
    auto* b = new QToolButton;
    b->setText(QStringLiteral("…"));
    b->setToolTip(title);
    l->addWidget(b);
    QObject::connect(b, &QToolButton::clicked, edit, [edit, title, folder] {
        const QString f = folder ? QFileDialog::getSaveFileName(edit, title, edit->text())
                                 : QFileDialog::getOpenFileName(edit, title, edit->text());
        if (!f.isEmpty())
            edit->setText(f);
    });
    return w;
}

QString eta(double seconds)
{
    const qint64 s = qint64(std::llround(std::max(0.0, seconds)));
    return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

} // namespace

FinetuneView::FinetuneView(QWidget* parent) : QWidget(parent)
{
    auto* formScroll = new QScrollArea;
    formScroll->setWidget(buildForm());
    formScroll->setWidgetResizable(true);
    formScroll->setFrameShape(QFrame::NoFrame);
    formScroll->setMinimumWidth(540);
    formScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    m_plot = new QCustomPlot;
    m_plot->setMinimumSize(420, 300);
    m_plot->xAxis->setLabel(tr("Optimizer step"));
    auto steps = QSharedPointer<QCPAxisTickerFixed>::create();   // whole steps, as many as fit
    steps->setTickStep(1);
    steps->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    m_plot->xAxis->setTicker(steps);
    m_plot->yAxis->setLabel(tr("Training loss (next-token cross-entropy)"));
    m_plot->yAxis2->setLabel(tr("Evaluation perplexity (log scale)"));
    m_plot->yAxis2->setVisible(true);
    m_plot->yAxis2->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis2->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    QCPGraph* loss = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis);
    loss->setName(tr("training loss"));
    loss->setPen(QPen(QColor(0x1f, 0x77, 0xb4), 2));
    QCPGraph* ppl = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
    ppl->setName(tr("evaluation perplexity"));
    ppl->setPen(QPen(QColor(0xd6, 0x27, 0x28), 1.5, Qt::DashLine));
    ppl->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QColor(0xd6, 0x27, 0x28), Qt::white, 8));
    m_plot->legend->setVisible(true);
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);

    m_status = new QLabel(tr("Load a model, compress it (or not: the dense model trains as a control), then Train."));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* right = new QWidget;
    auto* rl = new QVBoxLayout(right);
    rl->addWidget(m_plot, 1);
    rl->addWidget(m_status);

    auto* splitter = new QSplitter;
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(formScroll);
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({560, 1000});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(splitter);
    updateEnabled();
}

QWidget* FinetuneView::buildForm()
{
    auto* form = new QWidget;
    auto* v = new QVBoxLayout(form);
    auto group = [&](const QString& title) {
        auto* g = new QGroupBox(title);
        auto* f = new QFormLayout(g);
        v->addWidget(g);
        return f;
    };

    m_target = new QLabel(tr("Trains the loaded model (no compressed copy yet)."));
    m_target->setWordWrap(true);
    v->addWidget(m_target);

    QFormLayout* what = group(tr("What trains"));
    m_train = new QComboBox;
    m_train->addItem(tr("Coefficients (every C_l, biases; bases frozen)"), QStringLiteral("coefficients"));
    m_train->addItem(tr("Bases and coefficients (a shared basis once)"), QStringLiteral("bases"));
    m_train->addItem(tr("LoRA adapters (the rest frozen)"), QStringLiteral("lora"));
    m_train->setToolTip(tr("coefficients: each layer's C_l (a projection left dense trains its W); bases: also every "
                           "basis, which a shared basis receives the gradient of all its layers for; lora: a rank-r adapter "
                           "on the chosen projections, merged into the weights when saved (on the coefficient side of a "
                           "factorized projection, so the saved model keeps its form and count)."));
    what->addRow(tr("Train"), m_train);
    m_loraRank = spin(1, 4096, 8, tr("LoRA rank r"));
    what->addRow(tr("LoRA rank"), m_loraRank);
    m_loraAlpha = dspin(0.01, 10000, 16, 2, 1, tr("LoRA alpha: the adapter is scaled by alpha / r"));
    what->addRow(tr("LoRA alpha"), m_loraAlpha);
    m_loraDropout = dspin(0, 0.99, 0, 2, 0.05, tr("Dropout on the adapters' input while training"));
    what->addRow(tr("LoRA dropout"), m_loraDropout);
    m_loraTargets = new QLineEdit(QStringLiteral("q,v"));
    m_loraTargets->setToolTip(tr("Projections with an adapter, by part (q, k, v, o, gate, up, down, ...) or module path, "
                                 "comma-separated; PEFT's default is q,v"));
    what->addRow(tr("LoRA targets"), m_loraTargets);

    QFormLayout* texts = group(tr("Texts"));
    m_text = new QLineEdit;
    m_text->setPlaceholderText(tr("the calibration text"));
    m_text->setToolTip(tr("Training text (a UTF-8 file), cut into context-long chunks shuffled with the seed; empty: "
                          "the text the model was calibrated on"));
    texts->addRow(tr("Training text"), fileRow(m_text, tr("Training text"), false));
    m_evalText = new QLineEdit;
    m_evalText->setPlaceholderText(tr("none"));
    m_evalText->setToolTip(tr("Evaluation text: perplexity before, after and every N steps (window-mean, as Evaluate)"));
    texts->addRow(tr("Evaluation text"), fileRow(m_evalText, tr("Evaluation text"), false));

    QFormLayout* budget = group(tr("Budget and batches"));
    m_steps = spin(0, 10000000, 0, tr("Optimizer steps; 0: as many as the token budget needs"));
    budget->addRow(tr("Steps"), m_steps);
    m_tokens = spin(0, 2000000000, 32768, tr("Predicted tokens to train on, when Steps is 0"));
    m_tokens->setSingleStep(4096);
    budget->addRow(tr("Token budget"), m_tokens);
    m_context = spin(2, 1 << 20, 512, tr("Tokens per training chunk"));
    budget->addRow(tr("Context"), m_context);
    m_batch = spin(1, 4096, 4, tr("Chunks per forward pass"));
    budget->addRow(tr("Batch"), m_batch);
    m_accumulation = spin(1, 4096, 1, tr("Forward passes per optimizer step (gradient accumulation)"));
    budget->addRow(tr("Accumulation"), m_accumulation);

    QFormLayout* opt = group(tr("Optimizer (AdamW, warm-up then cosine)"));
    m_lr = rateEdit(QStringLiteral("1e-3"), tr("Peak learning rate"));
    opt->addRow(tr("Learning rate"), m_lr);
    m_warmup = spin(0, 1000000, 2, tr("Steps of linear warm-up from 0"));
    opt->addRow(tr("Warm-up steps"), m_warmup);
    m_minLr = rateEdit(QStringLiteral("0"), tr("Learning rate at the end of the cosine decay (equal to the peak: constant)"));
    opt->addRow(tr("Final learning rate"), m_minLr);
    m_weightDecay = dspin(0, 10, 0, 4, 0.01, tr("AdamW decoupled weight decay"));
    opt->addRow(tr("Weight decay"), m_weightDecay);
    m_clip = dspin(0, 1000, 1, 3, 0.1, tr("Maximum global gradient norm; 0: no clipping"));
    opt->addRow(tr("Gradient clip"), m_clip);
    m_seed = spin(0, 2147483647, 0, tr("Seed of the chunk order, the adapters' initialisation and dropout"));
    opt->addRow(tr("Seed"), m_seed);
    m_precision = new QComboBox;
    m_precision->addItem(tr("float32"), QStringLiteral("float32"));
    m_precision->addItem(tr("bfloat16 autocast (float32 weights)"), QStringLiteral("bfloat16"));
    m_precision->setToolTip(tr("bfloat16 runs the matmuls in bfloat16 (CPU autocast); weights and optimizer stay float32"));
    opt->addRow(tr("Precision"), m_precision);

    QFormLayout* runs = group(tr("Evaluation, checkpoints and output"));
    m_evalEvery = spin(0, 1000000, 4, tr("Steps between evaluations of the evaluation text (0: before and after only)"));
    runs->addRow(tr("Evaluate every"), m_evalEvery);
    m_checkpoint = new QLineEdit;
    m_checkpoint->setPlaceholderText(tr("none"));
    m_checkpoint->setToolTip(tr("Checkpoint file: written on a cancel (trained tensors, AdamW state, the loss curve)"));
    runs->addRow(tr("Checkpoint"), fileRow(m_checkpoint, tr("Checkpoint file"), true));
    m_resume = new QCheckBox(tr("Resume from the checkpoint (same settings and text)"));
    runs->addRow(QString(), m_resume);
    m_out = new QLineEdit;
    m_out->setPlaceholderText(tr("not saved (kept in the studio)"));
    m_out->setToolTip(tr("Folder for the healed model (compressed, or dense for a dense model), written atomically"));
    runs->addRow(tr("Save healed model"), fileRow(m_out, tr("Folder for the healed model"), true));
    m_peftOut = new QLineEdit;
    m_peftOut->setPlaceholderText(tr("not written"));
    m_peftOut->setToolTip(tr("LoRA only: the adapters also in PEFT's layout (adapter_config.json, adapter_model.safetensors; "
                             "base_model/ beside them when the model is compressed)"));
    runs->addRow(tr("PEFT adapter"), fileRow(m_peftOut, tr("Folder for the PEFT adapter"), true));

    auto* buttons = new QHBoxLayout;
    m_run = new QPushButton(tr("&Train"));
    m_run->setToolTip(tr("Train a copy of the model on the engine thread; the studio's model becomes the healed one when it ends"));
    m_cancel = new QPushButton(tr("Cancel"));
    m_cancel->setToolTip(tr("Stop after the current step (a checkpoint is written when one is set)"));
    buttons->addWidget(m_run);
    buttons->addWidget(m_cancel);
    buttons->addStretch(1);
    v->addLayout(buttons);
    v->addStretch(1);

    connect(m_train, &QComboBox::currentIndexChanged, this, &FinetuneView::updateEnabled);
    connect(m_steps, &QSpinBox::valueChanged, this, &FinetuneView::updateEnabled);
    connect(m_checkpoint, &QLineEdit::textChanged, this, &FinetuneView::updateEnabled);
    connect(m_run, &QPushButton::clicked, this, &FinetuneView::trainRequested);
    connect(m_cancel, &QPushButton::clicked, this, &FinetuneView::cancelRequested);
    return form;
}

void FinetuneView::updateEnabled()
{
    const bool lora = m_train->currentData().toString() == QStringLiteral("lora");
    for (QWidget* w : std::initializer_list<QWidget*>{m_loraRank, m_loraAlpha, m_loraDropout, m_loraTargets, m_peftOut})
        w->setEnabled(lora);
    m_tokens->setEnabled(m_steps->value() == 0);
    m_resume->setEnabled(!m_checkpoint->text().trimmed().isEmpty());
    m_run->setEnabled(!m_busy && m_hasModel);
    m_cancel->setEnabled(m_busy);
}

void FinetuneView::setModel(const ModelSummary& s)
{
    // Defaults by size: the small models of workshops heal in seconds at lr 1e-3 on 32K tokens (the issue's
    // stories260K runs); larger ones get the usual LoRA-scale rates and a bigger budget, one chunk per pass with
    // accumulation so that memory stays that of one chunk.
    const bool small = s.parameters < 50'000'000;
    m_context->setValue(int(std::min<int64_t>(512, s.config.maxPositions > 0 ? s.config.maxPositions : 512)));
    m_lr->setText(rateText(small ? 1e-3 : s.parameters < 2'000'000'000 ? 2e-4 : 1e-4));
    m_minLr->setText(QStringLiteral("0"));
    m_steps->setValue(0);
    m_tokens->setValue(small ? 32768 : 262144);
    m_batch->setValue(small ? 4 : 1);
    m_accumulation->setValue(small ? 1 : 8);
    m_warmup->setValue(small ? 2 : 10);
    m_evalEvery->setValue(small ? 4 : 50);
    setCompressedAvailable(false);
    updateEnabled();
}

void FinetuneView::setCompressedAvailable(bool available, const QString& description)
{
    m_target->setText(available ? tr("Trains the compressed model (%1).").arg(description)
                                : tr("Trains the loaded model (no compressed copy yet: a dense control run)."));
}

void FinetuneView::setBusy(bool busy, bool hasModel)
{
    m_busy = busy;
    m_hasModel = hasModel;
    updateEnabled();
}

FinetuneJobOptions FinetuneView::options() const
{
    FinetuneJobOptions o;
    o.text = m_text->text().trimmed().toStdString();
    o.evalText = m_evalText->text().trimmed().toStdString();
    o.out = m_out->text().trimmed().toStdString();
    TrainOptions& t = o.train;
    t.train = m_train->currentData().toString().toStdString();
    if (t.train == "lora") {
        o.peftOut = m_peftOut->text().trimmed().toStdString();
        t.loraRank = m_loraRank->value();
        t.loraAlpha = m_loraAlpha->value();
        t.loraDropout = m_loraDropout->value();
        t.loraTargets.clear();
        for (const QString& part : m_loraTargets->text().split(QLatin1Char(','), Qt::SkipEmptyParts))
            t.loraTargets.push_back(part.trimmed().toStdString());
    }
    t.steps = m_steps->value();
    t.tokens = t.steps == 0 ? m_tokens->value() : 0;
    t.context = m_context->value();
    t.evalContext = m_context->value();
    t.batch = m_batch->value();
    t.accumulation = m_accumulation->value();
    t.lr = rate(m_lr, "learning rate");
    t.warmup = m_warmup->value();
    t.minLr = rate(m_minLr, "final learning rate");
    t.weightDecay = m_weightDecay->value();
    t.clip = m_clip->value();
    t.seed = uint64_t(m_seed->value());
    t.precision = m_precision->currentData().toString().toStdString();
    t.evalEvery = m_evalEvery->value();
    t.checkpoint = m_checkpoint->text().trimmed().toStdString();
    t.resume = m_resume->isChecked() && !t.checkpoint.empty();
    return o;
}

void FinetuneView::setOptions(const FinetuneJobOptions& o)
{
    const TrainOptions& t = o.train;
    const int train = m_train->findData(QString::fromStdString(t.train));
    if (train < 0)
        throw Error("Fine-tune: unknown training mode '" + t.train + "'");
    m_train->setCurrentIndex(train);
    m_text->setText(QString::fromStdString(o.text.string()));
    m_evalText->setText(QString::fromStdString(o.evalText.string()));
    m_out->setText(QString::fromStdString(o.out.string()));
    m_peftOut->setText(QString::fromStdString(o.peftOut.string()));
    m_loraRank->setValue(int(t.loraRank));
    m_loraAlpha->setValue(t.loraAlpha);
    m_loraDropout->setValue(t.loraDropout);
    QStringList targets;
    for (const std::string& p : t.loraTargets)
        targets << QString::fromStdString(p);
    m_loraTargets->setText(targets.join(QLatin1Char(',')));
    // An epoch budget (the published lora_train_epoch) has no field: it becomes the steps it means, which the
    // engine computes from the text; the form shows the token budget of those steps when it can.
    m_steps->setValue(int(t.steps));
    if (t.tokens > 0)
        m_tokens->setValue(int(std::min<int64_t>(t.tokens, m_tokens->maximum())));
    m_context->setValue(int(t.context));
    m_batch->setValue(int(t.batch));
    m_accumulation->setValue(int(t.accumulation));
    m_lr->setText(rateText(t.lr));
    m_warmup->setValue(int(t.warmup));
    m_minLr->setText(rateText(t.minLr));
    m_weightDecay->setValue(t.weightDecay);
    m_clip->setValue(t.clip);
    m_seed->setValue(int(t.seed));
    m_precision->setCurrentIndex(std::max(0, m_precision->findData(QString::fromStdString(t.precision))));
    m_evalEvery->setValue(int(t.evalEvery));
    m_checkpoint->setText(QString::fromStdString(t.checkpoint.string()));
    m_resume->setChecked(t.resume);
    updateEnabled();
}

void FinetuneView::startRun()
{
    for (int i = 0; i < m_plot->graphCount(); ++i)
        m_plot->graph(i)->data()->clear();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    m_status->setText(tr("Training…"));
}

void FinetuneView::addStep(const TrainStep& s)
{
    m_plot->graph(0)->addData(double(s.step), s.loss);
    if (s.evalPpl)
        m_plot->graph(1)->addData(double(s.step), *s.evalPpl);
    m_plot->xAxis->setRange(0, double(std::max<int64_t>(s.steps, 1)));
    bool found = false;
    const QCPRange loss = m_plot->graph(0)->data()->valueRange(found);
    if (found)
        m_plot->yAxis->setRange(std::max(0.0, loss.lower * 0.95), loss.upper * 1.05 + 1e-9);
    if (m_plot->graph(1)->dataCount() > 0) {
        const QCPRange ppl = m_plot->graph(1)->data()->valueRange(found);
        m_plot->yAxis2->setRange(ppl.lower / 1.2, ppl.upper * 1.2);
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    m_status->setText(tr("Step %1 / %2 · loss %3 · %4 tokens/s · ETA %5%6")
                          .arg(s.step)
                          .arg(s.steps)
                          .arg(s.loss, 0, 'f', 4)
                          .arg(s.tokensPerSecond, 0, 'f', 0)
                          .arg(eta(s.etaSeconds))
                          .arg(s.evalPpl ? tr(" · eval PPL %1").arg(*s.evalPpl, 0, 'f', 3) : QString()));
}

void FinetuneView::showResult(const FinetuneSummary& s)
{
    const TrainResult& r = s.result;
    // The curve as the run reports it (a resumed run: the steps before the cancel too), with the points before/after.
    for (int i = 0; i < m_plot->graphCount(); ++i)
        m_plot->graph(i)->data()->clear();
    for (const TrainStep& st : r.history)
        addStep(st);
    if (r.pplBefore)
        m_plot->graph(1)->addData(0, *r.pplBefore);
    if (r.pplAfter)
        m_plot->graph(1)->addData(double(r.steps), *r.pplAfter);
    if (m_plot->graph(1)->dataCount() > 0) {
        bool found = false;
        const QCPRange ppl = m_plot->graph(1)->data()->valueRange(found);
        m_plot->yAxis2->setRange(ppl.lower / 1.2, ppl.upper * 1.2);
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    QString text = tr("%1: %2 steps, %3 tokens (%4 a step), %5 trainable parameters, final loss %6; %7 s, %8 tokens/s.")
                       .arg(QString::fromStdString(s.record.value("train", std::string())))
                       .arg(r.steps)
                       .arg(r.tokens)
                       .arg(r.tokensPerStep)
                       .arg(r.trainableParameters)
                       .arg(r.finalLoss, 0, 'f', 4)
                       .arg(r.seconds, 0, 'f', 1)
                       .arg(r.tokensPerSecond, 0, 'f', 0);
    if (r.pplBefore && r.pplAfter)
        text += tr(" Evaluation PPL %1 → %2.").arg(*r.pplBefore, 0, 'f', 3).arg(*r.pplAfter, 0, 'f', 3);
    else if (r.pplAfter)
        text += tr(" Evaluation PPL after %1.").arg(*r.pplAfter, 0, 'f', 3);
    if (r.resumedFrom > 0)
        text += tr(" Resumed at step %1.").arg(r.resumedFrom);
    text += tr(" Parameters %1 before, %2 after.").arg(s.parametersBefore).arg(s.parametersAfter);
    if (!s.out.empty())
        text += tr(" Saved to %1.").arg(QString::fromStdString(s.out.string()));
    if (!s.peftOut.empty())
        text += tr(" PEFT adapter in %1.").arg(QString::fromStdString(s.peftOut.string()));
    text += tr(" The healed model is now the studio's compressed model: Evaluate measures it.");
    m_status->setText(text);
}

} // namespace basis::ui
