// SPDX-License-Identifier: GPL-3.0-or-later
// prune.structured: L1-norm filter pruning (Li et al. 2017) with physical removal of the
// filters, the matching batch-norm channels and the next layer's input channels (channel
// surgery on the architecture spec, then SpecModel::rebuild with the surviving weights).
// See docs/techniques/pruning.md.
#include "plugins/pruning_common/pruning_common.h"

#include "engine/channel_surgery.h"
#include "engine/model.h"
#include "engine/model_metrics.h"
#include "engine/spec_model.h"
#include "engine/technique.h"

#include <QObject>
#include <QtPlugin>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

const QString kOperation = u"structured pruning (prune.structured)"_s;

/// Paths of the convolution layers (groups = 1) of a spec, pre-order, residual bodies and
/// shortcuts included.
void convPaths(const std::vector<LayerSpec> &layers, const QString &prefix, QStringList *out)
{
    for (size_t i = 0; i < layers.size(); ++i) {
        const QString path = prefix + QString::number(i);
        const LayerSpec &l = layers[i];
        if (l.kind == LayerKind::Conv && l.groups == 1 && l.impl.isEmpty())
            out->append(path);
        if (l.kind == LayerKind::Residual) {
            convPaths(l.body, path + u".body."_s, out);
            convPaths(l.shortcut, path + u".shortcut."_s, out);
        }
    }
}

/// The technique. Runs on the runner's worker thread; one instance per run.
class StructuredPruning final : public Technique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        Q_UNUSED(error);
        m_ratio = params.value(u"ratio"_s).toDouble();
        m_minChannels = params.value(u"min_channels"_s).toInteger();
        m_epochs = int(params.value(u"finetune_epochs"_s).toInteger());
        m_lrFactor = params.value(u"lr_factor"_s).toDouble();
        return true;
    }

    bool checkSupported(const Model &model, const Backend &backend,
                        QString *error) const override
    {
        Q_UNUSED(backend);
        return requireSpec(model, kOperation, error) != nullptr;
    }

    bool apply(TechniqueContext &context, QString *error) override
    {
        return pruning::applyGuarded(context, u"structured pruning"_s, error, [&] {
            return requireSpec(*context.model, kOperation, error) && prune(context, error);
        });
    }

private:
    /// Indices (ascending) of the filters with the smallest L1 norm to remove from `weight`.
    std::vector<int64_t> filtersToRemove(const torch::Tensor &weight) const
    {
        const int64_t out = weight.size(0);
        const int64_t keep =
            std::max<int64_t>(std::min(out, m_minChannels),
                              out - int64_t(std::floor(m_ratio * double(out) + 1e-9)));
        const int64_t remove = out - keep;
        if (remove <= 0)
            return {};
        const torch::Tensor norms =
            weight.detach().to(torch::kCPU, torch::kDouble).abs().reshape({out, -1}).sum(1);
        const torch::Tensor order = std::get<1>(norms.sort(/*stable=*/true, 0, false));
        const torch::Tensor chosen = std::get<0>(order.slice(0, 0, remove).sort());
        return {chosen.data_ptr<int64_t>(), chosen.data_ptr<int64_t>() + remove};
    }

    bool prune(TechniqueContext &context, QString *error)
    {
        auto *model = dynamic_cast<SpecModel *>(context.model.get());
        if (!model) {
            *error = specRequiredError(kOperation, *context.model);
            return false;
        }
        if (context.beginPhase)
            context.beginPhase(u"prepare:prune"_s);
        const auto before = computeModelMetrics(*model, error);
        if (!before)
            return false;

        QStringList paths;
        convPaths(model->spec()->layers, QString(), &paths);
        std::map<std::string, torch::Tensor> params;
        for (const auto &[name, t] : model->namedParameters())
            params[name] = t;

        ArchSpec spec = *model->spec();
        ChannelMaps maps;
        QJsonArray layers;
        int pruned = 0;
        int64_t removedTotal = 0;
        for (qsizetype i = 0; i < paths.size(); ++i) {
            if (context.feedback && context.feedback->isCanceled()) {
                *error = u"cancelled"_s;
                return false;
            }
            const QString &path = paths[i];
            const auto it = params.find(QString(path + u".weight"_s).toStdString());
            if (it == params.end())
                continue;
            const int64_t out = it->second.size(0);
            const std::vector<int64_t> remove = filtersToRemove(it->second);
            QJsonObject entry{{u"layer"_s, path}, {u"filters_before"_s, qint64(out)}};
            if (remove.empty()) {
                entry[u"filters_after"_s] = qint64(out);
                entry[u"note"_s] = u"kept: min_channels"_s;
                layers.append(entry);
                continue;
            }
            QString why;
            auto next = removeChannels(spec, path, remove, &maps, &why);
            if (!next) {
                // Layers feeding a residual addition, the output layer: left as they are.
                entry[u"filters_after"_s] = qint64(out);
                entry[u"note"_s] = QString(u"kept: "_s + why);
                layers.append(entry);
                continue;
            }
            spec = std::move(*next);
            ++pruned;
            removedTotal += int64_t(remove.size());
            QJsonArray removed;
            for (int64_t c : remove)
                removed.append(qint64(c));
            entry[u"filters_after"_s] = qint64(out - int64_t(remove.size()));
            entry[u"removed"_s] = removed;
            layers.append(entry);
            if (context.feedback)
                context.feedback->setProgress(0.5 * double(i + 1) / double(paths.size()),
                                              u"structured pruning: layer %1"_s.arg(path));
        }
        if (pruned == 0) {
            *error = u"structured pruning removed no filter from model '%1' (%2 conv layers; "
                     "ratio %3, min_channels %4): raise params.ratio or lower "
                     "params.min_channels"_s.arg(model->name())
                         .arg(paths.size())
                         .arg(m_ratio)
                         .arg(m_minChannels);
            return false;
        }
        std::unique_ptr<SpecModel> rebuilt = model->rebuild(spec, maps, error);
        if (!rebuilt)
            return false;
        context.model = std::move(rebuilt);

        const auto after = computeModelMetrics(*context.model, error);
        if (!after)
            return false;
        if (context.log)
            context.log(u"removed %1 filters from %2 of %3 conv layers: %4 -> %5 parameters, "
                        "%6 -> %7 MACs per sample"_s.arg(removedTotal)
                            .arg(pruned)
                            .arg(paths.size())
                            .arg(before->parameters)
                            .arg(after->parameters)
                            .arg(before->macs)
                            .arg(after->macs),
                        QJsonObject{{u"layers"_s, layers},
                                    {u"parameters_before"_s, qint64(before->parameters)},
                                    {u"parameters_after"_s, qint64(after->parameters)},
                                    {u"macs_before"_s, qint64(before->macs)},
                                    {u"macs_after"_s, qint64(after->macs)},
                                    {u"spec"_s, spec.toJson()}});
        if (context.metric) {
            context.metric(u"removed_filters"_s, double(removedTotal), u"count"_s);
            context.metric(u"parameters_ratio"_s,
                           double(after->parameters) / double(before->parameters), u"ratio"_s);
            context.metric(u"macs_ratio"_s, double(after->macs) / double(before->macs),
                           u"ratio"_s);
        }
        if (m_epochs > 0) {
            if (context.beginPhase)
                context.beginPhase(u"prepare:finetune"_s);
            if (!pruning::fineTune(context, {}, m_epochs, m_lrFactor,
                                   u"fine-tuning the filter-pruned model"_s, 1, error))
                return false;
        }
        if (context.feedback)
            context.feedback->setProgress(1.0, u"structured pruning done"_s);
        return true;
    }

    double m_ratio = 0.5;
    int64_t m_minChannels = 4;
    int m_epochs = 1;
    double m_lrFactor = 0.1;
};

} // namespace

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class StructuredPruningPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "structured.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<StructuredPruning>();
    }
};

} // namespace jb::plugins

#include "structured.moc"
