// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "plugins/quant_common/quant_convert.h"

#include "engine/model.h"
#include "engine/technique.h"

#include <QJsonObject>
#include <QString>

#include <cstdint>
#include <exception>

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

/// The technique log's data of an int8 conversion: the report's fields, the engine, and
/// model_bytes_before / model_bytes_after. Any thread.
QJsonObject conversionLogData(const ConversionReport &report, const QString &engine, int64_t before,
                              int64_t after);

/// Runs `work` (a callable returning bool that sets *error when it fails) and turns an exception
/// it throws (libtorch) into "<operation> failed: <reason>". Runner's worker thread.
template <typename Work> bool runGuarded(const QString &operation, QString *error, Work &&work)
{
    try {
        return work();
    } catch (const std::exception &e) {
        *error = operation + QStringLiteral(" failed: ") + exceptionText(e);
        return false;
    }
}

} // namespace jb::quant
