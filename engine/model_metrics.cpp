// SPDX-License-Identifier: GPL-3.0-or-later
#include "model_metrics.h"

#include "model_io.h"
#include "spec_model.h"

#include <torch/torch.h>

namespace jb {

namespace {

int64_t elements(const std::vector<int64_t> &shape)
{
    int64_t n = 1;
    for (int64_t v : shape)
        n *= v;
    return n;
}

int64_t nonZero(const torch::Tensor &t)
{
    if (!t.defined())
        return 0;
    const torch::Tensor dense = t.is_quantized() ? t.dequantize() : t;
    return dense.count_nonzero().item<int64_t>();
}

/// Walks the spec (pre-order, as inferShapes lists it) and fills per-layer figures.
class Walker
{
public:
    Walker(const SpecModel &model, const std::vector<LayerShape> &shapes)
        : m_model(model), m_shapes(shapes)
    {
    }

    struct Span
    {
        int64_t peak = 0;            ///< most elements alive at once inside the sequence
        std::vector<int64_t> output; ///< the sequence's output shape
    };

    /// `extra`: elements kept alive by enclosing residual blocks (their inputs).
    Span sequence(const std::vector<LayerSpec> &specs, const std::vector<int64_t> &input,
                  int64_t extra, std::vector<LayerMetrics> *out)
    {
        Span span{0, input};
        for (const LayerSpec &l : specs) {
            const LayerShape &s = m_shapes.at(m_cursor++);
            const int64_t in = elements(s.input);
            const int64_t outElems = elements(s.output);
            const size_t slot = out->size();
            LayerMetrics m;
            m.path = s.path;
            m.kind = layerKindName(l.kind);
            m.outputShape = s.output;
            out->push_back(m);
            if (l.kind == LayerKind::Residual) {
                // The body runs with the block input alive; the shortcut with the input and
                // the body output; the addition reads both branch outputs and writes its own.
                const Span body = sequence(l.body, s.input, extra + in, out);
                const Span shortcut =
                    l.shortcut.empty()
                        ? Span{0, s.input}
                        : sequence(l.shortcut, s.input, extra + in + elements(body.output), out);
                const int64_t add =
                    extra + elements(body.output) + elements(shortcut.output) + outElems;
                span.peak = std::max({span.peak, body.peak, shortcut.peak, add});
                LayerMetrics &r = (*out)[slot];
                r.otherOps = outElems; // the addition
                r.outputElements = outElems;
                span.output = s.output;
                continue;
            }
            LayerMetrics &r = (*out)[slot];
            const std::shared_ptr<Layer> layer = m_model.layer(s.path);
            if (layer) {
                for (const torch::Tensor &t : layer->countedParameters()) {
                    r.parameters += t.numel();
                    r.nonZeroParameters += nonZero(t);
                }
            }
            r.outputElements = outElems;
            switch (l.kind) {
            case LayerKind::Conv:
            case LayerKind::DepthwiseConv: {
                const int64_t groups = l.kind == LayerKind::Conv ? l.groups : s.input[0];
                const int64_t spatial = s.output[1] * s.output[2];
                r.macs = s.output[0] * spatial * (s.input[0] / groups) * l.kernel * l.kernel;
                r.nonZeroMacs = layer ? nonZero(layer->metricsWeight()) * spatial : r.macs;
                r.otherOps = l.bias ? outElems : 0;
                break;
            }
            case LayerKind::Linear:
                r.macs = s.input[0] * l.out;
                r.nonZeroMacs = layer ? nonZero(layer->metricsWeight()) : r.macs;
                r.otherOps = l.bias ? outElems : 0;
                break;
            case LayerKind::BatchNorm:
                r.otherOps = 2 * outElems; // scale and shift (foldable at deployment)
                break;
            case LayerKind::Activation:
                r.otherOps = outElems;
                break;
            case LayerKind::Pool:
                r.otherOps = l.pool == PoolMode::GlobalAvg ? in : outElems * l.kernel * l.kernel;
                break;
            case LayerKind::Dropout: // identity at inference
            case LayerKind::Flatten: // a view
                r.outputElements = 0;
                break;
            case LayerKind::Residual:
                break;
            }
            span.peak = std::max(span.peak, extra + in + r.outputElements);
            span.output = s.output;
        }
        return span;
    }

private:
    const SpecModel &m_model;
    const std::vector<LayerShape> &m_shapes;
    size_t m_cursor = 0;
};

} // namespace

std::optional<ModelMetrics> computeModelMetrics(const Model &model, QString *error)
{
    ModelMetrics m;
    try {
        torch::NoGradGuard noGrad;
        for (const auto &[name, t] : model.namedParameters()) {
            m.parameters += t.numel();
            m.nonZeroParameters += nonZero(t);
        }
        for (const auto &[name, t] : model.namedBuffers())
            m.bufferElements += t.numel();

        const std::optional<QByteArray> bytes = serializeModel(model, error);
        if (!bytes)
            return std::nullopt;
        m.sizeBytes = bytes->size();

        const auto *specModel = dynamic_cast<const SpecModel *>(&model);
        if (!specModel) {
            m.macsUnavailableReason =
                QStringLiteral("MACs need an architecture spec; '%1' is a TorchScript model")
                    .arg(model.name());
            return m;
        }
        std::vector<LayerShape> shapes;
        if (!specModel->spec()->inferShapes(&shapes, error))
            return std::nullopt;
        Walker walker(*specModel, shapes);
        const int64_t peak =
            walker.sequence(specModel->spec()->layers, model.inputShape(), 0, &m.layers).peak;
        m.macsKnown = true;
        int64_t activations = 0;
        // Spec models count per layer (Layer::countedParameters), so weights a technique keeps
        // as buffers (int8) are still the model's parameters.
        m.parameters = 0;
        m.nonZeroParameters = 0;
        for (const LayerMetrics &l : m.layers) {
            m.parameters += l.parameters;
            m.nonZeroParameters += l.nonZeroParameters;
            m.macs += l.macs;
            m.nonZeroMacs += l.nonZeroMacs;
            m.otherOps += l.otherOps;
            activations += l.outputElements;
        }
        m.flops = 2 * m.macs;
        m.nonZeroFlops = 2 * m.nonZeroMacs;
        m.activationBytes = 4 * activations;
        m.peakActivationBytes = 4 * std::max(peak, elements(model.inputShape()));
    } catch (const std::exception &e) {
        if (error)
            *error = QStringLiteral("metrics of model '%1' failed: %2")
                         .arg(model.name(), exceptionText(e));
        return std::nullopt;
    }
    return m;
}

} // namespace jb
