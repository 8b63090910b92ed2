#pragma once
// Engine messages with their severity, so errors never live only on stderr.
#include "severity.h"

#include <QDockWidget>

class QTreeWidget;

namespace basis::ui {

class LogDock : public QDockWidget {
    Q_OBJECT
public:
    explicit LogDock(QWidget* parent = nullptr);
    void add(Severity severity, const QString& text);
    int count(Severity severity) const;
    QTreeWidget* list() const { return m_list; }

private:
    void updateTitle();
    QTreeWidget* m_list = nullptr;
    int m_counts[3] = {0, 0, 0};
};

QString severityName(Severity severity);

} // namespace basis::ui
