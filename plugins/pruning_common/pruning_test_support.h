// SPDX-License-Identifier: GPL-3.0-or-later
// Kept for the tests that still include it: the shared plugin-test set-up (zoo models, the
// synthetic data set, the recording TechniqueContext...) is tests/plugins/technique_test_support.h.
#pragma once

#include "tests/plugins/technique_test_support.h"
