// SPDX-License-Identifier: GPL-3.0-or-later
// Shared, header-only helpers of the pruning plugins (prune.magnitude, prune.lottery,
// prune.structured, prune.energy_aware): which tensors are prunable, magnitude masks with an
// exact element count, masks kept through fine-tuning, rewinding, and sparsity reports.
//
// Header-only on purpose: no library target, each plugin compiles what it uses. Everything runs
// on the runner's worker thread (the thread that calls Technique::apply()).
#pragma once

#include "engine/model.h"
#include "engine/technique.h"
#include "engine/trainer.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace jb::plugins::pruning {

/// One prunable weight tensor: a conv kernel (4-D) or a linear matrix (2-D). Biases, batch-norm
/// parameters and buffers are never pruned.
struct Prunable
{
    std::string name;     ///< parameter name, "3.weight"
    torch::Tensor weight; ///< aliases the model's parameter
};

/// Masks by parameter name: float tensors of the weight's shape, 1 = kept, 0 = pruned.
using Masks = std::map<std::string, torch::Tensor>;

/// The layer path of a parameter name ("5.body.0.weight" -> "5.body.0").
inline QString layerPathOf(const std::string &name)
{
    const QString n = QString::fromStdString(name);
    const qsizetype dot = n.lastIndexOf(u'.');
    return dot < 0 ? n : n.left(dot);
}

/// The conv and linear weights of `model`, in parameter order. `includeLast` false drops the
/// last 2-D weight (the classifier of every zoo model).
inline std::vector<Prunable> prunableWeights(const Model &model, bool includeLast)
{
    std::vector<Prunable> out;
    for (const auto &[name, t] : model.namedParameters()) {
        const bool isWeight = name == "weight" ||
                              (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0);
        if (isWeight && t.is_floating_point() && t.dim() >= 2)
            out.push_back({name, t});
    }
    if (!includeLast && !out.empty()) {
        // The classifier: the last 2-D weight.
        for (auto it = out.rbegin(); it != out.rend(); ++it) {
            if (it->weight.dim() == 2) {
                out.erase(std::next(it).base());
                break;
            }
        }
    }
    return out;
}

/// Masks that prune exactly `count` elements of the tensors in `group` by smallest |w| (ties
/// broken by position, so the count is exact). Elements already pruned in `previous` are
/// ranked below every other element: a pruned weight never comes back.
inline void magnitudeMasks(const std::vector<Prunable> &group, int64_t count,
                           const Masks &previous, Masks *out)
{
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> scores;
    for (const Prunable &p : group) {
        torch::Tensor s = p.weight.detach().abs().to(torch::kCPU, torch::kDouble).flatten();
        const auto it = previous.find(p.name);
        if (it != previous.end())
            s = torch::where(it->second.to(torch::kCPU).flatten() > 0.5, s,
                             torch::full_like(s, -1.0));
        scores.push_back(s);
    }
    const torch::Tensor all = torch::cat(scores);
    torch::Tensor keep = torch::ones({all.numel()}, torch::kFloat);
    count = std::clamp<int64_t>(count, 0, all.numel());
    if (count > 0) {
        const torch::Tensor order = std::get<1>(all.sort(/*stable=*/true, 0, false));
        keep.index_fill_(0, order.slice(0, 0, count), 0.0);
    }
    int64_t offset = 0;
    for (const Prunable &p : group) {
        const int64_t n = p.weight.numel();
        (*out)[p.name] = keep.slice(0, offset, offset + n)
                             .reshape(p.weight.sizes())
                             .to(p.weight.device(), p.weight.scalar_type())
                             .clone();
        offset += n;
    }
}

/// Masks at `sparsity` (fraction of elements pruned, count rounded to the nearest integer),
/// over all of `targets` at once (global) or per tensor (layer-wise).
inline Masks sparsityMasks(const std::vector<Prunable> &targets, double sparsity, bool global,
                           const Masks &previous = {})
{
    Masks masks;
    if (global) {
        int64_t total = 0;
        for (const Prunable &p : targets)
            total += p.weight.numel();
        magnitudeMasks(targets, std::llround(sparsity * double(total)), previous, &masks);
    } else {
        for (const Prunable &p : targets)
            magnitudeMasks({p}, std::llround(sparsity * double(p.weight.numel())), previous,
                           &masks);
    }
    return masks;
}

/// weight *= mask for every masked tensor of `model` (no grad). Names not in the model are
/// ignored (the caller built the masks from this model).
inline void applyMasks(const Model &model, const Masks &masks)
{
    torch::NoGradGuard noGrad;
    for (const auto &[name, t] : model.namedParameters()) {
        const auto it = masks.find(name);
        if (it != masks.end())
            t.mul_(it->second.to(t.device(), t.scalar_type()));
    }
}

/// Exact zero count of the masked tensors.
struct SparsityReport
{
    int64_t elements = 0;
    int64_t zeros = 0;
    double sparsity() const { return elements > 0 ? double(zeros) / double(elements) : 0; }
    QJsonArray perLayer; ///< [{"tensor", "elements", "zeros", "sparsity"}]
};

inline SparsityReport sparsityOf(const std::vector<Prunable> &targets)
{
    SparsityReport r;
    for (const Prunable &p : targets) {
        const int64_t n = p.weight.numel();
        const int64_t z = n - p.weight.detach().count_nonzero().item<int64_t>();
        r.elements += n;
        r.zeros += z;
        r.perLayer.append(QJsonObject{{QStringLiteral("tensor"), QString::fromStdString(p.name)},
                                      {QStringLiteral("elements"), qint64(n)},
                                      {QStringLiteral("zeros"), qint64(z)},
                                      {QStringLiteral("sparsity"), n > 0 ? double(z) / double(n) : 0.0}});
    }
    return r;
}

/// Fraction of positions where two mask sets differ (normalised Hamming distance, You et al.
/// 2020), over the names of `a`.
inline double maskDistance(const Masks &a, const Masks &b)
{
    int64_t differ = 0;
    int64_t total = 0;
    for (const auto &[name, m] : a) {
        const auto it = b.find(name);
        if (it == b.end())
            continue;
        differ += (m.to(torch::kCPU) > 0.5).ne(it->second.to(torch::kCPU) > 0.5).sum().item<int64_t>();
        total += m.numel();
    }
    return total > 0 ? double(differ) / double(total) : 0;
}

/// Logs the exact sparsity of `targets` with the per-tensor figures, and when `final` also
/// reports the metrics "sparsity", "pruned_weights" and "nonzero_parameters" (once per run:
/// intermediate steps only log).
inline SparsityReport reportSparsity(TechniqueContext &context,
                                     const std::vector<Prunable> &targets, const QString &what,
                                     bool final = true)
{
    const SparsityReport r = sparsityOf(targets);
    if (context.log)
        context.log(QStringLiteral("%1: %2 of %3 prunable weights are zero (sparsity %4)").arg(what)
                        .arg(r.zeros)
                        .arg(r.elements)
                        .arg(r.sparsity(), 0, 'f', 6),
                    QJsonObject{{QStringLiteral("sparsity"), r.sparsity()},
                                {QStringLiteral("zeros"), qint64(r.zeros)},
                                {QStringLiteral("elements"), qint64(r.elements)},
                                {QStringLiteral("layers"), r.perLayer}});
    if (final && context.metric) {
        context.metric(QStringLiteral("sparsity"), r.sparsity(), QStringLiteral("ratio"));
        context.metric(QStringLiteral("pruned_weights"), double(r.zeros), QStringLiteral("count"));
        context.metric(QStringLiteral("nonzero_parameters"), double(nonZeroParameterCount(*context.model)),
                       QStringLiteral("count"));
    }
    return r;
}

/// Fine-tunes context.model on context.data->train for `epochs` with the baseline's options,
/// learning rate x `lrFactor`, re-applying `masks` after every optimizer step (so neither the
/// gradient nor Adam's momentum can regrow a pruned weight) and once more at the end.
/// `epochs` 0 does nothing. Returns false with *error (also "cancelled").
inline bool fineTune(TechniqueContext &context, const Masks &masks, int epochs, double lrFactor,
                     const QString &label, quint64 seedOffset, QString *error)
{
    if (epochs <= 0)
        return true;
    if (!context.data || context.data->train.size() == 0) {
        *error = QStringLiteral("%1 needs the training split (context.data is empty); set the epochs "
                 "parameter to 0 to skip fine-tuning").arg(label);
        return false;
    }
    TrainOptions options = context.training;
    options.epochs = epochs;
    options.learningRate *= lrFactor;
    options.minLearningRate *= lrFactor;
    options.seed = context.seed + seedOffset;
    options.label = label;
    options.epochSubset = nullptr;
    const auto outer = options.afterStep;
    Model *model = context.model.get();
    options.afterStep = [outer, model, &masks](const BatchContext &batch) {
        if (outer)
            outer(batch);
        applyMasks(*model, masks);
    };
    Trainer trainer(options);
    const auto result = trainer.train(*context.model, context.data->train, context.feedback, error);
    if (!result)
        return false;
    applyMasks(*context.model, masks);
    if (result->canceled) {
        *error = QStringLiteral("cancelled");
        return false;
    }
    if (context.log && !result->epochs.empty()) {
        const EpochStats &last = result->epochs.back();
        context.log(QStringLiteral("%1: %2 epochs, last training loss %3, accuracy %4").arg(label)
                        .arg(result->epochs.size())
                        .arg(last.loss, 0, 'g', 5)
                        .arg(last.accuracy, 0, 'f', 4),
                    QJsonObject{{QStringLiteral("epochs"), int(result->epochs.size())},
                                {QStringLiteral("loss"), last.loss},
                                {QStringLiteral("train_accuracy"), last.accuracy},
                                {QStringLiteral("learning_rate"), last.learningRate},
                                {QStringLiteral("seconds"), result->seconds}});
    }
    return true;
}

/// Copies the tensors of `state` into the model's parameters and buffers of the same name and
/// shape (lottery-ticket rewinding). Every parameter must be present; buffers are copied when
/// present. Returns false with *error naming the tensor.
inline bool rewindTo(const Model &model, const NamedTensors &state, QString *error)
{
    std::map<std::string, torch::Tensor> byName;
    for (const auto &[name, t] : state)
        byName[name] = t;
    torch::NoGradGuard noGrad;
    for (const auto &[name, t] : model.namedParameters()) {
        const auto it = byName.find(name);
        if (it == byName.end() || !it->second.sizes().equals(t.sizes())) {
            *error = QStringLiteral("the saved weights have no tensor \"%1\" of shape %2 (was the model "
                     "changed by an earlier technique of the chain?)")
                         .arg(QString::fromStdString(name),
                              shapeToString(t.sizes().vec()));
            return false;
        }
        t.copy_(it->second);
    }
    for (const auto &[name, t] : model.namedBuffers()) {
        const auto it = byName.find(name);
        if (it != byName.end() && it->second.sizes().equals(t.sizes()))
            t.copy_(it->second);
    }
    return true;
}

/// A deep copy of the model's parameters and buffers (for rewinding later).
inline NamedTensors snapshotState(const Model &model)
{
    NamedTensors out;
    for (const auto &[name, t] : model.state())
        out.emplace_back(name, t.detach().clone());
    return out;
}

/// The body of every pruning technique's apply(): fails with "no model to prune" when the
/// context holds none, else runs `work` (a callable returning bool that sets *error when it
/// fails) and turns an exception it throws (libtorch) into "<operation> failed: <reason>".
template <typename Work>
bool applyGuarded(const TechniqueContext &context, const QString &operation, QString *error,
                  Work &&work)
{
    if (!context.model) {
        *error = QStringLiteral("no model to prune");
        return false;
    }
    try {
        return work();
    } catch (const std::exception &e) {
        *error = operation + QStringLiteral(" failed: ") + exceptionText(e);
        return false;
    }
}

} // namespace jb::plugins::pruning
