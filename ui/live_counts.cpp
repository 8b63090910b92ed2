#include "live_counts.h"

#include "error.h"
#include "method_registry.h"

#include <algorithm>

#include <QElapsedTimer>
#include <QObject>
#include <QStringList>

namespace basis::ui {

void LiveCounts::setModel(const ModelConfig& config)
{
    m_config = config;
    m_table = archTable(config);
    m_last = {};
}

const LiveResult& LiveCounts::update(const CompressionSettings& s)
{
    QElapsedTimer timer;
    timer.start();
    LiveResult r;
    if (method(s.method).featureSpace() && s.featureSpace.ranksFile.empty() && !s.featureSpace.fraction &&
        s.featureSpace.ranks.empty() && s.budget == 0) {
        // Energy ranks need eigendecompositions of the statistics: engine work, not the GUI thread's.
        r.error = QObject::tr("Ranks by energy are read off the calibration statistics when compressing; the exact "
                              "counts come with the result. A fraction (sfsd) or a ranks file is counted here at once.");
    } else if (s.shared.empty() && s.privateParts.empty()) {
        // planCompression reads two empty lists as "the defaults"; in the controls it means every part is dense.
        r.error = QObject::tr("Every part is dense: set at least one part to shared or private.");
    } else {
        try {
            r.plan = planCompression(m_config, m_table, s);
            r.ok = true;
        } catch (const Error& e) {
            r.error = QString::fromStdString(e.what());
        }
    }
    if (r.ok && (s.shared.empty() || s.privateParts.empty())) {
        // The engine leaves parts dense only when both lists are given; otherwise it compresses them.
        QStringList moved;
        for (const PartPlan& p : r.plan.parts) {
            const std::string& name = p.spec->part;
            const bool listed = std::count(s.shared.begin(), s.shared.end(), name) ||
                                std::count(s.privateParts.begin(), s.privateParts.end(), name);
            if (!listed && p.compressed)
                moved << QString::fromStdString(name);
        }
        if (!moved.isEmpty())
            r.warning = QObject::tr("Parts set to dense are compressed unless at least one part is shared and one "
                                    "private: %1 will be compressed.")
                            .arg(moved.join(QStringLiteral(", ")));
    }
    r.micros = double(timer.nsecsElapsed()) / 1000.0;
    m_last = std::move(r);
    return m_last;
}

} // namespace basis::ui
