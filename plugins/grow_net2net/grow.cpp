// SPDX-License-Identifier: GPL-3.0-or-later
// grow.net2net: trains a narrow version of the plan's model and grows it on a schedule with
// function-preserving Net2Net operations (Chen, Goodfellow, Shlens 2016): Net2WiderNet back
// towards the plan's widths and, optionally, Net2DeeperNet identity blocks. The grown model is
// the run's model. The operations live in engine/net2net.h; see docs/techniques/growing.md.
#include "engine/model.h"
#include "engine/model_metrics.h"
#include "engine/net2net.h"
#include "engine/spec_model.h"
#include "engine/technique.h"
#include "engine/trainer.h"

#include <QObject>
#include <QtPlugin>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

const QString kOperation = u"growing (grow.net2net)"_s;

/// Where Net2DeeperNet inserts a block: after top-level layer `after` (a ReLU that ends a conv
/// or linear stage), mirroring that stage's batch norm.
struct InsertionPoint
{
    int64_t after = 0;
    bool batchNorm = false;
    int64_t weightLayer = 0; ///< the conv/linear whose width the new block copies
};

/// The ReLUs that end a stage of the start model: followed by pooling, flatten, dropout or a
/// linear layer, and preceded (through an optional batch norm) by a conv (mode "conv") or
/// linear layer ("linear"). One block per stage and growth: the inserted block's ReLU then ends
/// the stage (the plugin tracks it).
std::vector<InsertionPoint> insertionPoints(const ArchSpec &spec, const QString &mode)
{
    std::vector<InsertionPoint> points;
    const auto &l = spec.layers;
    for (size_t i = 1; i + 1 < l.size(); ++i) {
        if (l[i].kind != LayerKind::Activation || l[i].activation != u"relu"_s)
            continue;
        const LayerKind next = l[i + 1].kind;
        if (next != LayerKind::Pool && next != LayerKind::Flatten && next != LayerKind::Dropout &&
            next != LayerKind::Linear)
            continue;
        size_t j = i - 1;
        const bool bn = l[j].kind == LayerKind::BatchNorm;
        if (bn && j == 0)
            continue;
        if (bn)
            --j;
        const bool conv = l[j].kind == LayerKind::Conv && l[j].groups == 1;
        const bool linear = l[j].kind == LayerKind::Linear;
        if ((conv && (mode == u"conv"_s || mode == u"all"_s)) ||
            (linear && (mode == u"linear"_s || mode == u"all"_s)))
            points.push_back({int64_t(i), bn, int64_t(j)});
    }
    return points;
}

/// Progress of one training stage mapped into the whole training, and the run's cancel
/// request passed on (the trainer polls this object's flag once per batch).
class StageFeedback final : public Feedback
{
public:
    StageFeedback(Feedback *outer, double from, double span)
        : m_outer(outer), m_from(from), m_span(span)
    {
    }
    void setProgress(double fraction, const QString &what) override
    {
        sync();
        if (m_outer)
            m_outer->setProgress(m_from + fraction * m_span, what);
    }
    void log(const QString &message) override
    {
        sync();
        if (m_outer)
            m_outer->log(message);
    }
    void sync()
    {
        if (m_outer && m_outer->isCanceled())
            cancel();
    }

private:
    Feedback *m_outer;
    double m_from, m_span;
};

/// The technique. Runs on the runner's worker thread; one instance per run.
class Net2NetGrowing final : public Technique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        m_startWidth = params.value(u"start_width"_s).toDouble();
        m_widenFactor = params.value(u"widen_factor"_s).toDouble();
        m_maxWidth = params.value(u"max_width"_s).toDouble();
        m_deepen = params.value(u"deepen"_s).toString();
        m_noise = params.value(u"noise"_s).toDouble();
        m_calibrationSamples = params.value(u"calibration_samples"_s).toInteger();
        m_growAt.clear();
        const QString text = params.value(u"grow_at"_s).toString().trimmed();
        if (!text.isEmpty()) {
            for (const QString &part : text.split(u',')) {
                bool ok = false;
                const int epoch = part.trimmed().toInt(&ok);
                if (!ok || epoch < 1 || (!m_growAt.empty() && epoch <= m_growAt.back())) {
                    *error = u"params.grow_at: \"%1\" is not an ascending, comma-separated list "
                             "of epoch counts >= 1 (e.g. \"1,2\": grow after the first and after "
                             "the second epoch)"_s.arg(text);
                    return false;
                }
                m_growAt.push_back(epoch);
            }
        }
        if (m_maxWidth < m_startWidth) {
            *error = u"params.max_width (%1) is below params.start_width (%2): the model could "
                     "never grow; raise max_width"_s.arg(m_maxWidth)
                         .arg(m_startWidth);
            return false;
        }
        if (m_growAt.empty() || (m_widenFactor <= 1.0 && m_deepen == u"none"_s) ||
            (m_maxWidth <= m_startWidth && m_deepen == u"none"_s)) {
            *error = u"grow.net2net would never grow the model: give params.grow_at epochs and "
                     "either widen_factor > 1 with max_width > start_width, or deepen"_s;
            return false;
        }
        return true;
    }

    bool checkSupported(const Model &model, const Backend &backend, QString *error) const override
    {
        Q_UNUSED(backend);
        const ArchSpec *spec = requireSpec(model, kOperation, error);
        if (!spec)
            return false;
        const std::optional<ArchSpec> start = scaleWidths(*spec, m_startWidth, error);
        if (!start)
            return false;
        if (m_deepen != u"none"_s && insertionPoints(*start, m_deepen).empty()) {
            *error =
                u"params.deepen \"%1\": model '%2' has no top-level ReLU that ends a %3 "
                "stage (conv or linear [-> batch norm] -> relu -> pool/flatten/dropout/"
                "linear), where an identity block would be inserted; use deepen \"none\""_s.arg(
                    m_deepen, spec->name, m_deepen == u"all"_s ? u"conv or linear"_s : m_deepen);
            return false;
        }
        return true;
    }

    bool trainsModel() const override { return true; }

    bool train(TechniqueContext &context, QString *error) override
    {
        if (!context.model || !context.data || context.data->train.size() == 0) {
            *error = u"growing needs the plan's model and its training split"_s;
            return false;
        }
        if (!requireSpec(*context.model, kOperation, error))
            return false;
        try {
            return grow(context, error);
        } catch (const std::exception &e) {
            *error = u"growing failed: "_s + exceptionText(e);
            return false;
        }
    }

    /// The model was grown and trained in train(); nothing is left to do here.
    bool apply(TechniqueContext &context, QString *error) override
    {
        Q_UNUSED(error);
        Q_UNUSED(context);
        return true;
    }

private:
    bool grow(TechniqueContext &context, QString *error)
    {
        const ArchSpec reference = *context.model->spec();
        const int epochs = context.training.epochs;
        if (m_growAt.back() >= epochs) {
            *error = u"params.grow_at: epoch %1 leaves no training after the last growth (the "
                     "plan trains %2 epochs); grow before epoch %2"_s.arg(m_growAt.back())
                         .arg(epochs);
            return false;
        }
        const std::optional<ArchSpec> start = scaleWidths(reference, m_startWidth, error);
        if (!start)
            return false;
        std::unique_ptr<SpecModel> model = SpecModel::create(*start, context.seed, error);
        if (!model)
            return false;
        model->to(context.training.device);
        // The plan's width of every hidden layer: growth k targets round(ref x width_k).
        for (const QString &path : hiddenWidthPaths(reference))
            m_refOut[path] = reference.layerAt(path)->out;
        if (m_deepen != u"none"_s)
            m_stageEnds = insertionPoints(*start, m_deepen);
        const int64_t startParams = parameterCount(*model);
        const int64_t referenceParams = parameterCount(*context.model);
        if (context.log)
            context.log(u"starting narrow: width %1 of '%2', %3 parameters (the plan's model has "
                        "%4); growing after epoch(s) %5 of %6"_s.arg(m_startWidth)
                            .arg(reference.name)
                            .arg(startParams)
                            .arg(referenceParams)
                            .arg(growAtText())
                            .arg(epochs),
                        QJsonObject{{u"width"_s, m_startWidth},
                                    {u"parameters"_s, qint64(startParams)},
                                    {u"reference_parameters"_s, qint64(referenceParams)},
                                    {u"spec"_s, start->toJson()}});
        if (context.log && context.training.schedule != LrSchedule::Constant)
            context.log(u"the learning-rate schedule restarts with every stage, like the "
                        "optimizer"_s,
                        {});

        const torch::Tensor calibration = context.data->train.inputs.slice(
            0, 0, std::min<int64_t>(m_calibrationSamples, context.data->train.size()));
        std::vector<int> bounds = {0};
        bounds.insert(bounds.end(), m_growAt.begin(), m_growAt.end());
        bounds.push_back(epochs);
        double width = m_startWidth;
        int growths = 0;
        double maxChange = 0;
        for (size_t stage = 0; stage + 1 < bounds.size(); ++stage) {
            if (stage > 0) {
                if (context.feedback && context.feedback->isCanceled()) {
                    *error = u"cancelled"_s;
                    return false;
                }
                double change = 0;
                bool grew = false;
                if (!growOnce(context, &model, &width, int(stage), bounds[stage], calibration,
                              &grew, &change, error))
                    return false;
                growths += grew;
                maxChange = std::max(maxChange, change);
            }
            const int stageEpochs = bounds[stage + 1] - bounds[stage];
            TrainOptions o = context.training;
            o.epochs = stageEpochs;
            o.seed = context.training.seed + stage;
            o.label = u"growing: stage %1/%2 (width %3)"_s.arg(stage + 1)
                          .arg(bounds.size() - 1)
                          .arg(width, 0, 'g', 3);
            StageFeedback feedback(context.feedback, double(bounds[stage]) / epochs,
                                   double(stageEpochs) / epochs);
            const auto outer = o.afterStep;
            o.afterStep = [outer, &feedback](const BatchContext &batch) {
                if (outer)
                    outer(batch);
                feedback.sync();
            };
            // A fresh trainer, and so a fresh optimizer: the grown model has new parameters.
            Trainer trainer(o);
            const auto result = trainer.train(*model, context.data->train, &feedback, error);
            if (!result)
                return false;
            if (result->canceled) {
                *error = u"cancelled"_s;
                return false;
            }
        }
        const int64_t finalParams = parameterCount(*model);
        if (context.log)
            context.log(u"grown %1 time(s): %2 -> %3 parameters (final width %4)"_s.arg(growths)
                            .arg(startParams)
                            .arg(finalParams)
                            .arg(width),
                        QJsonObject{{u"growths"_s, growths},
                                    {u"parameters_start"_s, qint64(startParams)},
                                    {u"parameters_final"_s, qint64(finalParams)},
                                    {u"width_final"_s, width},
                                    {u"spec"_s, model->spec()->toJson()}});
        if (context.metric) {
            context.metric(u"growths"_s, growths, u"count"_s);
            context.metric(u"parameters_start"_s, double(startParams), u"count"_s);
            context.metric(u"parameters_final"_s, double(finalParams), u"count"_s);
            context.metric(u"width_final"_s, width, u"ratio"_s);
            context.metric(u"growth_output_change"_s, maxChange, u"ratio"_s);
        }
        context.model = std::move(model);
        if (context.feedback)
            context.feedback->setProgress(1.0, u"growing done"_s);
        return true;
    }

    /// One scheduled growth: widen to the next width, then insert the identity blocks.
    bool growOnce(TechniqueContext &context, std::unique_ptr<SpecModel> *model, double *width,
                  int growth, int epoch, const torch::Tensor &calibration, bool *grew,
                  double *change, QString *error)
    {
        const auto before = computeModelMetrics(**model, error);
        if (!before)
            return false;
        const torch::Tensor outBefore = evalOutputs(**model, calibration);
        const double widthBefore = *width;
        const double newWidth = std::min(m_maxWidth, *width * m_widenFactor);
        QStringList done;
        if (newWidth > *width) {
            ArchSpec wider = *(*model)->spec();
            for (auto it = m_refOut.cbegin(); it != m_refOut.cend(); ++it) {
                LayerSpec *l = wider.layerAt(it.key());
                l->out = std::max(l->out, scaledWidth(it.value(), newWidth));
            }
            WidenOptions options;
            options.noise = m_noise;
            options.seed = context.seed + 1000 * quint64(growth);
            if (!(wider == *(*model)->spec())) {
                std::unique_ptr<SpecModel> next = net2WiderNet(**model, wider, options, error);
                if (!next)
                    return false;
                *model = std::move(next);
                done << u"widened to width %1"_s.arg(newWidth, 0, 'g', 3);
            }
            *width = newWidth;
        }
        QJsonArray inserted;
        if (m_deepen != u"none"_s) {
            // From the back, so the indices of the points still to do do not move.
            std::sort(
                m_stageEnds.begin(), m_stageEnds.end(),
                [](const InsertionPoint &a, const InsertionPoint &b) { return a.after > b.after; });
            for (size_t i = 0; i < m_stageEnds.size(); ++i) {
                InsertionPoint &p = m_stageEnds[i];
                DeepenOptions options;
                options.batchNorm = p.batchNorm;
                std::unique_ptr<SpecModel> next =
                    net2DeeperNet(**model, p.after, options, calibration, error);
                if (!next)
                    return false;
                const int count =
                    int(next->spec()->layers.size() - (*model)->spec()->layers.size());
                shiftPaths(p.after, count);
                m_refOut[QString::number(p.after + 1)] =
                    m_refOut.value(QString::number(p.weightLayer), 0);
                inserted.append(QJsonObject{
                    {u"after"_s, qint64(p.after)},
                    {u"kind"_s, layerKindName(next->spec()->layers[size_t(p.after + 1)].kind)},
                    {u"batch_norm"_s, p.batchNorm}});
                *model = std::move(next);
                // The stages done before (further back) moved; this stage now ends with the
                // inserted block's ReLU, and the next insertion copies the inserted layer.
                for (size_t j = 0; j < i; ++j) {
                    m_stageEnds[j].after += count;
                    m_stageEnds[j].weightLayer += count;
                }
                p.weightLayer = p.after + 1;
                p.after += count;
            }
            if (!m_stageEnds.empty())
                done << u"inserted %1 identity block(s)"_s.arg(m_stageEnds.size());
        }
        *grew = !done.isEmpty();
        const auto after = computeModelMetrics(**model, error);
        if (!after)
            return false;
        const torch::Tensor outAfter = evalOutputs(**model, calibration);
        *change = (outAfter - outBefore).abs().max().item<double>() /
                  std::max(1e-12, outBefore.abs().max().item<double>());
        if (context.log)
            context.log(u"growth %1 after epoch %2: %3; %4 -> %5 parameters, %6 -> %7 MACs per "
                        "sample; outputs changed by %8 (relative, eval mode)"_s.arg(growth)
                            .arg(epoch)
                            .arg(done.isEmpty() ? u"nothing left to grow"_s : done.join(u", "_s))
                            .arg(before->parameters)
                            .arg(after->parameters)
                            .arg(before->macs)
                            .arg(after->macs)
                            .arg(*change, 0, 'g', 3),
                        QJsonObject{{u"growth"_s, growth},
                                    {u"epoch"_s, epoch},
                                    {u"width_before"_s, widthBefore},
                                    {u"width_after"_s, *width},
                                    {u"parameters_before"_s, qint64(before->parameters)},
                                    {u"parameters_after"_s, qint64(after->parameters)},
                                    {u"macs_before"_s, qint64(before->macs)},
                                    {u"macs_after"_s, qint64(after->macs)},
                                    {u"inserted"_s, inserted},
                                    {u"output_change"_s, *change},
                                    {u"spec"_s, (*model)->spec()->toJson()}});
        return true;
    }

    /// Logits of the calibration samples in eval mode (the growth check).
    static torch::Tensor evalOutputs(SpecModel &model, const torch::Tensor &x)
    {
        torch::NoGradGuard noGrad;
        const bool wasTraining = model.isTraining();
        model.setTraining(false);
        torch::Tensor y = model.forward(x.to(model.device(), model.computeDtype()))
                              .to(torch::kCPU, torch::kDouble);
        model.setTraining(wasTraining);
        return y;
    }

    /// Renames the width references after `count` layers were inserted after top-level `after`.
    void shiftPaths(int64_t after, int count)
    {
        QMap<QString, int64_t> shifted;
        for (auto it = m_refOut.cbegin(); it != m_refOut.cend(); ++it) {
            const QString &path = it.key();
            const qsizetype dot = path.indexOf(u'.');
            const int64_t top = path.left(dot).toLongLong();
            shifted.insert(top <= after ? path
                                        : QString::number(top + count) +
                                              (dot < 0 ? QString() : path.mid(dot)),
                           it.value());
        }
        m_refOut = shifted;
    }

    QString growAtText() const
    {
        QStringList parts;
        for (int e : m_growAt)
            parts << QString::number(e);
        return parts.join(u", "_s);
    }

    double m_startWidth = 0.5;
    std::vector<int> m_growAt;
    double m_widenFactor = 2.0;
    double m_maxWidth = 1.0;
    QString m_deepen = u"none"_s;
    double m_noise = 0.01;
    int64_t m_calibrationSamples = 256;
    QMap<QString, int64_t> m_refOut; ///< plan's width of every hidden layer, by current path
    /// Where the next identity block of each stage goes (indices of the current spec).
    std::vector<InsertionPoint> m_stageEnds;
};

} // namespace

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class Net2NetGrowingPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "grow.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<Net2NetGrowing>();
    }
};

} // namespace jb::plugins

#include "grow.moc"
