// SPDX-License-Identifier: GPL-3.0-or-later
#include "quant_convert.h"

#include "quant_engine.h"
#include "quant_layers.h"

#include "engine/datasets.h"

#include <QJsonArray>

#include <torch/torch.h>

using namespace Qt::StringLiterals;

namespace jb::quant {

namespace {

bool isWeightLayer(const LayerSpec &l)
{
    return l.impl.isEmpty() && (l.kind == LayerKind::Conv || l.kind == LayerKind::DepthwiseConv ||
                                l.kind == LayerKind::Linear);
}

bool isRelu(const LayerSpec &l)
{
    return l.impl.isEmpty() && l.kind == LayerKind::Activation && l.activation == u"relu"_s;
}

/// Layers that take a quint8 tensor and give one back with the same quantization.
bool isPassThrough(const LayerSpec &l)
{
    if (l.kind == LayerKind::BatchNorm)
        return l.impl == kFoldedBatchNormImpl;
    if (l.kind == LayerKind::Pool && l.impl == kQuantPoolImpl)
        return true;
    if (!l.impl.isEmpty())
        return false;
    return isRelu(l) || l.kind == LayerKind::Pool || l.kind == LayerKind::Flatten ||
           l.kind == LayerKind::Dropout;
}

void findUnitsIn(const std::vector<LayerSpec> &layers, const QString &prefix,
                 std::vector<QuantUnit> *units)
{
    const size_t n = layers.size();
    for (size_t i = 0; i < n; ++i) {
        const LayerSpec &l = layers[i];
        if (l.kind == LayerKind::Residual) {
            const QString p = prefix + QString::number(i);
            findUnitsIn(l.body, p + u".body."_s, units);
            findUnitsIn(l.shortcut, p + u".shortcut."_s, units);
            continue;
        }
        if (!isWeightLayer(l))
            continue;
        QuantUnit u;
        u.path = prefix + QString::number(i);
        u.conv = l.kind != LayerKind::Linear;
        size_t j = i;
        if (j + 1 < n && layers[j + 1].kind == LayerKind::BatchNorm && layers[j + 1].impl.isEmpty())
            u.bnPath = prefix + QString::number(++j);
        if (j + 1 < n && isRelu(layers[j + 1]))
            u.reluPath = prefix + QString::number(++j);
        u.lastPath = prefix + QString::number(j);
        size_t k = j + 1;
        while (k < n && isPassThrough(layers[k]))
            ++k;
        u.quantizedOutput = k < n && isWeightLayer(layers[k]);
        for (size_t m = j + 1; u.quantizedOutput && m < k; ++m) {
            if (layers[m].kind == LayerKind::Pool)
                u.quantizedPools.append(prefix + QString::number(m));
        }
        units->push_back(u);
        i = j;
    }
}

torch::Tensor walk(LayerSequence &seq, const std::vector<LayerSpec> &specs, const QString &prefix,
                   torch::Tensor x, RangeMap *ranges)
{
    for (size_t i = 0; i < seq.size(); ++i) {
        const QString path = prefix + QString::number(i);
        (*ranges)[u"in:"_s + path].update(x);
        torch::Tensor y;
        if (specs[i].kind == LayerKind::Residual) {
            auto *res = dynamic_cast<ResidualLayer *>(seq.at(i).get());
            const torch::Tensor body = walk(res->body(), specs[i].body, path + u".body."_s, x,
                                            ranges);
            const torch::Tensor shortcut =
                specs[i].shortcut.empty()
                    ? x
                    : walk(res->shortcut(), specs[i].shortcut, path + u".shortcut."_s, x, ranges);
            y = body + shortcut;
        } else {
            y = seq.at(i)->forward(x);
        }
        (*ranges)[u"out:"_s + path].update(y);
        x = y;
    }
    return x;
}

torch::Tensor tensorOf(const Layer &layer, const char *name, bool buffer = false)
{
    const auto list = buffer ? layer.named_buffers(false) : layer.named_parameters(false);
    if (const torch::Tensor *t = list.find(name))
        return t->detach();
    return {};
}

} // namespace

bool checkConvertible(const QString &engineParam, const Model &model, const Backend &backend,
                      const QString &operation, QString *error)
{
    if (!resolveEngine(engineParam, backend, error))
        return false;
    const ArchSpec *spec = requireSpec(model, operation, error);
    if (!spec)
        return false;
    if (findUnits(*spec).empty()) {
        *error = QStringLiteral("model '%1' has no float conv or Linear layer to quantize")
                     .arg(model.name());
        return false;
    }
    return true;
}

std::vector<QuantUnit> findUnits(const ArchSpec &spec)
{
    std::vector<QuantUnit> units;
    findUnitsIn(spec.layers, QString(), &units);
    return units;
}

void Range::update(const torch::Tensor &t)
{
    const torch::Tensor f = t.is_quantized() ? t.dequantize() : t;
    min = std::min(min, f.min().item<double>());
    max = std::max(max, f.max().item<double>());
}

bool calibrate(SpecModel &model, const Dataset &data, int batches, int64_t batchSize,
               Feedback *feedback, RangeMap *ranges, QString *error)
{
    if (data.size() == 0) {
        *error = u"calibration needs data: the validation split '%1' is empty (give the data "
                 "set a validation fraction)"_s.arg(data.name);
        return false;
    }
    torch::NoGradGuard noGrad;
    const bool wasTraining = model.isTraining();
    model.setTraining(false);
    BatchIterator it(data, batchSize, /*shuffle=*/false);
    torch::Tensor x, y;
    int done = 0;
    while (done < batches && it.next(&x, &y)) {
        if (feedback && feedback->isCanceled()) {
            *error = u"cancelled"_s;
            model.setTraining(wasTraining);
            return false;
        }
        walk(model.network(), model.spec()->layers, QString(), x.to(model.device()), ranges);
        ++done;
        if (feedback)
            feedback->setProgress(double(done) / batches,
                                  u"calibration: batch %1/%2"_s.arg(done).arg(batches));
    }
    model.setTraining(wasTraining);
    return true;
}

void foldBatchNorm(const torch::Tensor &weight, const torch::Tensor &bias,
                   const torch::Tensor &gamma, const torch::Tensor &beta,
                   const torch::Tensor &mean, const torch::Tensor &var, double eps,
                   torch::Tensor *foldedWeight, torch::Tensor *foldedBias)
{
    torch::NoGradGuard noGrad;
    const torch::Tensor factor = gamma.to(torch::kDouble) / (var.to(torch::kDouble) + eps).sqrt();
    std::vector<int64_t> shape(size_t(weight.dim()), 1);
    shape[0] = weight.size(0);
    *foldedWeight = (weight.to(torch::kDouble) * factor.reshape(shape)).to(weight.scalar_type());
    const torch::Tensor b =
        bias.defined() ? bias.to(torch::kDouble) : torch::zeros_like(factor);
    *foldedBias = ((b - mean.to(torch::kDouble)) * factor + beta.to(torch::kDouble))
                      .to(weight.scalar_type());
}

bool foldedUnitWeights(const SpecModel &model, const QuantUnit &unit, torch::Tensor *weight,
                       torch::Tensor *bias, QString *error)
{
    const std::shared_ptr<Layer> layer = model.layer(unit.path);
    const torch::Tensor w = layer ? tensorOf(*layer, "weight") : torch::Tensor();
    if (!w.defined()) {
        *error = u"model '%1', layer %2: no float weight to quantize (already converted?)"_s.arg(
            model.name(), unit.path);
        return false;
    }
    const torch::Tensor b = tensorOf(*layer, "bias");
    if (unit.bnPath.isEmpty()) {
        *weight = w.clone();
        *bias = b.defined() ? b.clone() : torch::zeros({w.size(0)});
        return true;
    }
    const std::shared_ptr<Layer> bn = model.layer(unit.bnPath);
    const LayerSpec *bnSpec = model.spec()->layerAt(unit.bnPath);
    const torch::Tensor mean = bn ? tensorOf(*bn, "running_mean", true) : torch::Tensor();
    if (!mean.defined() || !bnSpec) {
        *error = u"model '%1', layer %2: batch-norm without running statistics"_s.arg(
            model.name(), unit.bnPath);
        return false;
    }
    foldBatchNorm(w, b, tensorOf(*bn, "weight"), tensorOf(*bn, "bias"), mean,
                  tensorOf(*bn, "running_var", true), bnSpec->eps, weight, bias);
    return true;
}

QJsonObject ConversionReport::toJson() const
{
    return {{u"converted_layers"_s, convertedLayers},
            {u"folded_batchnorms"_s, foldedBatchNorms},
            {u"fused_relus"_s, fusedRelus},
            {u"dequantize_boundaries"_s, quantizedBoundaries},
            {u"layers"_s, QJsonArray::fromStringList(layers)}};
}

namespace {

const LayerShape *shapeAt(const std::vector<LayerShape> &shapes, const QString &path)
{
    for (const LayerShape &s : shapes) {
        if (s.path == path)
            return &s;
    }
    return nullptr;
}

bool replaceBatchNorm(SpecModel &model, const QuantUnit &unit, ConversionReport *report,
                      QString *error)
{
    if (unit.bnPath.isEmpty())
        return true;
    const LayerSpec *bn = model.spec()->layerAt(unit.bnPath);
    if (bn && bn->impl == kFoldedBatchNormImpl)
        return true;
    if (!model.replaceLayer(unit.bnPath, std::make_shared<FoldedBatchNorm>(), kFoldedBatchNormImpl,
                            {}, error))
        return false;
    ++report->foldedBatchNorms;
    return true;
}

} // namespace

bool convertUnitsToInt8(SpecModel &model, const std::vector<QuantUnit> &units,
                        const UnitSourceFn &source, const StaticOptions &options,
                        ConversionReport *report, QString *error)
{
    registerQuantLayerImpls();
    std::vector<LayerShape> shapes;
    if (!model.spec()->inferShapes(&shapes, error))
        return false;
    for (const QuantUnit &unit : units) {
        UnitSource src;
        if (!source(unit, &src, error))
            return false;
        if (!src.input.valid() || !src.output.valid()) {
            *error = u"model '%1', layer %2: no activation range observed (calibration or "
                     "training saw no batch)"_s.arg(model.name(), unit.path);
            return false;
        }
        const ActivationQParams in =
            activationQParams(src.input.min, src.input.max, options.reduceRange);
        const ActivationQParams out =
            activationQParams(src.output.min, src.output.max, options.reduceRange);
        const QJsonObject implOptions{{u"engine"_s, options.engine},
                                      {u"per_channel"_s, options.perChannel},
                                      {u"input_scale"_s, in.scale},
                                      {u"input_zero_point"_s, qint64(in.zeroPoint)},
                                      {u"output_scale"_s, out.scale},
                                      {u"output_zero_point"_s, qint64(out.zeroPoint)},
                                      {u"relu"_s, !unit.reluPath.isEmpty()},
                                      {u"dequantize_output"_s, !unit.quantizedOutput}};
        const LayerSpec *spec = model.spec()->layerAt(unit.path);
        const LayerShape *shape = shapeAt(shapes, unit.path);
        if (!spec || !shape) {
            *error = u"model '%1': no layer at %2"_s.arg(model.name(), unit.path);
            return false;
        }
        std::shared_ptr<Int8LayerBase> layer;
        const int64_t inC = shape->input[0];
        if (unit.conv) {
            const bool dw = spec->kind == LayerKind::DepthwiseConv;
            layer = std::make_shared<StaticConvInt8>(
                inC, dw ? inC * spec->multiplier : spec->out, spec->kernel, spec->stride,
                spec->padding, dw ? inC : spec->groups, true, implOptions);
        } else {
            layer = std::make_shared<StaticLinearInt8>(inC, spec->out, true, implOptions);
        }
        layer->setWeights(quantizeWeight(src.weight, options.perChannel), src.bias);
        // The batch-norm first: the probe of replaceLayer() then sees the final network.
        if (!replaceBatchNorm(model, unit, report, error))
            return false;
        if (!model.replaceLayer(unit.path, layer, unit.conv ? kStaticConvImpl : kStaticLinearImpl,
                                implOptions, error))
            return false;
        for (const QString &poolPath : unit.quantizedPools) {
            const LayerSpec *pool = model.spec()->layerAt(poolPath);
            if (!pool || pool->impl == kQuantPoolImpl)
                continue;
            if (!model.replaceLayer(poolPath,
                                    std::make_shared<QuantPool>(pool->pool, pool->kernel,
                                                                pool->stride, pool->padding),
                                    kQuantPoolImpl, {}, error))
                return false;
        }
        ++report->convertedLayers;
        report->fusedRelus += unit.reluPath.isEmpty() ? 0 : 1;
        report->quantizedBoundaries += unit.quantizedOutput ? 0 : 1;
        report->layers.append(unit.path);
    }
    return true;
}

namespace {

bool convertLinearsIn(SpecModel &model, const std::vector<LayerSpec> &layers,
                      const QString &prefix, const std::vector<LayerShape> &shapes,
                      const QJsonObject &options, bool perChannel, ConversionReport *report,
                      QString *error)
{
    for (size_t i = 0; i < layers.size(); ++i) {
        const QString path = prefix + QString::number(i);
        const LayerSpec l = layers[i]; // a copy: replaceLayer() changes the spec
        if (l.kind == LayerKind::Residual) {
            if (!convertLinearsIn(model, l.body, path + u".body."_s, shapes, options, perChannel,
                                  report, error) ||
                !convertLinearsIn(model, l.shortcut, path + u".shortcut."_s, shapes, options,
                                  perChannel, report, error))
                return false;
            continue;
        }
        if (l.kind != LayerKind::Linear || !l.impl.isEmpty())
            continue;
        const std::shared_ptr<Layer> old = model.layer(path);
        const torch::Tensor w = tensorOf(*old, "weight");
        const LayerShape *shape = shapeAt(shapes, path);
        if (!w.defined() || !shape) {
            *error = u"model '%1', layer %2: no float weight"_s.arg(model.name(), path);
            return false;
        }
        auto layer = std::make_shared<DynamicLinearInt8>(shape->input[0], l.out, l.bias, options);
        layer->setWeights(quantizeWeight(w, perChannel), tensorOf(*old, "bias"));
        layer->prepack();
        if (!model.replaceLayer(path, layer, kDynamicLinearImpl, options, error))
            return false;
        ++report->convertedLayers;
        report->layers.append(path);
    }
    return true;
}

} // namespace

bool convertLinearsToDynamicInt8(SpecModel &model, const QString &engine, bool perChannel,
                                 bool reduceRange, ConversionReport *report, QString *error)
{
    registerQuantLayerImpls();
    std::vector<LayerShape> shapes;
    if (!model.spec()->inferShapes(&shapes, error))
        return false;
    const QJsonObject options{{u"engine"_s, engine},
                              {u"per_channel"_s, perChannel},
                              {u"reduce_range"_s, reduceRange}};
    const std::vector<LayerSpec> layers = model.spec()->layers;
    return convertLinearsIn(model, layers, QString(), shapes, options, perChannel, report, error);
}

bool prepareQat(SpecModel &model, const std::vector<QuantUnit> &units, bool perChannel,
                bool reduceRange, ConversionReport *report, QString *error)
{
    registerQuantLayerImpls();
    std::vector<LayerShape> shapes;
    if (!model.spec()->inferShapes(&shapes, error))
        return false;
    for (const QuantUnit &unit : units) {
        torch::Tensor w, b;
        if (!foldedUnitWeights(model, unit, &w, &b, error))
            return false;
        const LayerSpec *spec = model.spec()->layerAt(unit.path);
        const LayerShape *shape = shapeAt(shapes, unit.path);
        const int64_t inC = shape->input[0];
        const bool dw = spec->kind == LayerKind::DepthwiseConv;
        const QJsonObject options{{u"kind"_s, unit.conv ? u"conv"_s : u"linear"_s},
                                  {u"stride"_s, qint64(spec->stride)},
                                  {u"padding"_s, qint64(spec->padding)},
                                  {u"groups"_s, qint64(dw ? inC : spec->groups)},
                                  {u"relu"_s, !unit.reluPath.isEmpty()},
                                  {u"per_channel"_s, perChannel},
                                  {u"reduce_range"_s, reduceRange}};
        auto layer = std::make_shared<QatLayer>(w.sizes().vec(), true, options);
        layer->setWeights(w, b);
        layer->to(model.device());
        if (!replaceBatchNorm(model, unit, report, error))
            return false;
        if (!model.replaceLayer(unit.path, layer, unit.conv ? kQatConvImpl : kQatLinearImpl,
                                options, error))
            return false;
        report->layers.append(unit.path);
    }
    return true;
}

int64_t modelStateBytes(const Model &model)
{
    int64_t bytes = 0;
    for (const auto &[name, t] : model.state())
        bytes += t.numel() * int64_t(t.element_size());
    return bytes;
}

SpecModel *specModelFor(Model *model, const QString &operation, QString *error)
{
    if (!model) {
        *error = u"no model to quantize"_s;
        return nullptr;
    }
    if (!requireSpec(*model, operation, error))
        return nullptr;
    auto *spec = dynamic_cast<SpecModel *>(model);
    if (!spec)
        *error = specRequiredError(operation, *model);
    return spec;
}

} // namespace jb::quant
