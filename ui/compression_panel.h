#pragma once
// The compression controls: method, group size, ratio (slider and spin box in 1 % steps) read as the published
// rule or as an exact budget with its rank allocator, the other methods' settings (MethodSettingsBox), shared /
// private / dense per part (a fused projection such as Phi-3's qkv whole, or its parts q, k, v when its "as parts"
// box is checked), update. Emits settingsChanged on every change,
// while a slider is dragged too, so that the live counts can follow.
#include "architecture.h"
#include "compression_plan.h"

#include <QWidget>

#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGridLayout;
class QSlider;
class QSpinBox;

namespace basis::ui {

class MethodSettingsBox;

class CompressionPanel : public QWidget {
    Q_OBJECT
public:
    explicit CompressionPanel(QWidget* parent = nullptr);

    // Rebuilds the part rows for a model and resets every control to the architecture's defaults.
    void setModel(const ModelConfig& config, const ArchTable& table);
    // Sets every control; parts are resolved as planCompression resolves them (one list alone: the other parts go
    // to the other list). Throws basis::Error for unknown parts or a group size outside 1..layers.
    void setSettings(const CompressionSettings& settings);
    // Explicit shared and private lists: parts set to "dense" are in neither.
    CompressionSettings settings() const;

    QSlider* ratioSlider() const { return m_ratioSlider; }
    QDoubleSpinBox* ratioSpin() const { return m_ratioSpin; }
    QSpinBox* groupSpin() const { return m_groupSpin; }
    QComboBox* methodCombo() const { return m_method; }
    QComboBox* partCombo(const QString& part) const;   // null for an unknown part
    // The box that shows a fused projection ("qkv", "gate_up") as its parts; null when the model has none of that name.
    QCheckBox* splitCheck(const QString& fused) const;
    QCheckBox* updateCheck() const { return m_update; }
    // "ratio" (the published per-matrix rule) or "budget" (exactly that share removed), and the budget's allocator.
    QComboBox* sizeModeCombo() const { return m_sizeMode; }
    QComboBox* allocatorCombo() const { return m_allocator; }
    MethodSettingsBox* methodSettings() const { return m_methodSettings; }

signals:
    void settingsChanged();

private:
    void changed();
    void updateEnabled();
    void updateTooltips();
    // Rebuilds the part rows from the table with the checked fused projections split, each new row keeping the
    // choice of the row it came from (a part takes its fused projection's, a re-fused projection its first part's).
    void rebuildParts();

    ModelConfig m_config;
    ArchTable m_table;
    QComboBox* m_method = nullptr;
    QSpinBox* m_groupSpin = nullptr;
    QSlider* m_ratioSlider = nullptr;
    QDoubleSpinBox* m_ratioSpin = nullptr;
    QCheckBox* m_update = nullptr;
    QComboBox* m_sizeMode = nullptr;
    QComboBox* m_allocator = nullptr;
    MethodSettingsBox* m_methodSettings = nullptr;   // the settings beyond ratio and groups
    QGridLayout* m_partsGrid = nullptr;
    QWidget* m_splitRow = nullptr;
    std::vector<std::pair<QString, QCheckBox*>> m_splitChecks;   // fused projection -> its "as parts" box
    std::vector<std::pair<QString, QComboBox*>> m_parts;   // in the order of the shown table
    bool m_applying = false;                               // true while setSettings moves several controls
};

} // namespace basis::ui
