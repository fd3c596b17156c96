// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QDialog>

namespace jb::gui {

/// Help > About: JouleBench version and revision, Qt (built against / running), QCustomPlot,
/// the libtorch version this build was compiled against and the one the worker reports
/// (`joulebench-cli backends --json`; torch never loads in the GUI). GUI thread.
class AboutDialog : public QDialog
{
    Q_OBJECT
public:
    /// `workerTorchVersion` empty: not known (the worker was not found or failed).
    explicit AboutDialog(const QString &workerTorchVersion, QWidget *parent = nullptr);
    /// The text shown (tests).
    static QString text(const QString &workerTorchVersion);
};

} // namespace jb::gui
