// SPDX-License-Identifier: GPL-3.0-or-later
#include "chart_export.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QSvgGenerator>

#include "gui/qcp.h"

namespace jb::gui {

namespace {

/// Vector output of the chart as drawn (QCustomPlot paints into any QPaintDevice).
bool saveSvg(QCustomPlot *plot, const QString &path)
{
    const int width = 1200, height = 700;
    QSvgGenerator generator;
    generator.setFileName(path);
    generator.setSize(QSize(width, height));
    generator.setViewBox(QRect(0, 0, width, height));
    generator.setTitle(plot->plotLayout()->elementCount() > 0 ? QStringLiteral("JouleBench chart")
                                                              : QString());
    QCPPainter painter;
    if (!painter.begin(&generator))
        return false;
    plot->toPainter(&painter, width, height);
    return painter.end();
}

} // namespace

bool ChartExport::save(QCustomPlot *plot, const QString &path, QString *error)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool ok = false;
    if (suffix == QLatin1String("png"))
        ok = plot->savePng(path, 1200, 700, 1.0);
    else if (suffix == QLatin1String("pdf"))
        ok = plot->savePdf(path, 1200, 700);
    else if (suffix == QLatin1String("svg"))
        ok = saveSvg(plot, path);
    else {
        *error = QObject::tr("%1: unsupported chart format '%2'; use .png, .svg or .pdf")
                     .arg(path, suffix);
        return false;
    }
    if (!ok)
        *error = QObject::tr("%1: could not be written (check the folder exists and is writable)").arg(path);
    return ok;
}

void ChartExport::saveWithDialog(QWidget *parent, QCustomPlot *plot)
{
    const QString path = QFileDialog::getSaveFileName(parent, QObject::tr("Save chart"), QString(),
                                                      QObject::tr("PNG image (*.png);;SVG drawing (*.svg);;PDF (*.pdf)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!save(plot, path, &error))
        QMessageBox::warning(parent, QObject::tr("Save chart"), error);
}

} // namespace jb::gui
