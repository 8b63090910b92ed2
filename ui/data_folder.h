#pragma once
// The folder the dataset presets (wikitext-2-raw/, ptb/, c4/, tinystories-valid/, hellaswag/) are read from,
// shared by the Calibration panel and the Evaluate tab and remembered between sessions.
#include <QString>

namespace basis::ui {

// The folder last chosen; the first time, a `shared/data` found from $BASIS_SHARED_DIR or above the program's
// folder (the layout of a source checkout), else empty.
QString rememberedDataDir();
void rememberDataDir(const QString& dir);

} // namespace basis::ui
