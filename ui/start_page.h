#pragma once
// What the window shows with no model: open a folder, the recent ones, make a demo model, open a config,
// and a reminder that a folder can be dropped anywhere on the window.
#include <QWidget>

class QListWidget;

namespace basis::ui {

class StartPage : public QWidget {
    Q_OBJECT
public:
    explicit StartPage(QWidget* parent = nullptr);
    void setRecent(const QStringList& dirs);
    QListWidget* recentList() const { return m_recent; }

signals:
    void openRequested();
    void openDirRequested(const QString& dir);
    void demoRequested();
    void configRequested();

private:
    QListWidget* m_recent = nullptr;
};

} // namespace basis::ui
