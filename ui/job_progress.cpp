#include "job_progress.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>

#include <cmath>

namespace basis::ui {

QString EtaEstimator::format(double seconds)
{
    const auto s = qint64(std::ceil(seconds));
    if (s < 60)
        return QObject::tr("%1 s").arg(s);
    return QObject::tr("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

QString EtaEstimator::update(qint64 done, qint64 total)
{
    const double elapsed = double(m_timer.elapsed()) / 1000.0;
    if (done <= 0 || total <= 0 || done >= total || elapsed < 0.5)
        return {};
    return QObject::tr("about %1 left").arg(format(elapsed * double(total - done) / double(done)));
}

JobProgress::JobProgress(QWidget* parent) : QWidget(parent)
{
    m_title = new QLabel;
    m_bar = new QProgressBar;
    m_bar->setMinimumWidth(260);
    m_bar->setTextVisible(true);
    m_eta = new QLabel;
    m_eta->setMinimumWidth(150);
    m_cancel = new QPushButton(tr("Cancel"));
    m_cancel->setToolTip(tr("Stop the running job at its next layer or batch (Esc). Nothing partial is kept."));
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        m_cancel->setEnabled(false);
        m_title->setText(m_title->text() + tr(" – cancelling"));
        emit cancelRequested();
    });
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_title);
    layout->addWidget(m_bar);
    layout->addWidget(m_eta);
    layout->addWidget(m_cancel);
    hide();
}

void JobProgress::start(const QString& title)
{
    m_title->setText(title);
    m_bar->setRange(0, 0);   // busy until the first report says how much there is
    m_eta->clear();
    m_cancel->setEnabled(true);
    m_estimator.start();
    show();
}

void JobProgress::setProgress(qint64 done, qint64 total, const QString& what)
{
    if (total > 0) {
        // QProgressBar takes int: scale large totals down.
        const double scale = total > 1000000 ? 1000000.0 / double(total) : 1.0;
        m_bar->setRange(0, int(double(total) * scale));
        m_bar->setValue(int(double(done) * scale));
    }
    m_bar->setFormat(what.isEmpty() ? QStringLiteral("%p%") : what + QStringLiteral(" – %p%"));
    m_eta->setText(m_estimator.update(done, total));
}

void JobProgress::finish() { hide(); }

} // namespace basis::ui
