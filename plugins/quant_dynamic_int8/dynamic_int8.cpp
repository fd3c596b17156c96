// SPDX-License-Identifier: GPL-3.0-or-later
// quant.dynamic_int8: every Linear layer becomes DynamicLinearInt8 (plugins/quant_common): int8
// weights prepacked by quantized::linear_prepack, activations quantized per batch by the
// engine's dynamic int8 kernel. Real quantized kernels, no fake quantization.
#include "plugins/quant_common/quant_convert.h"
#include "plugins/quant_common/quant_engine.h"
#include "plugins/quant_common/quant_layers.h"
#include "plugins/quant_common/quant_technique.h"

#include "engine/model.h"
#include "engine/technique.h"

#include <QObject>
#include <QtPlugin>

#include <ATen/Context.h>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

int countLinears(const std::vector<LayerSpec> &layers)
{
    int n = 0;
    for (const LayerSpec &l : layers) {
        n += l.kind == LayerKind::Linear && l.impl.isEmpty();
        n += countLinears(l.body) + countLinears(l.shortcut);
    }
    return n;
}

/// The technique. Runs on the runner's worker thread; one instance per run.
class DynamicInt8Technique final : public Technique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        Q_UNUSED(error);
        m_engine = params.value(u"engine"_s).toString();
        m_perChannel = params.value(u"per_channel"_s).toBool();
        m_reduceRange = params.value(u"reduce_range"_s).toBool();
        return true;
    }

    bool checkSupported(const Model &model, const Backend &backend, QString *error) const override
    {
        if (!quant::resolveEngine(m_engine, backend, error))
            return false;
        const ArchSpec *spec = requireSpec(model, u"dynamic int8 quantization"_s, error);
        if (!spec)
            return false;
        if (countLinears(spec->layers) == 0) {
            *error = u"model '%1' has no float Linear layer to quantize (dynamic int8 converts "
                     "Linear layers only; use quant.static_int8 for convolutions)"_s
                         .arg(model.name());
            return false;
        }
        return true;
    }

    bool apply(TechniqueContext &context, QString *error) override
    {
        if (!quant::checkModelSupported(*this, context, u"quantize"_s, error))
            return false;
        if (!quant::beginPhaseUnlessCanceled(context, u"prepare:quantize"_s, error))
            return false;
        return quant::runGuarded(u"dynamic int8 quantization"_s, error,
                                 [&] { return quantize(context, error); });
    }

private:
    bool quantize(TechniqueContext &context, QString *error)
    {
        const auto engine = quant::resolveEngine(m_engine, context.backend, error);
        SpecModel *model =
            quant::specModelFor(context.model.get(), u"dynamic int8 quantization"_s, error);
        if (!engine || !model)
            return false;
        // The plugin sets the process-wide quantized engine (the backend's, when it names one:
        // resolveEngine() made sure they agree); the layers prepack with it.
        at::globalContext().setQEngine(*quant::engineFromName(*engine, error));
        const int64_t before = quant::modelStateBytes(*model);
        quant::ConversionReport report;
        if (!quant::convertLinearsToDynamicInt8(*model, *engine, m_perChannel, m_reduceRange,
                                                &report, error))
            return false;
        const int64_t after = quant::modelStateBytes(*model);
        if (context.log) {
            QJsonObject data = quant::conversionLogData(report, *engine, before, after);
            data.insert(u"per_channel"_s, m_perChannel);
            data.insert(u"reduce_range"_s, m_reduceRange);
            context.log(u"dynamic int8: %1 Linear layers converted (engine %2), model %3 -> %4 "
                        "bytes"_s.arg(report.convertedLayers).arg(*engine).arg(before).arg(after),
                        data);
        }
        if (context.metric) {
            context.metric(u"quantized_layers"_s, report.convertedLayers, u"count"_s);
        }
        quant::reportModelSize(context, before, after);
        return true;
    }

    QString m_engine;
    bool m_perChannel = true;
    bool m_reduceRange = false;
};

} // namespace

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class DynamicInt8Plugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "dynamic_int8.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        quant::registerQuantLayerImpls();
        return std::make_unique<DynamicInt8Technique>();
    }
};

} // namespace jb::plugins

#include "dynamic_int8.moc"
