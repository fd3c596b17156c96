// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// QCustomPlot through app/report's wrapper (Qt keywords off, see there).
#include "report/qcp.h"
