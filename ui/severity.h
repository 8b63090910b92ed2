#pragma once

namespace basis::ui {

// How a line of the studio's log reads: the log dock colours it, errors also go to the status bar.
enum class Severity { Info, Warning, Error };

} // namespace basis::ui
