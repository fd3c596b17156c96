// SPDX-License-Identifier: GPL-3.0-or-later
#include "about_dialog.h"

#include "jb_revision.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QVBoxLayout>

#include "gui/qcp.h"
#include <torch/version.h> // macros only: the compile-time libtorch version

namespace jb::gui {

QString AboutDialog::text(const QString &workerTorchVersion)
{
    return tr("<h3>JouleBench %1</h3>"
              "<p>Energy benchmarking workbench for efficient deep learning: energy measured by "
              "the hardware, stored in SQLite, compared side by side.</p>"
              "<table>"
              "<tr><td>Revision</td><td>%2</td></tr>"
              "<tr><td>Qt</td><td>%3 (built against %4)</td></tr>"
              "<tr><td>QCustomPlot</td><td>%5</td></tr>"
              "<tr><td>libtorch (build)</td><td>%6</td></tr>"
              "<tr><td>libtorch (worker)</td><td>%7</td></tr>"
              "</table><p>Licence: GPL-3.0-or-later.</p>")
        .arg(QStringLiteral(JOULEBENCH_VERSION), QStringLiteral(JOULEBENCH_GIT_REVISION),
             QString::fromLatin1(qVersion()), QStringLiteral(QT_VERSION_STR),
             QStringLiteral(QCUSTOMPLOT_VERSION_STR), QStringLiteral(TORCH_VERSION),
             workerTorchVersion.isEmpty() ? tr("unknown (joulebench-cli not found or failed)")
                                          : workerTorchVersion);
}

AboutDialog::AboutDialog(const QString &workerTorchVersion, QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("About JouleBench"));
    auto *l = new QVBoxLayout(this);
    auto *label = new QLabel(text(workerTorchVersion));
    label->setTextFormat(Qt::RichText);
    l->addWidget(label);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    l->addWidget(buttons);
}

} // namespace jb::gui
