#include "studio_document.h"

namespace basis::ui {

void StudioDocument::setModel(const ModelSummary& s)
{
    m_model = s;
    m_calibration.reset();
    m_compression.reset();
    m_energy.clear();
    emit modelLoaded(s);
}

void StudioDocument::setCalibration(const CalibrationSummary& s)
{
    m_calibration = s;
    m_energy.clear();
    emit calibrated(s);
}

void StudioDocument::setCompression(const CompressionSummary& s)
{
    m_compression = s;
    emit compressed(s);
}

void StudioDocument::addSpectra(const SpectraSummary& s)
{
    m_energy.add(s);
    emit spectraReady(s);
}

} // namespace basis::ui
