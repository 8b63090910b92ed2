#include "generate_view.h"

#include <QFont>
#include <QFontDatabase>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTextEdit>
#include <QVBoxLayout>

namespace basis::ui {

GenerateView::GenerateView(QWidget* parent) : QWidget(parent)
{
    m_prompt = new QPlainTextEdit;
    m_prompt->setPlainText(tr("Once upon a time"));
    m_prompt->setToolTip(tr("Tokenized as an evaluation text: BOS once at the start when the tokenizer adds one."));
    m_prompt->setMaximumHeight(m_prompt->fontMetrics().lineSpacing() * 5 + 16);
    m_maxTokens = new QSpinBox;
    m_maxTokens->setRange(1, 4096);
    m_maxTokens->setValue(int(GenerateJobOptions{}.maxNewTokens));
    m_maxTokens->setSuffix(tr(" tokens"));
    m_maxTokens->setToolTip(tr("New tokens at most; greedy decoding stops earlier at the end-of-sequence token."));
    m_run = new QPushButton(tr("&Generate"));
    m_run->setToolTip(tr("Continue the prompt greedily with the dense model, then with the compressed one, on the "
                         "engine thread (Ctrl+Return)."));
    m_run->setDefault(true);
    connect(m_run, &QPushButton::clicked, this, &GenerateView::generateRequested);

    auto* promptBox = new QGroupBox(tr("Prompt"));
    auto* promptLayout = new QHBoxLayout(promptBox);
    promptLayout->addWidget(m_prompt, 1);
    auto* side = new QVBoxLayout;
    auto* maxLabel = new QLabel(tr("&Max new tokens"));
    maxLabel->setBuddy(m_maxTokens);
    side->addWidget(maxLabel);
    side->addWidget(m_maxTokens);
    side->addStretch(1);
    side->addWidget(m_run);
    promptLayout->addLayout(side);

    m_dense = makePane(tr("Dense model"));
    m_compressed = makePane(tr("Compressed model"));
    auto* outputs = new QSplitter;
    outputs->setChildrenCollapsible(false);
    outputs->addWidget(m_dense.box);
    outputs->addWidget(m_compressed.box);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(promptBox);
    layout->addWidget(outputs, 1);
    setCompressedAvailable(false);
}

GenerateView::Pane GenerateView::makePane(const QString& title)
{
    Pane p;
    p.box = new QGroupBox(title);
    p.text = new QTextEdit;
    p.text->setReadOnly(true);
    p.text->setToolTip(tr("The prompt (grey) and the model's greedy continuation."));
    QFont f = p.text->font();
    f.setPointSizeF(f.pointSizeF() * 1.15);   // the text is what this tab is for
    p.text->setFont(f);
    p.stats = new QLabel(tr("–"));
    p.stats->setToolTip(tr("New tokens; prefill: the prompt's forward pass and the first token; decode: the other "
                           "tokens one at a time through the KV cache."));
    auto* l = new QVBoxLayout(p.box);
    l->addWidget(p.text, 1);
    l->addWidget(p.stats);
    return p;
}

GenerateJobOptions GenerateView::setup() const
{
    GenerateJobOptions s;
    s.prompt = m_prompt->toPlainText().toStdString();
    s.maxNewTokens = m_maxTokens->value();
    return s;
}

void GenerateView::setPrompt(const QString& prompt) { m_prompt->setPlainText(prompt); }

void GenerateView::setCompressedAvailable(bool available, const QString& description)
{
    m_hasCompressed = available;
    m_compressed.box->setTitle(available ? tr("Compressed model (%1)").arg(description) : tr("Compressed model"));
    if (!available) {
        m_compressed.continuation.clear();
        m_compressed.text->setPlainText(tr("No compressed model yet: compress on the Compression tab (Ctrl+R) to see "
                                           "its continuation here."));
        m_compressed.stats->setText(tr("–"));
    }
}

void GenerateView::setBusy(bool busy) { m_run->setEnabled(!busy); }

void GenerateView::clearOutputs()
{
    for (Pane* p : {&m_dense, &m_compressed}) {
        if (p == &m_compressed && !m_hasCompressed)
            continue;
        p->continuation.clear();
        p->text->clear();
        p->stats->setText(tr("waiting…"));
    }
    m_shownPrompt = m_prompt->toPlainText();
}

void GenerateView::show(Pane& pane, const QString& continuation)
{
    pane.continuation = continuation;
    auto html = [](const QString& s) { return s.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>")); };
    pane.text->setHtml(QStringLiteral("<span style=\"color:#808080\">%1</span>%2").arg(html(m_shownPrompt), html(continuation)));
}

void GenerateView::showOutput(const GenerationOutput& out)
{
    Pane& p = out.model.variant == "compressed" ? m_compressed : m_dense;
    show(p, QString::fromStdString(out.text));
    if (!out.finished) {
        p.stats->setText(tr("%1 tokens so far…").arg(out.newTokens));
        return;
    }
    const double decodeRate = out.newTokens > 1 && out.decodeSeconds > 0 ? double(out.newTokens - 1) / out.decodeSeconds : 0;
    p.stats->setText(tr("%1 new tokens after a %2-token prompt · prefill %3 ms · decode %4 tokens/s")
                         .arg(out.newTokens)
                         .arg(out.promptTokens)
                         .arg(out.prefillSeconds * 1000, 0, 'f', 1)
                         .arg(decodeRate, 0, 'f', 0));
}

QString GenerateView::denseText() const { return m_dense.continuation; }
QString GenerateView::compressedText() const { return m_compressed.continuation; }

} // namespace basis::ui
