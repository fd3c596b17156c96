// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The comparison data moved to app/report (shared with the report export); the GUI keeps
// its names.
#include "report/comparison_data.h"

namespace jb::gui {
using report::ComparisonData;
using report::Figure;
using report::pearson;
using report::spearman;
using report::VariantFigures;
} // namespace jb::gui
