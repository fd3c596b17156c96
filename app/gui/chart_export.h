// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QString>

class QCustomPlot;
class QWidget;

namespace jb::gui {

/// Saves a chart as PNG or PDF (QCustomPlot's own writers). SVG is not offered: it needs
/// Qt SVG (QSvgGenerator), which this build does not link (libqt6svg6-dev not installed).
class ChartExport
{
public:
    /// Writes `path` by its suffix (.png or .pdf); false with *error naming the file.
    static bool save(QCustomPlot *plot, const QString &path, QString *error);
    /// Asks for a file name and saves; errors are shown in a message box.
    static void saveWithDialog(QWidget *parent, QCustomPlot *plot);
};

} // namespace jb::gui
