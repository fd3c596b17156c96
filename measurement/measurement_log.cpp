// SPDX-License-Identifier: GPL-3.0-or-later
#include "measurement_log.h"

Q_LOGGING_CATEGORY(lcMeasurement, "joulebench.measurement")
