#pragma once
// Choosing a demo model: a preset shape, where to write it, and optionally a tokenizer folder to copy so that
// calibration can run on it. The weights are random, and the dialog says so.
#include <QDialog>

class QComboBox;
class QLineEdit;

namespace basis::ui {

class DemoModelDialog : public QDialog {
    Q_OBJECT
public:
    explicit DemoModelDialog(QWidget* parent = nullptr);
    QString preset() const;
    QString folder() const;
    QString tokenizerFolder() const;

private:
    QComboBox* m_preset = nullptr;
    QLineEdit* m_folder = nullptr;
    QLineEdit* m_tokenizer = nullptr;
};

QString defaultDemoFolder(const QString& preset);

} // namespace basis::ui
