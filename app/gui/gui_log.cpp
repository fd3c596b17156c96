// SPDX-License-Identifier: GPL-3.0-or-later
#include "gui_log.h"

Q_LOGGING_CATEGORY(lcGui, "joulebench.gui")
