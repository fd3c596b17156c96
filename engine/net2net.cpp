// SPDX-License-Identifier: GPL-3.0-or-later
#include "net2net.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

namespace jb {

namespace {

using TensorMap = std::map<std::string, torch::Tensor>;

QString label(const QString &path, const LayerSpec &l)
{
    return QStringLiteral("layer %1 (%2)").arg(path, layerKindName(l.kind));
}

TensorMap byName(const NamedTensors &tensors)
{
    TensorMap m;
    for (const auto &[name, t] : tensors)
        m.emplace(name, t);
    return m;
}

std::string tensorName(const QString &path, const char *what)
{
    return QString(path + QLatin1Char('.') + QLatin1String(what)).toStdString();
}

/// The specs with every conv/linear `out` set to 0, so two specs that differ only in widths
/// compare equal.
void eraseWidths(std::vector<LayerSpec> *layers)
{
    for (LayerSpec &l : *layers) {
        if (l.kind == LayerKind::Conv || l.kind == LayerKind::Linear)
            l.out = 0;
        eraseWidths(&l.body);
        eraseWidths(&l.shortcut);
    }
}

/// Index of the last conv, depthwise conv or linear layer of a list, or -1.
int64_t lastWeightLayer(const std::vector<LayerSpec> &layers)
{
    for (int64_t i = int64_t(layers.size()) - 1; i >= 0; --i) {
        const LayerKind k = layers[size_t(i)].kind;
        if (k == LayerKind::Conv || k == LayerKind::Linear || k == LayerKind::DepthwiseConv)
            return i;
    }
    return -1;
}

void collectHidden(const std::vector<LayerSpec> &layers, const QString &prefix, int64_t skip,
                   QStringList *out)
{
    for (size_t i = 0; i < layers.size(); ++i) {
        const LayerSpec &l = layers[i];
        const QString path = prefix + QString::number(i);
        if ((l.kind == LayerKind::Conv || l.kind == LayerKind::Linear) && int64_t(i) != skip)
            out->append(path);
        if (l.kind == LayerKind::Residual) {
            collectHidden(l.body, path + QStringLiteral(".body."), -1, out);
            collectHidden(l.shortcut, path + QStringLiteral(".shortcut."), -1, out);
        }
    }
}

/// Checks that every layer can be widened (built-in implementation, no grouped conv).
bool checkWidenable(const std::vector<LayerSpec> &layers, const QString &prefix, QString *error)
{
    for (size_t i = 0; i < layers.size(); ++i) {
        const LayerSpec &l = layers[i];
        const QString path = prefix + QString::number(i);
        if (!l.impl.isEmpty()) {
            if (error)
                *error = QStringLiteral("%1 has the implementation '%2'; growing needs the "
                                        "built-in float layers (apply quantization after growing)")
                             .arg(label(path, l), l.impl);
            return false;
        }
        if (l.kind == LayerKind::Conv && l.groups != 1) {
            if (error)
                *error = QStringLiteral("%1 is a grouped conv (groups %2); widening grouped "
                                        "convs is not supported")
                             .arg(label(path, l))
                             .arg(l.groups);
            return false;
        }
        if (l.kind == LayerKind::Residual &&
            (!checkWidenable(l.body, path + QStringLiteral(".body."), error) ||
             !checkWidenable(l.shortcut, path + QStringLiteral(".shortcut."), error)))
            return false;
    }
    return true;
}

/// Fills the tensors of a wider model from the narrow one, walking both specs in step. `cur`
/// maps every channel (or feature) of the tensor flowing at the current position of the NEW
/// model to the channel of the OLD model it replicates.
class Widener
{
public:
    Widener(const TensorMap &old, const TensorMap &fresh,
            const std::map<QString, LayerShape> &newShapes, const WidenOptions &options,
            QString *error)
        : m_old(old), m_new(fresh), m_shapes(newShapes), m_options(options), m_error(error),
          m_gen(at::make_generator<at::CPUGeneratorImpl>(options.seed))
    {
    }

    bool sequence(const std::vector<LayerSpec> &oldL, const std::vector<LayerSpec> &newL,
                  const QString &prefix, torch::Tensor *cur, const torch::Tensor &forced)
    {
        const int64_t last = lastWeightLayer(newL);
        for (size_t i = 0; i < newL.size(); ++i) {
            const QString path = prefix + QString::number(i);
            const torch::Tensor force = int64_t(i) == last ? forced : torch::Tensor();
            if (!layer(oldL[i], newL[i], path, cur, force))
                return false;
        }
        return true;
    }

    /// Tensor names of the new model that were filled.
    const std::set<std::string> &filled() const { return m_filled; }

private:
    bool fail(const QString &message)
    {
        if (m_error)
            *m_error = message;
        return false;
    }

    torch::Tensor oldTensor(const QString &path, const char *what) const
    {
        const auto it = m_old.find(tensorName(path, what));
        return it == m_old.end() ? torch::Tensor() : it->second;
    }

    /// Copies `value` into the new model's tensor `path.what` (if the layer has it).
    bool put(const QString &path, const char *what, const torch::Tensor &value)
    {
        const std::string name = tensorName(path, what);
        const auto it = m_new.find(name);
        if (it == m_new.end())
            return true;
        if (!value.defined() || value.sizes() != it->second.sizes())
            return fail(QStringLiteral("widening: tensor '%1' needs shape %2, the replicated "
                                       "one has %3")
                            .arg(QString::fromStdString(name),
                                 shapeToString(it->second.sizes().vec()),
                                 value.defined() ? shapeToString(value.sizes().vec())
                                                 : QStringLiteral("none")));
        it->second.copy_(value);
        m_filled.insert(name);
        return true;
    }

    /// Dimension 0 of every tensor of a per-channel layer (BN, depthwise conv) by `map`.
    bool replicateRows(const QString &path, const torch::Tensor &map)
    {
        for (const char *what : {"weight", "bias", "running_mean", "running_var"}) {
            const torch::Tensor t = oldTensor(path, what);
            if (t.defined() && !put(path, what, t.index_select(0, map.to(t.device()))))
                return false;
        }
        const torch::Tensor tracked = oldTensor(path, "num_batches_tracked");
        return !tracked.defined() || put(path, "num_batches_tracked", tracked);
    }

    /// Out-channel map of a widened layer: the old units, then random copies of them.
    torch::Tensor replicationMap(int64_t oldOut, int64_t newOut)
    {
        torch::Tensor keep = torch::arange(oldOut, torch::kLong);
        if (newOut == oldOut)
            return keep;
        return torch::cat({keep, torch::randint(oldOut, {newOut - oldOut}, m_gen,
                                                torch::TensorOptions(torch::kLong))});
    }

    bool weightLayer(const LayerSpec &oldSpec, const LayerSpec &newSpec, const QString &path,
                     torch::Tensor *cur, const torch::Tensor &forced)
    {
        const torch::Tensor w = oldTensor(path, "weight");
        if (!w.defined() || w.dim() < 2)
            return fail(QStringLiteral("widening: %1 has no weight").arg(label(path, oldSpec)));
        const int64_t oldOut = w.size(0);
        const int64_t oldIn = w.size(1);
        const int64_t newOut = newSpec.out;
        if (newOut < oldOut)
            return fail(QStringLiteral("widening: %1 would shrink from %2 to %3 outputs; growing "
                                       "never removes units (prune.structured does)")
                            .arg(label(path, newSpec))
                            .arg(oldOut)
                            .arg(newOut));
        torch::Tensor g;
        if (forced.defined()) {
            if (forced.size(0) != newOut)
                return fail(QStringLiteral("widening: %1 feeds a residual addition with %2 "
                                           "channels but gets %3 outputs; give the block's "
                                           "layers and its input the same width")
                                .arg(label(path, newSpec))
                                .arg(forced.size(0))
                                .arg(newOut));
            g = forced;
        } else {
            g = replicationMap(oldOut, newOut);
        }
        const torch::Device dev = w.device();
        const torch::Tensor in = *cur;
        // Each old input channel c arrives cnt[c] times: its weights are divided among them.
        const torch::Tensor cnt = torch::bincount(in, {}, oldIn).to(torch::kDouble);
        torch::Tensor nw =
            w.to(torch::kDouble).index_select(0, g.to(dev)).index_select(1, in.to(dev));
        std::vector<int64_t> view(size_t(w.dim()), 1);
        view[1] = in.size(0);
        nw = nw * (1.0 / cnt.index_select(0, in)).to(dev).view(view);
        if (m_options.noise > 0 && cnt.max().item<double>() > 1 && w.numel() > 1) {
            // Zero-sum over the replicas of each input channel: the sum the next unit computes,
            // and so the function, is unchanged, but the replicas' weights differ.
            const double sigma = m_options.noise * w.to(torch::kDouble).std().item<double>();
            torch::Tensor e = torch::randn(nw.sizes(), m_gen, torch::TensorOptions(torch::kDouble));
            std::vector<int64_t> sumShape = nw.sizes().vec();
            sumShape[1] = oldIn;
            std::vector<int64_t> cntView(size_t(w.dim()), 1);
            cntView[1] = oldIn;
            const torch::Tensor mean = torch::zeros(sumShape, torch::kDouble).index_add_(1, in, e) /
                                       cnt.clamp_min(1).view(cntView);
            e = (e - mean.index_select(1, in)) * sigma;
            nw = nw + e.to(dev);
        }
        if (!put(path, "weight", nw.to(w.scalar_type())))
            return false;
        const torch::Tensor b = oldTensor(path, "bias");
        if (b.defined() && !put(path, "bias", b.index_select(0, g.to(b.device()))))
            return false;
        *cur = g;
        return true;
    }

    bool layer(const LayerSpec &oldSpec, const LayerSpec &newSpec, const QString &path,
               torch::Tensor *cur, const torch::Tensor &forced)
    {
        switch (newSpec.kind) {
        case LayerKind::Conv:
        case LayerKind::Linear:
            return weightLayer(oldSpec, newSpec, path, cur, forced);
        case LayerKind::DepthwiseConv: {
            // Output channel c * m + j reads input channel c only: replicate the filters.
            const int64_t m = newSpec.multiplier;
            const torch::Tensor map =
                ((*cur * m).unsqueeze(1) + torch::arange(m, torch::kLong)).flatten();
            if (!replicateRows(path, map))
                return false;
            *cur = map;
            if (forced.defined() && !torch::equal(forced, map))
                return fail(QStringLiteral("widening: %1 ends a residual branch but cannot "
                                           "follow the other branch's replication")
                                .arg(label(path, newSpec)));
            return true;
        }
        case LayerKind::BatchNorm:
            return replicateRows(path, *cur);
        case LayerKind::Activation:
        case LayerKind::Pool:
        case LayerKind::Dropout:
            return true;
        case LayerKind::Flatten: {
            const auto it = m_shapes.find(path);
            if (it == m_shapes.end())
                return fail(QStringLiteral("widening: no shape for layer %1").arg(path));
            int64_t perChannel = 1;
            for (size_t d = 1; d < it->second.input.size(); ++d)
                perChannel *= it->second.input[d];
            *cur = ((*cur * perChannel).unsqueeze(1) + torch::arange(perChannel, torch::kLong))
                       .flatten();
            return true;
        }
        case LayerKind::Residual: {
            const torch::Tensor in = *cur;
            torch::Tensor shortcut = in;
            if (!newSpec.shortcut.empty() &&
                !sequence(oldSpec.shortcut, newSpec.shortcut, path + QStringLiteral(".shortcut."),
                          &shortcut, torch::Tensor()))
                return false;
            torch::Tensor body = in;
            if (!sequence(oldSpec.body, newSpec.body, path + QStringLiteral(".body."), &body,
                          shortcut))
                return false;
            if (!torch::equal(body, shortcut))
                return fail(QStringLiteral("widening: the body and the shortcut of residual "
                                           "block %1 replicate different channels")
                                .arg(path));
            *cur = shortcut;
            return true;
        }
        }
        return true;
    }

    const TensorMap &m_old;
    const TensorMap &m_new;
    const std::map<QString, LayerShape> &m_shapes;
    WidenOptions m_options;
    QString *m_error;
    at::Generator m_gen;
    std::set<std::string> m_filled;
};

/// Does the tensor after top-level layer `index` hold only values >= 0 (so a ReLU after it is
/// the identity)? Walks back through layers that keep the sign.
bool nonNegativeAfter(const std::vector<LayerSpec> &layers, int64_t index, QString *why)
{
    for (int64_t i = index; i >= 0; --i) {
        const LayerSpec &l = layers[size_t(i)];
        switch (l.kind) {
        case LayerKind::Pool:
        case LayerKind::Dropout:
        case LayerKind::Flatten:
            continue;
        case LayerKind::Activation:
            if (l.activation == QLatin1String("relu") || l.activation == QLatin1String("relu6") ||
                l.activation == QLatin1String("sigmoid"))
                return true;
            break;
        default:
            break;
        }
        *why = QStringLiteral("the output of %1 can be negative").arg(label(QString::number(i), l));
        return false;
    }
    *why = QStringLiteral("the model input can be negative");
    return false;
}

} // namespace

int64_t scaledWidth(int64_t width, double multiplier)
{
    return std::max<int64_t>(1, std::lround(double(width) * multiplier));
}

QStringList hiddenWidthPaths(const ArchSpec &spec)
{
    QStringList out;
    const int64_t last = lastWeightLayer(spec.layers);
    collectHidden(spec.layers, QString(), last, &out);
    return out;
}

std::optional<ArchSpec> scaleWidths(const ArchSpec &spec, double multiplier, QString *error)
{
    if (!(multiplier > 0)) {
        if (error)
            *error = QStringLiteral("width multiplier must be > 0, got %1").arg(multiplier);
        return std::nullopt;
    }
    if (!checkWidenable(spec.layers, QString(), error))
        return std::nullopt;
    ArchSpec out = spec;
    for (const QString &path : hiddenWidthPaths(spec))
        out.layerAt(path)->out = scaledWidth(spec.layerAt(path)->out, multiplier);
    QString why;
    if (!out.validate(&why)) {
        if (error)
            *error = QStringLiteral("scaling the widths of '%1' by %2 gives an invalid spec: %3")
                         .arg(spec.name)
                         .arg(multiplier)
                         .arg(why);
        return std::nullopt;
    }
    return out;
}

std::unique_ptr<SpecModel> net2WiderNet(const SpecModel &model, const ArchSpec &wider,
                                        const WidenOptions &options, QString *error)
{
    const ArchSpec &spec = *model.spec();
    if (!checkWidenable(spec.layers, QString(), error) ||
        !checkWidenable(wider.layers, QString(), error))
        return nullptr;
    ArchSpec a = spec;
    ArchSpec b = wider;
    eraseWidths(&a.layers);
    eraseWidths(&b.layers);
    b.name = a.name;
    if (!(a == b)) {
        if (error)
            *error = QStringLiteral("widening '%1': the wider spec must differ from the model's "
                                    "only in conv/linear widths (same layers, input shape and "
                                    "class count)")
                         .arg(spec.name);
        return nullptr;
    }
    std::vector<LayerShape> shapes;
    if (!wider.inferShapes(&shapes, error))
        return nullptr;
    std::map<QString, LayerShape> shapeOf;
    for (const LayerShape &s : shapes)
        shapeOf.emplace(s.path, s);

    std::unique_ptr<SpecModel> fresh = SpecModel::create(wider, options.seed, error);
    if (!fresh)
        return nullptr;
    try {
        fresh->to(model.device());
        fresh->setTraining(model.isTraining());
        const TensorMap old = byName(model.state());
        const TensorMap target = byName(fresh->state());
        torch::NoGradGuard noGrad;
        Widener widener(old, target, shapeOf, options, error);
        torch::Tensor cur =
            torch::arange(wider.inputShape.empty() ? 0 : wider.inputShape[0], torch::kLong);
        if (!widener.sequence(spec.layers, wider.layers, QString(), &cur, torch::Tensor()))
            return nullptr;
        for (const auto &[name, t] : target) {
            if (!widener.filled().count(name)) {
                if (error)
                    *error = QStringLiteral("widening '%1': tensor '%2' was not filled (a layer "
                                            "kind the widening does not know)")
                                 .arg(spec.name, QString::fromStdString(name));
                return nullptr;
            }
        }
    } catch (const std::exception &e) {
        if (error)
            *error = QStringLiteral("widening '%1' failed: %2").arg(spec.name, exceptionText(e));
        return nullptr;
    }
    return fresh;
}

std::optional<ArchSpec> deeperSpec(const ArchSpec &spec, int64_t afterIndex,
                                   const DeepenOptions &options, int *inserted, QString *error)
{
    auto fail = [&](const QString &what) {
        if (error)
            *error = QStringLiteral("deepening '%1' after layer %2: %3")
                         .arg(spec.name)
                         .arg(afterIndex)
                         .arg(what);
        return std::nullopt;
    };
    if (afterIndex < 0 || afterIndex >= int64_t(spec.layers.size()))
        return fail(
            QStringLiteral("no such top-level layer (the spec has %1)").arg(spec.layers.size()));
    if (options.kernel < 1 || options.kernel % 2 == 0)
        return fail(QStringLiteral("the kernel must be odd, got %1").arg(options.kernel));
    const bool relu = options.activation == QLatin1String("relu");
    if (!relu && !options.activation.isEmpty())
        return fail(QStringLiteral("activation '%1' is not the identity on any range; use "
                                   "\"relu\" or \"\" (none)")
                        .arg(options.activation));
    QString why;
    if (relu && !nonNegativeAfter(spec.layers, afterIndex, &why))
        return fail(QStringLiteral("a ReLU is the identity only on non-negative inputs and %1; "
                                   "insert after a relu layer, or without activation")
                        .arg(why));
    std::vector<LayerShape> shapes;
    if (!spec.inferShapes(&shapes, error))
        return std::nullopt;
    std::vector<int64_t> shape;
    for (const LayerShape &s : shapes) {
        if (s.path == QString::number(afterIndex))
            shape = s.output;
    }
    std::vector<LayerSpec> block;
    if (shape.size() == 3)
        block.push_back(
            layers::conv(shape[0], options.kernel, 1, options.kernel / 2, !options.batchNorm));
    else if (shape.size() == 1)
        block.push_back(layers::linear(shape[0], !options.batchNorm));
    else
        return fail(QStringLiteral("its output %1 is neither [C, H, W] nor flat")
                        .arg(shapeToString(shape)));
    if (options.batchNorm)
        block.push_back(layers::batchNorm());
    if (relu)
        block.push_back(layers::act());
    ArchSpec out = spec;
    out.layers.insert(out.layers.begin() + afterIndex + 1, block.begin(), block.end());
    if (!out.validate(&why))
        return fail(QStringLiteral("the deeper spec is invalid: ") + why);
    if (inserted)
        *inserted = int(block.size());
    return out;
}

std::unique_ptr<SpecModel> net2DeeperNet(SpecModel &model, int64_t afterIndex,
                                         const DeepenOptions &options,
                                         const torch::Tensor &calibration, QString *error)
{
    const ArchSpec &spec = *model.spec();
    int inserted = 0;
    const std::optional<ArchSpec> deeper = deeperSpec(spec, afterIndex, options, &inserted, error);
    if (!deeper)
        return nullptr;
    std::unique_ptr<SpecModel> fresh = SpecModel::create(*deeper, 0, error);
    if (!fresh)
        return nullptr;
    try {
        fresh->to(model.device());
        fresh->setTraining(model.isTraining());
        torch::NoGradGuard noGrad;
        const TensorMap target = byName(fresh->state());
        // Old tensors, renamed to their place in the deeper model.
        for (const auto &[name, t] : model.state()) {
            const QString n = QString::fromStdString(name);
            const qsizetype dot = n.indexOf(QLatin1Char('.'));
            const int64_t top = n.left(dot).toLongLong();
            const QString renamed =
                top <= afterIndex ? n : QString::number(top + inserted) + n.mid(dot);
            const auto it = target.find(renamed.toStdString());
            if (it == target.end() || it->second.sizes() != t.sizes()) {
                if (error)
                    *error = QStringLiteral("deepening '%1': tensor '%2' has no place in the "
                                            "deeper model")
                                 .arg(spec.name, n);
                return nullptr;
            }
            it->second.copy_(t);
        }
        const QString at = QString::number(afterIndex + 1);
        const torch::Tensor w = target.at(tensorName(at, "weight"));
        w.zero_();
        const int64_t channels = w.size(0);
        const torch::Tensor eye = torch::eye(channels, w.options());
        if (w.dim() == 4) // a centred Dirac kernel: out channel c copies in channel c
            w.select(3, options.kernel / 2).select(2, options.kernel / 2).copy_(eye);
        else
            w.copy_(eye);
        if (const auto b = target.find(tensorName(at, "bias")); b != target.end())
            b->second.zero_();
        if (options.batchNorm) {
            const QString bn = QString::number(afterIndex + 2);
            const double eps = deeper->layers[size_t(afterIndex + 2)].eps;
            torch::Tensor mean = torch::zeros({channels}, w.options());
            torch::Tensor var = torch::ones({channels}, w.options());
            if (calibration.defined() && calibration.size(0) > 1) {
                const bool wasTraining = model.isTraining();
                model.setTraining(false);
                torch::Tensor x = calibration.to(model.device(), model.computeDtype());
                const LayerSequence &net = model.network();
                for (int64_t i = 0; i <= afterIndex; ++i)
                    x = net.at(size_t(i))->forward(x);
                model.setTraining(wasTraining);
                std::vector<int64_t> dims = {0};
                for (int64_t d = 2; d < x.dim(); ++d)
                    dims.push_back(d);
                mean = x.mean(dims);
                var = x.var(dims, /*unbiased=*/false);
            }
            target.at(tensorName(bn, "running_mean")).copy_(mean);
            target.at(tensorName(bn, "running_var")).copy_(var);
            target.at(tensorName(bn, "weight")).copy_((var + eps).sqrt());
            target.at(tensorName(bn, "bias")).copy_(mean);
        }
    } catch (const std::exception &e) {
        if (error)
            *error = QStringLiteral("deepening '%1' failed: %2").arg(spec.name, exceptionText(e));
        return nullptr;
    }
    return fresh;
}

} // namespace jb
