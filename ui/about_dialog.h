#pragma once
// Help > About: the version of Basis Studio and of what it runs on (Qt, LibTorch, CUDA or not), and the licenses of
// the model and texts that ship with it.
#include <QDialog>

namespace basis::ui {

// The dialog's text (rich text), also for tests.
QString aboutText();

class AboutDialog : public QDialog {
    Q_OBJECT
public:
    explicit AboutDialog(QWidget* parent = nullptr);
};

} // namespace basis::ui
