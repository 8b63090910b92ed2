#include "feature_spectra_view.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace basis::ui {

namespace {

QString outputName(const std::string& method)
{
    if (method == "sfsd")
        return QObject::tr("output covariance C_y = W C_x W^T (centred)");
    if (method == "weight-svd")
        return QObject::tr("squared singular values of W");
    return QObject::tr("output Gram G_y = W G W^T");
}

QString inputName(const std::string& method)
{
    return method == "sfsd" ? QObject::tr("input covariance C_x") : QObject::tr("input Gram G");
}

// lambda_i / sum lambda at x = i (from 1); zeros become NaN, which a log axis leaves out.
void fillShares(QCPGraph* g, const std::vector<double>& values)
{
    const double total = std::accumulate(values.begin(), values.end(), 0.0);
    QVector<double> x, y;
    for (size_t i = 0; i < values.size(); ++i) {
        x.push_back(double(i + 1));
        y.push_back(total > 0 && values[i] > 0 ? values[i] / total : std::numeric_limits<double>::quiet_NaN());
    }
    g->setData(x, y, true);
}

} // namespace

QString featureCutText(const FeatureProjection& p)
{
    const int64_t q = std::min(p.m, p.d);
    if (p.chosen < 0)
        return QObject::tr("dense (the ranks file keeps it), m = %1, d = %2").arg(p.m).arg(p.d);
    QString text = QObject::tr("r = %1 of min(m, d) = %2, energy kept %3 %, κ = %4")
                       .arg(p.rank)
                       .arg(q)
                       .arg(100.0 * p.energy, 0, 'f', 1)
                       .arg(p.kappa);
    if (p.rank != p.chosen)
        text += QObject::tr(" (chosen %1 before the policy)").arg(p.chosen);
    if (p.dense)
        text += p.flipped ? QObject::tr("; dense: the policy's rank does not pay") : QObject::tr("; dense: r (m + d) ≥ m d");
    return text;
}

FeatureSpectraView::FeatureSpectraView(QWidget* parent) : QWidget(parent)
{
    m_part = new QComboBox;
    m_part->setToolTip(tr("The projection (part) whose spectra are drawn."));
    m_layer = new QSpinBox;
    m_layer->setToolTip(tr("The layer of that projection."));
    m_status = new QLabel;
    m_status->setWordWrap(true);
    m_details = new QLabel;
    m_details->setWordWrap(true);

    auto* controls = new QHBoxLayout;
    auto* partLabel = new QLabel(tr("&Part:"));
    partLabel->setBuddy(m_part);
    controls->addWidget(partLabel);
    controls->addWidget(m_part);
    auto* layerLabel = new QLabel(tr("La&yer:"));
    layerLabel->setBuddy(m_layer);
    controls->addWidget(layerLabel);
    controls->addWidget(m_layer);
    controls->addSpacing(16);
    controls->addWidget(m_details, 1);

    m_plot = new QCustomPlot;
    m_plot->setMinimumHeight(320);
    m_plot->xAxis->setLabel(tr("eigenvalue index i (1 = largest)"));
    m_plot->yAxis->setLabel(tr("share of the total, λ_i / Σ λ (log scale), solid"));
    m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    m_plot->yAxis->setNumberFormat(QStringLiteral("gb"));
    m_plot->yAxis2->setVisible(true);
    m_plot->yAxis2->setTickLabels(true);
    m_plot->yAxis2->setLabel(tr("cumulative output energy (%), dashed"));
    m_plot->yAxis2->setRange(0, 101);
    m_plot->legend->setVisible(true);
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);   // the curves fall from the top left

    m_output = m_plot->addGraph();
    m_output->setPen(QPen(QColor(0x1f, 0x4e, 0x99), 2));
    m_input = m_plot->addGraph();
    m_input->setPen(QPen(QColor(0xd6, 0x5f, 0x00), 1.5));
    m_cumulative = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
    m_cumulative->setPen(QPen(QColor(0x1f, 0x4e, 0x99), 1.5, Qt::DashLine));

    m_cut = new QCPItemLine(m_plot);
    m_cut->setPen(QPen(QColor(0xc0, 0x10, 0x10), 2, Qt::DashLine));
    for (QCPItemPosition* p : {m_cut->start, m_cut->end}) {
        p->setTypeX(QCPItemPosition::ptPlotCoords);
        p->setTypeY(QCPItemPosition::ptAxisRectRatio);
        p->setAxes(m_plot->xAxis, m_plot->yAxis);
        p->setAxisRect(m_plot->axisRect());
    }
    m_cutText = new QCPItemText(m_plot);
    m_cutText->position->setTypeX(QCPItemPosition::ptPlotCoords);
    m_cutText->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    m_cutText->position->setAxes(m_plot->xAxis, m_plot->yAxis);
    m_cutText->position->setAxisRect(m_plot->axisRect());
    m_cutText->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_cutText->setColor(QColor(0xc0, 0x10, 0x10));
    m_cutText->setBrush(QColor(255, 255, 255, 220));
    m_cutText->setPadding(QMargins(4, 2, 4, 2));
    QFont bold = font();
    bold.setBold(true);
    m_cutText->setFont(bold);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(m_status);
    layout->addWidget(m_plot, 1);

    connect(m_part, &QComboBox::currentIndexChanged, this, &FeatureSpectraView::redraw);
    connect(m_layer, &QSpinBox::valueChanged, this, &FeatureSpectraView::redraw);
    setSummary(nullptr, tr("Choose a feature-space method and calibrate to see its spectra."));
}

void FeatureSpectraView::setSummary(const FeatureSpaceSummary* summary, const QString& status)
{
    if (summary)
        m_summary = *summary;
    else
        m_summary.reset();
    m_status->setText(status);
    m_status->setVisible(!status.isEmpty());
    const QString part = m_part->currentText();
    {
        const QSignalBlocker a(m_part), b(m_layer);
        m_part->clear();
        if (m_summary) {
            for (const std::string& p : m_summary->parts)
                m_part->addItem(QString::fromStdString(p));
            const int keep = m_part->findText(part);
            m_part->setCurrentIndex(keep >= 0 ? keep : 0);
            m_layer->setRange(0, int(std::max<int64_t>(0, m_summary->layers - 1)));
        }
    }
    redraw();
}

const FeatureProjection* FeatureSpectraView::shown() const
{
    if (!m_summary)
        return nullptr;
    const std::string part = m_part->currentText().toStdString();
    for (const FeatureProjection& p : m_summary->projections)
        if (p.part == part && p.layer == m_layer->value())
            return &p;
    return nullptr;
}

double FeatureSpectraView::cutX() const { return m_cut->start->coords().x(); }
QString FeatureSpectraView::cutLabel() const { return m_cutText->text(); }

void FeatureSpectraView::redraw()
{
    const FeatureProjection* p = shown();
    m_plot->setEnabled(p != nullptr);
    if (!p) {
        for (QCPGraph* g : {m_output, m_input, m_cumulative})
            g->data()->clear();
        m_cut->setVisible(false);
        m_cutText->setVisible(false);
        m_details->clear();
        m_plot->replot();
        return;
    }
    const std::string& method = m_summary->settings.method;
    m_output->setName(tr("%1 (%2 values)").arg(outputName(method)).arg(p->output.size()));
    m_input->setName(p->input.empty() ? tr("%1: no statistics").arg(inputName(method))
                                      : tr("%1 (%2 values)").arg(inputName(method)).arg(p->input.size()));
    fillShares(m_output, p->output);
    fillShares(m_input, p->input);
    QVector<double> x, c;
    const double total = std::accumulate(p->output.begin(), p->output.end(), 0.0);
    double run = 0;
    for (size_t i = 0; i < p->output.size(); ++i) {
        run += p->output[i];
        x.push_back(double(i + 1));
        c.push_back(total > 0 ? 100.0 * run / total : 100.0);
    }
    m_cumulative->setData(x, c, true);
    m_cumulative->setName(tr("cumulative output energy"));

    const double cut = p->chosen < 0 ? double(std::min(p->m, p->d)) : double(p->rank);
    m_cut->start->setCoords(cut, 0);
    m_cut->end->setCoords(cut, 1);
    m_cut->setVisible(true);
    m_cut->setPen(QPen(p->dense ? QColor(0x80, 0x80, 0x80) : QColor(0xc0, 0x10, 0x10), 2, Qt::DashLine));
    m_cutText->setText(featureCutText(*p));
    // Beside the line, on the side with room.
    const size_t count = std::max(p->output.size(), p->input.size());
    m_cutText->setPositionAlignment((cut > 0.6 * double(count) ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
    m_cutText->position->setCoords(cut, 0.02);
    m_cutText->setVisible(true);
    m_details->setText(tr("%1, layer %2: m = %3 out, d = %4 in; utilization r / min(m, d) = %5 %; MLU of the setting %6 %")
                           .arg(QString::fromStdString(p->part))
                           .arg(p->layer)
                           .arg(p->m)
                           .arg(p->d)
                           .arg(100.0 * p->utilization, 0, 'f', 1)
                           .arg(100.0 * m_summary->mlu, 0, 'f', 1));
    m_plot->xAxis->setRange(0.5, double(count) + 0.5);
    double low = 1;
    for (const auto* v : {&p->output, &p->input}) {
        const double t = std::accumulate(v->begin(), v->end(), 0.0);
        for (double value : *v)
            if (value > 0 && t > 0)
                low = std::min(low, value / t);
    }
    m_plot->yAxis->setRange(std::max(low * 0.5, 1e-12), 1.0);
    m_plot->replot();
}

} // namespace basis::ui
