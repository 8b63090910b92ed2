#include "calibration_panel.h"

#include "workspace.h"

#include "data_folder.h"
#include "datasets.h"
#include "plan_text.h"

#include <QComboBox>
#include <QCryptographicHash>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
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

std::filesystem::path automaticCacheDir(const std::filesystem::path& modelDir, const CalibrateOptions& s)
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

namespace {
const QString kTextFile = QStringLiteral("file");
const QString kDefaultPreset = QStringLiteral("tinystories");

QHBoxLayout* rowOf(QWidget* edit, QWidget* button)
{
    auto* l = new QHBoxLayout;
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(edit, 1);
    l->addWidget(button);
    return l;
}
} // namespace

CalibrationPanel::CalibrationPanel(QWidget* parent) : QWidget(parent)
{
    m_source = new QComboBox;
    m_source->addItem(tr("text file"), kTextFile);
    for (const std::string& name : datasetPresets())
        m_source->addItem(tr("%1 (dataset preset)").arg(QString::fromStdString(name)), QString::fromStdString(name));

    m_dataDir = new QLineEdit;
    m_dataDir->setPlaceholderText(tr("folder holding tinystories-valid/, wikitext-2-raw/, ptb/, c4/"));
    m_dataDir->setText(rememberedDataDir());
    auto* dataBrowse = new QToolButton;
    dataBrowse->setText(QStringLiteral("…"));
    dataBrowse->setToolTip(tr("Choose the data folder of the dataset presets (shared with the Evaluate tab)"));
    connect(dataBrowse, &QToolButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Data folder"), m_dataDir->text());
        if (!d.isEmpty())
            setDataDir(d);
    });
    m_dataRow = new QWidget;
    m_dataRow->setLayout(rowOf(m_dataDir, dataBrowse));

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
    m_textRow = new QWidget;
    m_textRow->setLayout(rowOf(m_text, browse));
    m_presetFile = new QLabel;   // the file relative to the data folder: short, so it never wraps; the full path in its tooltip
    m_presetFile->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_samples = new QSpinBox;
    m_samples->setRange(0, 1000000);
    m_samples->setSpecialValueText(tr("all chunks"));
    m_context = new QSpinBox;
    m_context->setRange(2, 1 << 20);
    m_context->setSuffix(tr(" tokens"));
    m_sampling = new QComboBox;
    m_sampling->addItem(tr("sequential"), QStringLiteral("sequential"));
    m_sampling->addItem(tr("random"), QStringLiteral("random"));
    m_sampling->setToolTip(tr("Sequential: consecutive chunks from the start. Random: chunks at random starts (seeded)."));
    m_device = new QComboBox;
    fillDevices();

    m_run = new QPushButton(tr("&Calibrate"));
    connect(m_run, &QPushButton::clicked, this, &CalibrationPanel::calibrateRequested);
    m_status = new QLabel(tr("Not calibrated."));
    m_status->setWordWrap(true);

    // Typing or setting a file path means the file is wanted, whatever the source said.
    connect(m_text, &QLineEdit::textChanged, this, [this] {
        if (!m_settingText && !preset().isEmpty())
            setPreset({});
    });
    connect(m_source, &QComboBox::currentIndexChanged, this, &CalibrationPanel::updateForm);
    connect(m_dataDir, &QLineEdit::textChanged, this, &CalibrationPanel::updateForm);
    connect(m_dataDir, &QLineEdit::editingFinished, this, [this] { rememberDataDir(m_dataDir->text().trimmed()); });
    for (QSpinBox* s : {m_samples, m_context})
        connect(s, &QSpinBox::valueChanged, this, &CalibrationPanel::updateForm);
    connect(m_device, &QComboBox::currentIndexChanged, this, &CalibrationPanel::updateForm);

    auto* form = new QFormLayout;
    auto* sourceLabel = new QLabel(tr("So&urce"));
    sourceLabel->setBuddy(m_source);
    form->addRow(sourceLabel, m_source);
    form->addRow(tr("Data folder"), m_dataRow);
    auto* textLabel = new QLabel(tr("&Text"));   // a layout row gets no buddy from addRow
    textLabel->setBuddy(m_text);
    form->addRow(textLabel, m_textRow);
    form->addRow(QString(), m_presetFile);
    form->addRow(tr("&Samples"), m_samples);
    form->addRow(tr("C&ontext"), m_context);
    form->addRow(tr("Sa&mpling"), m_sampling);
    form->addRow(tr("&Device"), m_device);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(form);
    layout->addWidget(m_run);
    layout->addWidget(m_status);
    setSetup({});
}

void CalibrationPanel::fillDevices()
{
    // Asked of LibTorch through the torch-free Workspace: this file must not include torch (docs/ARCHITECTURE.md).
    const ComputeDevices d = Workspace::computeDevices();
    m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    for (int i = 0; i < d.cudaCount; ++i)
        m_device->addItem(tr("CUDA %1").arg(i), QStringLiteral("cuda:%1").arg(i));
    QString why;
    if (d.cudaCount == 0) {
        why = d.cudaBuilt ? tr("no CUDA device found") : tr("this LibTorch build has no CUDA support");
        m_device->addItem(tr("CUDA (unavailable)"), QStringLiteral("cuda:0"));
        m_device->setItemData(1, 0, Qt::UserRole - 1);   // listed, greyed: the choice exists in other builds
        m_device->setItemData(1, why, Qt::ToolTipRole);
    }
    m_device->setProperty("cudaNote", why);
}

QString CalibrationPanel::preset() const
{
    const QString d = m_source->currentData().toString();
    return d == kTextFile ? QString() : d;
}

void CalibrationPanel::setPreset(const QString& name)
{
    const int i = m_source->findData(name.isEmpty() ? kTextFile : QString::fromStdString(canonicalDatasetName(name.toStdString())));
    m_source->setCurrentIndex(std::max(0, i));
}

void CalibrationPanel::setDataDir(const QString& dir)
{
    m_dataDir->setText(dir);
    rememberDataDir(dir);
}

QString CalibrationPanel::dataDir() const { return m_dataDir->text().trimmed(); }

void CalibrationPanel::updateForm()
{
    const QString name = preset();
    m_dataRow->setEnabled(!name.isEmpty());
    m_textRow->setEnabled(name.isEmpty());
    m_presetFile->setVisible(!name.isEmpty());
    QString file;
    if (!name.isEmpty()) {
        file = QString::fromStdString(datasetPath(name.toStdString(), "train", dataDir().toStdString()).string());
        const bool exists = QFileInfo::exists(file);
        const QString relative =
            QDir::toNativeSeparators(QString::fromStdString(datasetPath(name.toStdString(), "train", {}).string()));
        m_presetFile->setText(exists ? tr("reads %1").arg(relative)
                                     : tr("<span style='color:#b00'>missing: %1</span>").arg(relative.toHtmlEscaped()));
        m_presetFile->setToolTip(exists ? QDir::toNativeSeparators(file) : tr("not found: %1").arg(QDir::toNativeSeparators(file)));
    }
    m_source->setToolTip(name.isEmpty()
                             ? tr("Calibrate on a plain text file, or on a dataset preset's train split read from the "
                                  "data folder (tinystories: tinystories-valid/calib.txt).")
                             : tr("%1's train split: %2, read as plain text.").arg(name, file));
    m_dataDir->setToolTip(tr("Where the presets' folders are; remembered, and shared with the Evaluate tab."));

    const int64_t samples = m_samples->value(), context = m_context->value();
    m_samples->setToolTip(samples == 0
                              ? tr("Chunks of %1 tokens run through the model; 0 (now) uses every full chunk of the "
                                   "text, so the tokens seen are the text's length rounded down to %1.").arg(context)
                              : tr("Chunks run through the model: %1 × %2 tokens = %3 tokens (0 uses every full chunk).")
                                    .arg(samples).arg(context).arg(formatCount(samples * context)));
    m_context->setToolTip(tr("Tokens per calibration chunk: %1 × %2 = %3 tokens in all%4.")
                              .arg(samples == 0 ? tr("all chunks") : QString::number(samples))
                              .arg(context)
                              .arg(samples == 0 ? tr("the whole text") : formatCount(samples * context))
                              .arg(m_maxPositions > 1 ? tr("; this model reads at most %1").arg(m_maxPositions) : QString()));
    const QString note = m_device->property("cudaNote").toString();
    m_device->setToolTip(tr("Where the calibration passes and the compression run. CPU uses the loaded model. A CUDA "
                            "device loads a copy of the weights on that GPU for the calibration (freed afterwards) and "
                            "keeps the compressed model there, so its evaluations run on the GPU while the dense model "
                            "stays on the CPU: compare speeds on one device.%1")
                             .arg(note.isEmpty() ? QString() : tr("\nCUDA is unavailable: %1.").arg(note)));
    m_run->setToolTip(tr("Collect xᵀx at every projection input on the engine thread (Ctrl+K), on %1: %2. A matching "
                         "cache is reused; a cancelled run leaves no cache.")
                          .arg(m_device->currentText(),
                               samples == 0 ? tr("every full chunk of %1 tokens").arg(context)
                                            : tr("%1 tokens").arg(formatCount(samples * context))));
}

void CalibrationPanel::setModel(const std::filesystem::path& modelDir, int64_t maxPositions)
{
    m_modelDir = modelDir;
    m_maxPositions = maxPositions;
    if (maxPositions > 1)
        m_context->setMaximum(int(std::min<int64_t>(maxPositions, 1 << 20)));
    updateForm();
    setStatus(tr("Not calibrated."));
}

void CalibrationPanel::setSetup(const CalibrateOptions& s)
{
    m_hidden = s;
    // A preset's train file (as a config's dataset_name resolves to) selects that preset and its data folder.
    QString matched;
    const std::filesystem::path text = s.text.lexically_normal();
    for (const std::string& name : datasetPresets()) {
        const std::filesystem::path relative = datasetPath(name, "train", {});
        if (!text.empty() && text.has_parent_path() && text.filename() == relative.filename() &&
            text.parent_path().filename() == relative.parent_path().filename()) {
            matched = QString::fromStdString(name);
            setDataDir(QString::fromStdString(text.parent_path().parent_path().string()));
            break;
        }
    }
    m_settingText = true;
    if (matched.isEmpty())
        m_text->setText(QString::fromStdString(s.text.string()));
    m_settingText = false;
    if (s.text.empty()) {
        // No text chosen: the TinyStories text that ships with the program, so Calibrate works at once. The folder
        // shown is not remembered: the user's own data folder stays the one for other presets.
        matched = kDefaultPreset;
        m_dataDir->setText(dataDirHolding(dataDir(), matched));
    }
    setPreset(matched);
    m_samples->setValue(int(s.samples));
    m_context->setValue(int(s.context));
    m_sampling->setCurrentIndex(std::max(0, m_sampling->findData(QString::fromStdString(s.sampling))));
    const int device = m_device->findData(QString::fromStdString(s.device));
    m_device->setCurrentIndex(device >= 0 && m_device->itemData(device, Qt::UserRole - 1).isNull() ? device : 0);
    m_cacheDir = s.cacheDir;
    updateForm();
}

CalibrateOptions CalibrationPanel::setup() const
{
    CalibrateOptions s = m_hidden;
    const QString name = preset();
    s.text = name.isEmpty() ? std::filesystem::path(m_text->text().trimmed().toStdString())
                            : datasetPath(name.toStdString(), "train", dataDir().toStdString());
    s.dataset = name.toStdString();
    s.dataDir = name.isEmpty() ? std::filesystem::path() : std::filesystem::path(dataDir().toStdString());
    s.samples = m_samples->value();
    s.context = m_context->value();
    s.sampling = m_sampling->currentData().toString().toStdString();
    s.device = m_device->currentData().toString().toStdString();
    s.cacheDir = m_cacheDir.empty() ? automaticCacheDir(m_modelDir, s) : m_cacheDir;
    // A cache of other text or settings is recomputed (and the log says so) rather than refused: the cache folder
    // follows the settings unless a config named one.
    s.recomputeOnMismatch = true;
    return s;
}

void CalibrationPanel::setStatus(const QString& text, const QString& tooltip)
{
    m_status->setText(text);
    m_status->setToolTip(tooltip);
}

void CalibrationPanel::setBusy(bool busy) { m_run->setEnabled(!busy); }

} // namespace basis::ui
