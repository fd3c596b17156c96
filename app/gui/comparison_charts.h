// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The chart-filling code moved to app/report (the reports draw the same charts); the GUI keeps
// its names.
#include "comparison_data.h"
#include "report/comparison_charts.h"

namespace jb::gui {
using report::ComparisonCharts;
} // namespace jb::gui
