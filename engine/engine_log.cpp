// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine_log.h"

Q_LOGGING_CATEGORY(lcEngine, "joulebench.engine")
