// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// <qcustomplot.h> uses Qt's lower-case keywords (signals, slots, foreach), which the project
// switches off (QT_NO_KEYWORDS, for libtorch). Include QCustomPlot through this header only.
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef foreach
