#pragma once
// What the window shows with no model: open the built-in stories260K (first: it works with nothing else on the
// machine), open a folder, make a demo model, open a config, the recent ones, and a reminder that a folder can be
// dropped anywhere on the window.
#include <QWidget>

class QListWidget;
class QPushButton;

namespace basis::ui {

class StartPage : public QWidget {
    Q_OBJECT
public:
    explicit StartPage(QWidget* parent = nullptr);
    void setRecent(const QStringList& dirs);
    QListWidget* recentList() const { return m_recent; }
    QPushButton* builtinButton() const { return m_builtin; }

signals:
    void builtinRequested();
    void openRequested();
    void openDirRequested(const QString& dir);
    void demoRequested();
    void configRequested();

private:
    QListWidget* m_recent = nullptr;
    QPushButton* m_builtin = nullptr;
};

} // namespace basis::ui
