// SPDX-License-Identifier: GPL-3.0-or-later
// quant.qat: folds batch-norms, swaps every conv/linear unit for a QatLayer (fake-quantized
// weights and activations, plugins/quant_common), fine-tunes with the engine's Trainer, then
// converts with convertUnitsToInt8() (shared with quant.static_int8) using the activation
// ranges observed during training.
#include "plugins/quant_common/quant_convert.h"
#include "plugins/quant_common/quant_engine.h"
#include "plugins/quant_common/quant_layers.h"
#include "plugins/quant_common/quant_technique.h"

#include "engine/model.h"
#include "engine/technique.h"
#include "engine/trainer.h"

#include <QObject>
#include <QtPlugin>

#include <ATen/Context.h>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

/// The technique. Runs on the runner's worker thread; one instance per run.
class QatTechnique final : public Technique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        Q_UNUSED(error);
        m_epochs = params.value(u"epochs"_s).toInt();
        m_learningRate = params.value(u"learning_rate"_s).toDouble();
        m_engine = params.value(u"engine"_s).toString();
        m_perChannel = params.value(u"per_channel"_s).toBool();
        m_reduceRange = params.value(u"reduce_range"_s).toBool();
        return true;
    }

    bool checkSupported(const Model &model, const Backend &backend, QString *error) const override
    {
        return quant::checkConvertible(m_engine, model, backend, u"quantization-aware training"_s, error);
    }

    bool apply(TechniqueContext &context, QString *error) override
    {
        if (!quant::checkModelSupported(*this, context, u"quantize"_s, error))
            return false;
        if (!context.data || context.data->train.size() == 0) {
            *error = u"quantization-aware training needs the data set's training split; none "
                     "was given"_s;
            return false;
        }
        return quant::runGuarded(u"quantization-aware training"_s, error,
                                 [&] { return run(context, error); });
    }

private:
    bool run(TechniqueContext &context, QString *error)
    {
        const auto engine = quant::resolveEngine(m_engine, context.backend, error);
        SpecModel *model =
            quant::specModelFor(context.model.get(), u"quantization-aware training"_s, error);
        if (!engine || !model)
            return false;
        const int64_t before = quant::modelStateBytes(*model);
        const std::vector<quant::QuantUnit> units = quant::findUnits(*model->spec());

        if (context.beginPhase)
            context.beginPhase(u"prepare:qat"_s);
        quant::ConversionReport qatReport;
        if (!quant::prepareQat(*model, units, m_perChannel, m_reduceRange, &qatReport, error))
            return false;
        TrainOptions options = context.training;
        options.epochs = m_epochs;
        options.learningRate = m_learningRate;
        options.seed = context.seed;
        options.device = torch::kCPU;
        options.subset.clear();
        options.epochSubset = nullptr;
        options.schedule = LrSchedule::Constant;
        options.label = u"quantization-aware training"_s;
        Trainer trainer(options);
        const auto result = trainer.train(*model, context.data->train, context.feedback, error);
        if (!result)
            return false;
        if (result->canceled) {
            *error = u"cancelled"_s;
            return false;
        }

        if (context.beginPhase)
            context.beginPhase(u"prepare:convert"_s);
        at::globalContext().setQEngine(*quant::engineFromName(*engine, error));
        quant::StaticOptions convert;
        convert.engine = *engine;
        convert.perChannel = m_perChannel;
        convert.reduceRange = m_reduceRange;
        quant::ConversionReport report;
        report.foldedBatchNorms = qatReport.foldedBatchNorms;
        const auto source = [&](const quant::QuantUnit &unit, quant::UnitSource *src,
                                QString *why) {
            auto *qat = dynamic_cast<quant::QatLayer *>(model->layer(unit.path).get());
            if (!qat) {
                *why = u"layer %1 is not a QAT layer"_s.arg(unit.path);
                return false;
            }
            src->weight = qat->weight().detach().clone();
            src->bias = qat->bias().detach().clone();
            const auto [inMin, inMax] = qat->inputRange();
            const auto [outMin, outMax] = qat->outputRange();
            src->input.min = inMin;
            src->input.max = inMax;
            src->output.min = outMin;
            src->output.max = outMax;
            return true;
        };
        if (!quant::convertUnitsToInt8(*model, units, source, convert, &report, error))
            return false;
        model->setTraining(false);

        const int64_t after = quant::modelStateBytes(*model);
        const double lastAccuracy = result->epochs.empty() ? 0 : result->epochs.back().accuracy;
        if (context.log) {
            QJsonObject data = quant::conversionLogData(report, *engine, before, after);
            data.insert(u"epochs"_s, int(result->epochs.size()));
            data.insert(u"qat_train_accuracy"_s, lastAccuracy);
            context.log(u"QAT: %1 epochs of fake-quant training, %2 layers converted to int8 "
                        "(engine %3), model %4 -> %5 bytes"_s.arg(result->epochs.size())
                            .arg(report.convertedLayers)
                            .arg(*engine)
                            .arg(before)
                            .arg(after),
                        data);
        }
        if (context.metric) {
            context.metric(u"quantized_layers"_s, report.convertedLayers, u"count"_s);
            context.metric(u"folded_batchnorms"_s, report.foldedBatchNorms, u"count"_s);
            context.metric(u"qat_epochs"_s, double(result->epochs.size()), u"count"_s);
            context.metric(u"qat_train_accuracy"_s, lastAccuracy, u"ratio"_s);
        }
        quant::reportModelSize(context, before, after);
        return true;
    }

    int m_epochs = 1;
    double m_learningRate = 1e-4;
    QString m_engine;
    bool m_perChannel = true;
    bool m_reduceRange = false;
};

} // namespace

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class QatPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "qat.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        quant::registerQuantLayerImpls();
        return std::make_unique<QatTechnique>();
    }
};

} // namespace jb::plugins

#include "qat.moc"
