#include "demo_model_dialog.h"

#include "synth.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QStandardPaths>
#include <QVBoxLayout>

namespace basis::ui {

QString defaultDemoFolder(const QString& preset)
{
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath(QStringLiteral("demo-models/") + preset);
}

DemoModelDialog::DemoModelDialog(QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("Make a demo model"));
    auto* warning = new QLabel(tr("<p>The synthetic checkpoint writer makes a model of a real shape with <b>RANDOM "
                                  "weights</b>. Every control, count and plot works on it; its perplexity and text "
                                  "are meaningless.</p>"));
    warning->setWordWrap(true);
    m_preset = new QComboBox;
    for (const std::string& name : synthPresetNames())
        m_preset->addItem(QString::fromStdString(name));
    m_preset->setCurrentText(QStringLiteral("llama-micro"));
    m_folder = new QLineEdit(defaultDemoFolder(m_preset->currentText()));
    connect(m_preset, &QComboBox::currentTextChanged, this, [this](const QString& p) { m_folder->setText(defaultDemoFolder(p)); });
    m_tokenizer = new QLineEdit;
    m_tokenizer->setPlaceholderText(tr("optional: a folder whose tokenizer files are copied"));
    m_tokenizer->setToolTip(tr("Without a tokenizer the model cannot be calibrated. Its vocabulary must fit the shape "
                               "(the micro shapes have 512 tokens, like stories260K's tokenizer)."));
    auto* form = new QFormLayout;
    form->addRow(tr("Shape"), m_preset);
    form->addRow(tr("Folder"), m_folder);
    form->addRow(tr("Tokenizer from"), m_tokenizer);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(warning);
    layout->addLayout(form);
    layout->addWidget(buttons);
    resize(560, sizeHint().height());
}

QString DemoModelDialog::preset() const { return m_preset->currentText(); }
QString DemoModelDialog::folder() const { return m_folder->text().trimmed(); }
QString DemoModelDialog::tokenizerFolder() const { return m_tokenizer->text().trimmed(); }

} // namespace basis::ui
