#pragma once
// Calibration controls: a text file or a dataset preset's train split under the data folder, samples, context,
// sampling, the device the passes run on, and the cache status. The cache folder is derived from the model and
// the settings unless a config named one.
#include "job_options.h"
#include "severity.h"
#include "job_results.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace basis::ui {

class CalibrationPanel : public QWidget {
    Q_OBJECT
public:
    explicit CalibrationPanel(QWidget* parent = nullptr);

    void setModel(const std::filesystem::path& modelDir, int64_t maxPositions);
    // A config's cache path is kept; an empty one means automatic. No text: the tinystories preset, from the data
    // folder when it holds it, else from the built-in data.
    void setSetup(const CalibrateOptions& setup);
    CalibrateOptions setup() const;                   // with the cache folder resolved
    bool cacheIsAutomatic() const { return m_cacheDir.empty(); }
    void setStatus(const QString& text, const QString& tooltip = {});
    void setBusy(bool busy);

    // The preset chosen ("tinystories", ...), or empty for a text file.
    QString preset() const;
    void setPreset(const QString& name);   // empty: text file
    void setDataDir(const QString& dir);
    QString dataDir() const;

    QComboBox* sourceCombo() const { return m_source; }
    QComboBox* deviceCombo() const { return m_device; }
    QLineEdit* dataDirEdit() const { return m_dataDir; }
    QLineEdit* textEdit() const { return m_text; }
    QSpinBox* samplesSpin() const { return m_samples; }
    QSpinBox* contextSpin() const { return m_context; }
    QComboBox* samplingCombo() const { return m_sampling; }
    QPushButton* runButton() const { return m_run; }

signals:
    void calibrateRequested();

private:
    void updateForm();   // enabled rows, the preset's file, tooltips with the current numbers
    void fillDevices();

    QComboBox* m_source = nullptr;
    QLineEdit* m_dataDir = nullptr;
    QWidget* m_dataRow = nullptr;
    QWidget* m_textRow = nullptr;
    QLabel* m_presetFile = nullptr;
    QComboBox* m_device = nullptr;
    QLineEdit* m_text = nullptr;
    QSpinBox* m_samples = nullptr;
    QSpinBox* m_context = nullptr;
    QComboBox* m_sampling = nullptr;
    QPushButton* m_run = nullptr;
    QLabel* m_status = nullptr;
    std::filesystem::path m_modelDir, m_cacheDir;
    int64_t m_maxPositions = 0;
    bool m_settingText = false;                       // the panel itself is filling the text field
    CalibrateOptions m_hidden;                        // seed, batch, bos: kept from a config, not shown yet
};

// <cache location>/calibration/<model folder>-<hash of model path and settings>
std::filesystem::path automaticCacheDir(const std::filesystem::path& modelDir, const CalibrateOptions& setup);

} // namespace basis::ui
