#include "start_page.h"

#include <QDir>
#include <QFileInfo>
#include <QGridLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace basis::ui {

StartPage::StartPage(QWidget* parent) : QWidget(parent)
{
    auto* title = new QLabel(tr("<h1>Basis Studio</h1><p>Compress a language model with shared low-rank bases and "
                                "see what each choice costs before running anything.</p>"));
    title->setWordWrap(true);

    m_builtin = new QPushButton(tr("Open the &built-in stories260K (real, 260K parameters)"));
    m_builtin->setToolTip(tr("Karpathy's pretrained TinyStories model (Llama-2 architecture, 5 layers; MIT), shipped "
                             "with Basis Studio together with TinyStories texts for calibration and evaluation "
                             "(CDLA-Sharing-1.0): calibrate and compress it at once."));
    auto* open = new QPushButton(tr("&Open a model folder…"));
    open->setToolTip(tr("A Hugging Face checkpoint folder: config.json, model.safetensors (or shards) and a tokenizer "
                        "(Ctrl+O)."));
    auto* demo = new QPushButton(tr("Make a &demo model (RANDOM weights)…"));
    demo->setToolTip(tr("Writes a small randomly initialised checkpoint of a real shape: fine for learning the "
                        "controls, useless for perplexity or generation."));
    auto* config = new QPushButton(tr("Open a YAML &config…"));
    config->setToolTip(tr("A basis-cli run configuration: opens its model and sets the controls (Ctrl+Shift+O)."));
    for (QPushButton* b : {m_builtin, open, demo, config})
        b->setMinimumHeight(36);
    m_builtin->setDefault(true);
    connect(m_builtin, &QPushButton::clicked, this, &StartPage::builtinRequested);
    connect(open, &QPushButton::clicked, this, &StartPage::openRequested);
    connect(demo, &QPushButton::clicked, this, &StartPage::demoRequested);
    connect(config, &QPushButton::clicked, this, &StartPage::configRequested);

    m_recent = new QListWidget;
    m_recent->setToolTip(tr("Double-click to open."));
    connect(m_recent, &QListWidget::itemActivated, this,
            [this](QListWidgetItem* item) { emit openDirRequested(item->data(Qt::UserRole).toString()); });

    auto* drop = new QLabel(tr("Or drop a model folder anywhere on this window."));
    drop->setStyleSheet(QStringLiteral("color: palette(mid);"));

    auto* column = new QVBoxLayout;
    column->addWidget(title);
    column->addSpacing(12);
    column->addWidget(m_builtin);
    column->addWidget(open);
    column->addWidget(demo);
    column->addWidget(config);
    column->addSpacing(12);
    column->addWidget(new QLabel(tr("<b>Recent models</b>")));
    column->addWidget(m_recent, 1);
    column->addWidget(drop);

    // A readable column in the middle of a wide window.
    auto* grid = new QGridLayout(this);
    grid->addLayout(column, 0, 1);
    grid->setColumnStretch(0, 1);
    grid->setColumnStretch(1, 2);
    grid->setColumnStretch(2, 1);
}

void StartPage::setRecent(const QStringList& dirs)
{
    m_recent->clear();
    for (const QString& d : dirs) {
        const QFileInfo info(d);
        // Checkpoints often sit in folders named "hf": the parent's name says which model it is.
        const QString name = info.dir().dirName() + QLatin1Char('/') + info.fileName();
        auto* item = new QListWidgetItem(QStringLiteral("%1  —  %2").arg(name, QDir::toNativeSeparators(d)));
        item->setData(Qt::UserRole, d);
        item->setToolTip(d);
        m_recent->addItem(item);
    }
    if (dirs.isEmpty()) {
        auto* none = new QListWidgetItem(tr("No recent models yet."));
        none->setFlags(Qt::NoItemFlags);
        m_recent->addItem(none);
    }
}

} // namespace basis::ui
