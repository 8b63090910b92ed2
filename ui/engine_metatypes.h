#pragma once
// Engine values carried by queued signals between the engine thread and the GUI thread.
#include "engine_session.h"

#include <QMetaType>

Q_DECLARE_METATYPE(basis::CompressionSettings)
Q_DECLARE_METATYPE(basis::ui::ModelSummary)
Q_DECLARE_METATYPE(basis::ui::CalibrationSetup)
Q_DECLARE_METATYPE(basis::ui::CalibrationSummary)
Q_DECLARE_METATYPE(basis::ui::CompressionSummary)
Q_DECLARE_METATYPE(basis::ui::SpectraSummary)
Q_DECLARE_METATYPE(basis::ui::PplSetup)
Q_DECLARE_METATYPE(basis::ui::PplSummary)
Q_DECLARE_METATYPE(basis::ui::ThroughputSetup)
Q_DECLARE_METATYPE(basis::ui::ThroughputSummary)
Q_DECLARE_METATYPE(basis::ui::TasksSetup)
Q_DECLARE_METATYPE(basis::ui::TasksSummary)
Q_DECLARE_METATYPE(basis::ui::GenerateSetup)
Q_DECLARE_METATYPE(basis::ui::GenerationOutput)

namespace basis::ui {
void registerEngineMetaTypes();
}
