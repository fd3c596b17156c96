// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/technique.h"

#include <QString>

#include <cstdint>

namespace jb::quant {

/// The checks that open every quantization technique's apply(): the context holds a model
/// (else "no model to <verb>") and `technique`'s checkSupported() accepts it on the run's
/// backend. Runner's worker thread.
bool checkModelSupported(const Technique &technique, const TechniqueContext &context,
                         const QString &verb, QString *error);

/// Fails with "cancelled" when the run's feedback says so; else begins `phase` (when the context
/// reports phases). Runner's worker thread.
bool beginPhaseUnlessCanceled(const TechniqueContext &context, const QString &phase,
                              QString *error);

/// Reports the model's stored size before and after the technique as the metrics
/// model_bytes_before, model_bytes_after (bytes) and model_size_ratio (after / before, 0 when
/// before is 0), when the context takes metrics. Runner's worker thread.
void reportModelSize(const TechniqueContext &context, int64_t before, int64_t after);

} // namespace jb::quant
