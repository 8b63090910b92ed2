#include "calibration_panel.h"

#include <QComboBox>
#include <QCryptographicHash>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QToolButton>
#include <QVBoxLayout>

namespace basis::ui {

std::filesystem::path automaticCacheDir(const std::filesystem::path& modelDir, const CalibrationSetup& s)
{
    if (modelDir.empty() || s.text.empty())
        return {};
    const QString key = QStringLiteral("%1|%2|%3|%4|%5|%6|%7|%8")
                            .arg(QString::fromStdString(std::filesystem::absolute(modelDir).string()),
                                 QString::fromStdString(std::filesystem::absolute(s.text).string()))
                            .arg(s.samples)
                            .arg(s.context)
                            .arg(QString::fromStdString(s.sampling))
                            .arg(qulonglong(s.seed))
                            .arg(s.batch)
                            .arg(QString::fromStdString(s.bos));
    const QString hash = QCryptographicHash::hash(key.toUtf8(), QCryptographicHash::Sha1).toHex().left(12);
    const QString base = QStandardPaths::writableLocation(QStandardPaths::CacheLocation);
    return std::filesystem::path(base.toStdString()) / "calibration" /
           (modelDir.filename().string() + "-" + hash.toStdString());
}

CalibrationPanel::CalibrationPanel(QWidget* parent) : QWidget(parent)
{
    m_text = new QLineEdit;
    m_text->setPlaceholderText(tr("a plain text file"));
    auto* browse = new QToolButton;
    browse->setText(QStringLiteral("…"));
    browse->setToolTip(tr("Choose a calibration text file"));
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Calibration text"), m_text->text(),
                                                       tr("Text (*.txt);;All files (*)"));
        if (!f.isEmpty())
            m_text->setText(f);
    });
    auto* textRow = new QHBoxLayout;
    textRow->addWidget(m_text, 1);
    textRow->addWidget(browse);

    m_samples = new QSpinBox;
    m_samples->setRange(0, 1000000);
    m_samples->setSpecialValueText(tr("all chunks"));
    m_samples->setToolTip(tr("Chunks of `context` tokens run through the model; 0 uses every full chunk of the text."));
    m_context = new QSpinBox;
    m_context->setRange(2, 1 << 20);
    m_context->setSuffix(tr(" tokens"));
    m_context->setToolTip(tr("Tokens per calibration chunk."));
    m_sampling = new QComboBox;
    m_sampling->addItem(tr("sequential"), QStringLiteral("sequential"));
    m_sampling->addItem(tr("random"), QStringLiteral("random"));
    m_sampling->setToolTip(tr("Sequential: consecutive chunks from the start. Random: chunks at random starts (seeded)."));

    m_run = new QPushButton(tr("&Calibrate"));
    m_run->setToolTip(tr("Collect xᵀx at every projection input on the engine thread (Ctrl+K). A matching cache is "
                         "reused; a cancelled run leaves no cache."));
    connect(m_run, &QPushButton::clicked, this, &CalibrationPanel::calibrateRequested);
    m_status = new QLabel(tr("Not calibrated."));
    m_status->setWordWrap(true);

    auto* form = new QFormLayout;
    auto* textLabel = new QLabel(tr("&Text"));   // a layout row gets no buddy from addRow
    textLabel->setBuddy(m_text);
    form->addRow(textLabel, textRow);
    form->addRow(tr("&Samples"), m_samples);
    form->addRow(tr("C&ontext"), m_context);
    form->addRow(tr("Sa&mpling"), m_sampling);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(form);
    layout->addWidget(m_run);
    layout->addWidget(m_status);
    setSetup({});
}

void CalibrationPanel::setModel(const std::filesystem::path& modelDir, int64_t maxPositions)
{
    m_modelDir = modelDir;
    if (maxPositions > 1) {
        m_context->setMaximum(int(std::min<int64_t>(maxPositions, 1 << 20)));
        m_context->setToolTip(tr("Tokens per calibration chunk (this model reads at most %1).").arg(maxPositions));
    }
    setStatus(tr("Not calibrated."));
}

void CalibrationPanel::setSetup(const CalibrationSetup& s)
{
    m_hidden = s;
    m_text->setText(QString::fromStdString(s.text.string()));
    m_samples->setValue(int(s.samples));
    m_context->setValue(int(s.context));
    m_sampling->setCurrentIndex(std::max(0, m_sampling->findData(QString::fromStdString(s.sampling))));
    m_cacheDir = s.cacheDir;
}

CalibrationSetup CalibrationPanel::setup() const
{
    CalibrationSetup s = m_hidden;
    s.text = m_text->text().trimmed().toStdString();
    s.samples = m_samples->value();
    s.context = m_context->value();
    s.sampling = m_sampling->currentData().toString().toStdString();
    s.cacheDir = m_cacheDir.empty() ? automaticCacheDir(m_modelDir, s) : m_cacheDir;
    return s;
}

void CalibrationPanel::setStatus(const QString& text, const QString& tooltip)
{
    m_status->setText(text);
    m_status->setToolTip(tooltip);
}

void CalibrationPanel::setBusy(bool busy) { m_run->setEnabled(!busy); }

} // namespace basis::ui
