#include "model_summary_view.h"

#include "plan_text.h"

#include <QFormLayout>
#include <QLabel>
#include <QVBoxLayout>

namespace basis::ui {

ModelSummaryView::ModelSummaryView(QWidget* parent) : QWidget(parent)
{
    m_banner = new QLabel;
    m_banner->setWordWrap(true);
    m_banner->setStyleSheet(QStringLiteral("background: #fff3cd; color: #664d03; border: 1px solid #e0c060; padding: 6px;"));
    m_banner->hide();
    m_form = new QFormLayout;
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_banner);
    layout->addLayout(m_form);
}

void ModelSummaryView::setSummary(const ModelSummary& s)
{
    while (m_form->rowCount() > 0)
        m_form->removeRow(0);
    const ModelConfig& c = s.config;
    auto row = [&](const QString& name, const QString& value, const QString& tip = {}) {
        auto* v = new QLabel(value);
        v->setTextInteractionFlags(Qt::TextSelectableByMouse);
        v->setToolTip(tip);
        v->setObjectName(name);
        m_form->addRow(name, v);
    };
    const QString dir = QString::fromStdString(s.dir.string());
    // Checkpoints often sit in folders named "hf": the parent's name says which model it is.
    auto* folder = new QLabel(QString::fromStdString((s.dir.parent_path().filename() / s.dir.filename()).string()));
    folder->setToolTip(dir);
    folder->setObjectName(tr("Folder"));
    m_form->addRow(tr("Folder"), folder);
    row(tr("Architecture"), QString::fromStdString(c.modelType) +
                                (s.compressed ? tr(" (compressed)") : QString()));
    row(tr("Layers"), QString::number(c.layers));
    row(tr("Hidden size"), QString::number(c.hidden));
    row(tr("Heads"), c.kvHeads != c.heads ? tr("%1 query, %2 key/value (GQA)").arg(c.heads).arg(c.kvHeads)
                                          : QString::number(c.heads),
        tr("head dimension %1").arg(c.headDim));
    row(tr("MLP size"), QString::number(c.intermediate));
    row(tr("Vocabulary"), formatCount(c.vocabSize));
    row(tr("Parameters"), formatCount(s.parameters),
        tr("Distinct parameters of the loaded weights (tied embeddings counted once)."));
    row(tr("dtype"), tr("%1 in memory (%2 on disk)")
                         .arg(QString::fromStdString(s.dtype),
                              c.torchDtype.empty() ? tr("unstated") : QString::fromStdString(c.torchDtype)));
    row(tr("Device"), QString::fromStdString(s.device));
    row(tr("Tokenizer"), s.tokenizer.empty() ? tr("none (calibration and evaluation need one)")
                                             : QString::fromStdString(s.tokenizer));
    m_banner->setVisible(s.synthetic);
    m_banner->setText(tr("<b>RANDOM WEIGHTS.</b> This is a demo model written by the synthetic checkpoint writer: "
                         "its shapes are real, its weights are noise. Fine for learning the controls; its perplexity "
                         "and generations mean nothing."));
}

QString ModelSummaryView::fieldText(const QString& field) const
{
    auto* label = findChild<QLabel*>(field);
    return label ? label->text() : QString();
}

} // namespace basis::ui
