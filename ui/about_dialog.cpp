#include "about_dialog.h"

#include "workspace.h"
#include "resources.h"

#include <QApplication>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QIcon>
#include <QLabel>
#include <QVBoxLayout>

namespace basis::ui {

namespace {

QString cudaText(const ComputeDevices& d)
{
    if (!d.cudaBuilt)
        return QObject::tr("not available (this LibTorch build has no CUDA support)");
    if (d.cudaCount == 0)
        return QObject::tr("not available (LibTorch has CUDA, but no device was found)");
    return QObject::tr("available, %n device(s)", nullptr, d.cudaCount);
}

// Where a shipped resource is, or the places it was looked for.
QString whereIs(const char* relative)
{
    if (const auto found = findResource(relative))
        return QString::fromStdString(found->lexically_normal().string()).toHtmlEscaped();
    try {
        requireResource(relative);
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what()).toHtmlEscaped();
    }
    return {};
}

} // namespace

QString aboutText()
{
    const ComputeDevices d = Workspace::computeDevices();
    const QString version = QApplication::applicationVersion().isEmpty() ? QStringLiteral("0.1.0")
                                                                         : QApplication::applicationVersion();
    return QObject::tr("<h2>Basis Studio %1</h2>"
                       "<p>Compress language models with shared low-rank bases (Basis Sharing) and see what each "
                       "choice costs.</p>"
                       "<table>"
                       "<tr><td>Qt</td><td>%2 (built with %3)</td></tr>"
                       "<tr><td>LibTorch</td><td>%4</td></tr>"
                       "<tr><td>CUDA</td><td>%5</td></tr>"
                       "</table>"
                       "<h3>Built in</h3>"
                       "<p><b>stories260K</b> (builtin:stories260k): Andrej Karpathy's pretrained TinyStories model "
                       "(llama2.c), converted to a Hugging Face folder. License: <b>MIT</b>.<br>%6</p>"
                       "<p><b>TinyStories</b> calibration and evaluation texts (the start of the validation split of "
                       "roneneldan/TinyStories). License: <b>CDLA-Sharing-1.0</b>.<br>%7</p>"
                       "<p>Each folder's README.md gives source, license and sha256 of every file.</p>")
        .arg(version, QString::fromLatin1(qVersion()), QStringLiteral(QT_VERSION_STR),
             QString::fromStdString(d.libtorchVersion), cudaText(d), whereIs("models/stories260K/README.md"),
             whereIs("data/tinystories-valid/README.md"));
}

AboutDialog::AboutDialog(QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("About Basis Studio"));
    auto* icon = new QLabel;
    icon->setPixmap(QApplication::windowIcon().pixmap(96, 96));
    icon->setAlignment(Qt::AlignTop);
    auto* text = new QLabel(aboutText());
    text->setObjectName(QStringLiteral("aboutText"));
    text->setWordWrap(true);
    text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    text->setMinimumWidth(520);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* row = new QHBoxLayout;
    row->addWidget(icon);
    row->addWidget(text, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(row);
    layout->addWidget(buttons);
}

} // namespace basis::ui
