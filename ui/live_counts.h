#pragma once
// The engine's accounting of a setting, computed on the GUI thread: planCompression is torch-free and takes
// microseconds, so it runs on every control change, while a slider is dragged too.
#include "architecture.h"
#include "compression_plan.h"

#include <QString>

namespace basis::ui {

struct LiveResult {
    bool ok = false;
    CompressionPlan plan;        // its specs point into LiveCounts::table(): valid until the next setModel
    QString error;               // why the engine refuses the setting
    QString warning;             // the setting runs, but not quite as the controls say
    double micros = 0;           // time of this update
};

class LiveCounts {
public:
    void setModel(const ModelConfig& config);
    bool hasModel() const { return m_config.layers > 0; }
    const ModelConfig& config() const { return m_config; }
    const ArchTable& table() const { return m_table; }

    const LiveResult& update(const CompressionSettings& settings);
    const LiveResult& last() const { return m_last; }

private:
    ModelConfig m_config;
    ArchTable m_table;
    LiveResult m_last;
};

} // namespace basis::ui
