// SPDX-License-Identifier: GPL-3.0-or-later
// What the quantization techniques' apply() share: the opening checks, the size metrics and the
// conversion's log data.
#include "plugins/quant_common/quant_technique.h"

#include "engine/feedback.h"
#include "engine/model.h"

using namespace Qt::StringLiterals;

namespace jb::quant {

bool checkModelSupported(const Technique &technique, const TechniqueContext &context,
                         const QString &verb, QString *error)
{
    if (!context.model) {
        *error = u"no model to %1"_s.arg(verb);
        return false;
    }
    return technique.checkSupported(*context.model, context.backend, error);
}

bool beginPhaseUnlessCanceled(const TechniqueContext &context, const QString &phase, QString *error)
{
    if (context.feedback && context.feedback->isCanceled()) {
        *error = u"cancelled"_s;
        return false;
    }
    if (context.beginPhase)
        context.beginPhase(phase);
    return true;
}

void reportModelSize(const TechniqueContext &context, int64_t before, int64_t after)
{
    if (!context.metric)
        return;
    context.metric(u"model_bytes_before"_s, double(before), u"bytes"_s);
    context.metric(u"model_bytes_after"_s, double(after), u"bytes"_s);
    context.metric(u"model_size_ratio"_s, before > 0 ? double(after) / before : 0, u"ratio"_s);
}

QJsonObject conversionLogData(const ConversionReport &report, const QString &engine, int64_t before,
                              int64_t after)
{
    QJsonObject data = report.toJson();
    data.insert(u"engine"_s, engine);
    data.insert(u"model_bytes_before"_s, qint64(before));
    data.insert(u"model_bytes_after"_s, qint64(after));
    return data;
}

} // namespace jb::quant
