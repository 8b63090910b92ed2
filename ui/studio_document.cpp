#include "studio_document.h"

namespace basis::ui {

void StudioDocument::setModel(const ModelSummary& s)
{
    m_model = s;
    m_calibration.reset();
    m_compression.reset();
    m_energy.clear();
    m_featureSpace.reset();
    emit modelLoaded(s);
}

void StudioDocument::setCalibration(const CalibrationSummary& s)
{
    m_calibration = s;
    m_energy.clear();
    m_featureSpace.reset();
    emit calibrated(s);
}

void StudioDocument::setCompression(const CompressionSummary& s)
{
    m_compression = s;
    emit compressed(s);
}

void StudioDocument::setFeatureSpace(const FeatureSpaceSummary& s)
{
    m_featureSpace = s;
    emit featureSpaceReady(s);
}

void StudioDocument::addSpectra(const SpectraSummary& s)
{
    m_energy.add(s);
    emit spectraReady(s);
}

} // namespace basis::ui
