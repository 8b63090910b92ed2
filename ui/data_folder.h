#pragma once
// The folder the dataset presets (wikitext-2-raw/, ptb/, c4/, tinystories-valid/, hellaswag/) are read from,
// shared by the Calibration panel and the Evaluate tab and remembered between sessions.
#include <QString>

namespace basis::ui {

// The folder last chosen; the first time, a `shared/data` found from $BASIS_SHARED_DIR or above the program's
// folder (the layout of a source checkout), else the data that ships with the program (resources/data).
QString rememberedDataDir();
void rememberDataDir(const QString& dir);

// `dir` when it holds the preset's train file; else the built-in data folder when that does; else `dir`.
QString dataDirHolding(const QString& dir, const QString& preset);

} // namespace basis::ui
