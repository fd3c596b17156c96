// SPDX-License-Identifier: GPL-3.0-or-later
#include "database_log.h"

Q_LOGGING_CATEGORY(lcDatabase, "joulebench.database")
