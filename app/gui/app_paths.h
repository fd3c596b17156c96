// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QString>
#include <QStringList>

namespace jb::gui {

/// Where the workbench finds its worker and its bundled files. All functions need a
/// QCoreApplication (they use applicationDirPath()); call them on the GUI thread.
namespace AppPaths {

/// The worker executable: `<exe dir>/joulebench-cli`, else the environment variable
/// JOULEBENCH_CLI when set. Empty when neither exists (the caller says so).
QString cliExecutable();

/// The candidate paths of the default plan, in search order:
///  1. `<exe dir>/../share/joulebench/plans/default.json` (installed layout),
///  2. `<exe dir>/../../resources/plans/default.json` (build tree: build/bin/joulebench),
///  3. `<source dir>/resources/plans/default.json` (the source tree this was built from),
///  4. `:/joulebench/plans/default.json` (the copy compiled into the executable).
QStringList defaultPlanCandidates();
/// The first existing candidate (4. always exists).
QString defaultPlanPath();

} // namespace AppPaths
} // namespace jb::gui
