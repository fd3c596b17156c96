// SPDX-License-Identifier: GPL-3.0-or-later
// quant.static_int8: post-training static quantization. Folds batch-norms, calibrates activation
// ranges with min/max observers on the validation split, and converts every conv/linear unit to
// StaticConvInt8 / StaticLinearInt8 (plugins/quant_common), which run libtorch's int8 kernels.
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

/// The technique. Runs on the runner's worker thread; one instance per run.
class StaticInt8Technique final : public Technique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        Q_UNUSED(error);
        m_engine = params.value(u"engine"_s).toString();
        m_batches = params.value(u"calibration_batches"_s).toInt();
        m_batchSize = params.value(u"calibration_batch_size"_s).toInt();
        m_perChannel = params.value(u"per_channel"_s).toBool();
        m_reduceRange = params.value(u"reduce_range"_s).toBool();
        return true;
    }

    bool checkSupported(const Model &model, const Backend &backend, QString *error) const override
    {
        return quant::checkConvertible(m_engine, model, backend, u"static int8 quantization"_s, error);
    }

    bool apply(TechniqueContext &context, QString *error) override
    {
        if (!quant::checkModelSupported(*this, context, u"quantize"_s, error))
            return false;
        if (!context.data) {
            *error = u"static int8 quantization needs the data set's validation split for "
                     "calibration; none was given"_s;
            return false;
        }
        return quant::runGuarded(u"static int8 quantization"_s, error,
                                 [&] { return quantize(context, error); });
    }

private:
    bool quantize(TechniqueContext &context, QString *error)
    {
        const auto engine = quant::resolveEngine(m_engine, context.backend, error);
        SpecModel *model =
            quant::specModelFor(context.model.get(), u"static int8 quantization"_s, error);
        if (!engine || !model)
            return false;
        at::globalContext().setQEngine(*quant::engineFromName(*engine, error));
        const int64_t before = quant::modelStateBytes(*model);
        const std::vector<quant::QuantUnit> units = quant::findUnits(*model->spec());

        if (context.beginPhase)
            context.beginPhase(u"prepare:calibrate"_s);
        quant::RangeMap ranges;
        if (!quant::calibrate(*model, context.data->validation, m_batches, m_batchSize,
                              context.feedback, &ranges, error))
            return false;

        if (context.beginPhase)
            context.beginPhase(u"prepare:convert"_s);
        quant::StaticOptions options;
        options.engine = *engine;
        options.perChannel = m_perChannel;
        options.reduceRange = m_reduceRange;
        quant::ConversionReport report;
        const auto source = [&](const quant::QuantUnit &unit, quant::UnitSource *src,
                                QString *why) {
            src->input = ranges.value(u"in:"_s + unit.path);
            src->output = ranges.value(u"out:"_s + unit.lastPath);
            return quant::foldedUnitWeights(*model, unit, &src->weight, &src->bias, why);
        };
        if (!quant::convertUnitsToInt8(*model, units, source, options, &report, error))
            return false;
        model->setTraining(false);

        const int64_t after = quant::modelStateBytes(*model);
        const int64_t calibrated =
            std::min<int64_t>(context.data->validation.size(), int64_t(m_batches) * m_batchSize);
        if (context.log) {
            QJsonObject data = quant::conversionLogData(report, *engine, before, after);
            data.insert(u"observer"_s, u"minmax"_s);
            data.insert(u"calibration_samples"_s, qint64(calibrated));
            context.log(u"static int8: %1 layers converted, %2 batch-norms folded, %3 ReLUs "
                        "fused (engine %4, %5 calibration samples), model %6 -> %7 bytes"_s
                            .arg(report.convertedLayers)
                            .arg(report.foldedBatchNorms)
                            .arg(report.fusedRelus)
                            .arg(*engine)
                            .arg(calibrated)
                            .arg(before)
                            .arg(after),
                        data);
        }
        if (context.metric) {
            context.metric(u"quantized_layers"_s, report.convertedLayers, u"count"_s);
            context.metric(u"folded_batchnorms"_s, report.foldedBatchNorms, u"count"_s);
            context.metric(u"calibration_samples"_s, double(calibrated), u"count"_s);
        }
        quant::reportModelSize(context, before, after);
        return true;
    }

    QString m_engine;
    int m_batches = 16;
    int m_batchSize = 64;
    bool m_perChannel = true;
    bool m_reduceRange = false;
};

} // namespace

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class StaticInt8Plugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "static_int8.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        quant::registerQuantLayerImpls();
        return std::make_unique<StaticInt8Technique>();
    }
};

} // namespace jb::plugins

#include "static_int8.moc"
