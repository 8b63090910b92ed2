#pragma once
// Colour gradients the heatmaps share: viridis (perceptually ordered, darker is less, readable for the
// colour-blind) for measured values and light-to-dark greys for what a cut leaves out.
#include <qcustomplot.h>

namespace basis::ui {

QCPColorGradient viridisGradient();
QCPColorGradient greysGradient();

} // namespace basis::ui
