#include "log_dock.h"

#include <QApplication>
#include <QHeaderView>
#include <QStyle>
#include <QTime>
#include <QTreeWidget>

namespace basis::ui {

QString severityName(Severity s)
{
    switch (s) {
    case Severity::Info: return QObject::tr("info");
    case Severity::Warning: return QObject::tr("warning");
    case Severity::Error: return QObject::tr("error");
    }
    return {};
}

LogDock::LogDock(QWidget* parent) : QDockWidget(tr("Log"), parent)
{
    setObjectName(QStringLiteral("logDock"));
    m_list = new QTreeWidget;
    m_list->setColumnCount(3);
    m_list->setHeaderLabels({tr("Time"), tr("Severity"), tr("Message")});
    m_list->setRootIsDecorated(false);
    m_list->setWordWrap(true);
    m_list->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_list->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    m_list->header()->setStretchLastSection(true);
    setWidget(m_list);
}

void LogDock::add(Severity severity, const QString& text)
{
    static const QStyle::StandardPixmap icons[] = {QStyle::SP_MessageBoxInformation, QStyle::SP_MessageBoxWarning,
                                                   QStyle::SP_MessageBoxCritical};
    auto* item = new QTreeWidgetItem({QTime::currentTime().toString(QStringLiteral("HH:mm:ss")), severityName(severity),
                                      text});
    item->setIcon(1, QApplication::style()->standardIcon(icons[int(severity)]));
    item->setToolTip(2, text);
    if (severity == Severity::Error)
        item->setForeground(2, QColor(0xb0, 0x00, 0x20));
    m_list->addTopLevelItem(item);
    m_list->scrollToItem(item);
    ++m_counts[int(severity)];
    updateTitle();
    // An error should be seen, even when the user had closed the dock.
    if (severity == Severity::Error)
        show();
}

int LogDock::count(Severity severity) const { return m_counts[int(severity)]; }

void LogDock::updateTitle()
{
    QString t = tr("Log");
    if (m_counts[2] || m_counts[1])
        t += tr(" (%1 errors, %2 warnings)").arg(m_counts[2]).arg(m_counts[1]);
    setWindowTitle(t);
}

} // namespace basis::ui
