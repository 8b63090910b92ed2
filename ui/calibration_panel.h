#pragma once
// Calibration controls: text file, samples, context, sampling, and the cache status. The cache folder is
// derived from the model and the settings unless a config named one.
#include "engine_session.h"

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
    void setSetup(const CalibrationSetup& setup);     // a config's cache path is kept; an empty one means automatic
    CalibrationSetup setup() const;                   // with the cache folder resolved
    bool cacheIsAutomatic() const { return m_cacheDir.empty(); }
    void setStatus(const QString& text, const QString& tooltip = {});
    void setBusy(bool busy);

    QLineEdit* textEdit() const { return m_text; }
    QSpinBox* samplesSpin() const { return m_samples; }
    QSpinBox* contextSpin() const { return m_context; }
    QPushButton* runButton() const { return m_run; }

signals:
    void calibrateRequested();

private:
    QLineEdit* m_text = nullptr;
    QSpinBox* m_samples = nullptr;
    QSpinBox* m_context = nullptr;
    QComboBox* m_sampling = nullptr;
    QPushButton* m_run = nullptr;
    QLabel* m_status = nullptr;
    std::filesystem::path m_modelDir, m_cacheDir;
    CalibrationSetup m_hidden;                        // seed, batch, bos: kept from a config, not shown yet
};

// <cache location>/calibration/<model folder>-<hash of model path and settings>
std::filesystem::path automaticCacheDir(const std::filesystem::path& modelDir, const CalibrationSetup& setup);

} // namespace basis::ui
