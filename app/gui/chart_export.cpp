// SPDX-License-Identifier: GPL-3.0-or-later
#include "chart_export.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>

#include "gui/qcp.h"

namespace jb::gui {

bool ChartExport::save(QCustomPlot *plot, const QString &path, QString *error)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool ok = false;
    if (suffix == QLatin1String("png"))
        ok = plot->savePng(path, 1200, 700, 1.0);
    else if (suffix == QLatin1String("pdf"))
        ok = plot->savePdf(path, 1200, 700);
    else {
        *error = QObject::tr("%1: unsupported chart format '%2'; use .png or .pdf (SVG needs Qt "
                             "SVG, not available in this build)").arg(path, suffix);
        return false;
    }
    if (!ok)
        *error = QObject::tr("%1: could not be written (check the folder exists and is writable)").arg(path);
    return ok;
}

void ChartExport::saveWithDialog(QWidget *parent, QCustomPlot *plot)
{
    const QString path = QFileDialog::getSaveFileName(parent, QObject::tr("Save chart"), QString(),
                                                      QObject::tr("PNG image (*.png);;PDF (*.pdf)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!save(plot, path, &error))
        QMessageBox::warning(parent, QObject::tr("Save chart"), error);
}

} // namespace jb::gui
