#pragma once
// What was loaded: architecture, sizes, parameters, dtype, tokenizer, and a banner when the weights are random.
#include "job_results.h"

#include <QWidget>

class QFormLayout;
class QLabel;

namespace basis::ui {

class ModelSummaryView : public QWidget {
    Q_OBJECT
public:
    explicit ModelSummaryView(QWidget* parent = nullptr);
    void setSummary(const ModelSummary& summary);
    QString fieldText(const QString& field) const;   // for tests: the value shown for a row label

private:
    QLabel* m_banner = nullptr;
    QFormLayout* m_form = nullptr;
};

} // namespace basis::ui
