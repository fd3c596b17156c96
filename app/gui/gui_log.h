// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QLoggingCategory>

/// Logging category of the workbench GUI ("joulebench.gui").
Q_DECLARE_LOGGING_CATEGORY(lcGui)
