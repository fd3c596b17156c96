// SPDX-License-Identifier: GPL-3.0-or-later
// Precompiled header of the engine target (see engine/CMakeLists.txt). Heavy, stable headers only.
#pragma once

#include <torch/torch.h>
