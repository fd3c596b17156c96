// SPDX-License-Identifier: GPL-3.0-or-later
#include "spec_layers.h"

#include <QHash>
#include <QMutex>
#include <QMutexLocker>
#include <QStringList>

#include <torch/torch.h>

#include <cmath>

namespace jb {

torch::Tensor Layer::metricsWeight() const
{
    // named_parameters() returns its dictionary by value: keep it alive while using find()'s
    // pointer into it (found by the AddressSanitizer build: scripts/sanitize.sh).
    const auto parameters = named_parameters(/*recurse=*/false);
    if (const torch::Tensor *w = parameters.find("weight"))
        return *w;
    const auto buffers = named_buffers(/*recurse=*/false);
    if (const torch::Tensor *w = buffers.find("weight"))
        return *w;
    return {};
}

void LayerSequence::append(std::shared_ptr<Layer> layer)
{
    register_module(std::to_string(m_layers.size()), layer);
    m_layers.push_back(std::move(layer));
}

void LayerSequence::replace(size_t i, std::shared_ptr<Layer> layer)
{
    replace_module(std::to_string(i), layer);
    m_layers.at(i) = std::move(layer);
}

torch::Tensor LayerSequence::forward(const torch::Tensor &input)
{
    torch::Tensor x = input;
    for (const auto &layer : m_layers)
        x = layer->forward(x);
    return x;
}

ResidualLayer::ResidualLayer(std::shared_ptr<LayerSequence> body,
                             std::shared_ptr<LayerSequence> shortcut)
    : m_body(register_module("body", body ? std::move(body) : std::make_shared<LayerSequence>())),
      m_shortcut(register_module("shortcut", shortcut ? std::move(shortcut)
                                                      : std::make_shared<LayerSequence>()))
{
}

torch::Tensor ResidualLayer::forward(const torch::Tensor &input)
{
    torch::Tensor y = m_body->forward(input);
    return m_shortcut->size() == 0 ? y + input : y + m_shortcut->forward(input);
}

namespace {

/// PyTorch's default init for conv and linear (kaiming-uniform with a = sqrt(5), bias uniform in
/// +-1/sqrt(fan_in)), so spec models start like their torch::nn counterparts.
void defaultInit(torch::Tensor &weight, torch::Tensor &bias, int64_t fanIn)
{
    torch::NoGradGuard noGrad;
    torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
    if (bias.defined()) {
        const double bound = fanIn > 0 ? 1.0 / std::sqrt(static_cast<double>(fanIn)) : 0.0;
        bias.uniform_(-bound, bound);
    }
}

class ConvLayer final : public Layer
{
public:
    ConvLayer(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
              int64_t groups, bool bias)
        : m_stride(stride), m_padding(padding), m_groups(groups)
    {
        m_weight = register_parameter("weight", torch::empty({out, in / groups, kernel, kernel}));
        if (bias)
            m_bias = register_parameter("bias", torch::empty({out}));
        defaultInit(m_weight, m_bias, in / groups * kernel * kernel);
    }
    torch::Tensor forward(const torch::Tensor &x) override
    {
        return torch::conv2d(x, m_weight, m_bias, {m_stride, m_stride}, {m_padding, m_padding},
                             {1, 1}, m_groups);
    }

private:
    torch::Tensor m_weight, m_bias;
    int64_t m_stride, m_padding, m_groups;
};

class LinearLayer final : public Layer
{
public:
    LinearLayer(int64_t in, int64_t out, bool bias)
    {
        m_weight = register_parameter("weight", torch::empty({out, in}));
        if (bias)
            m_bias = register_parameter("bias", torch::empty({out}));
        defaultInit(m_weight, m_bias, in);
    }
    torch::Tensor forward(const torch::Tensor &x) override
    {
        return torch::linear(x, m_weight, m_bias);
    }

private:
    torch::Tensor m_weight, m_bias;
};

class BatchNormLayer final : public Layer
{
public:
    BatchNormLayer(int64_t features, double eps, double momentum) : m_eps(eps), m_momentum(momentum)
    {
        m_weight = register_parameter("weight", torch::ones({features}));
        m_bias = register_parameter("bias", torch::zeros({features}));
        m_mean = register_buffer("running_mean", torch::zeros({features}));
        m_var = register_buffer("running_var", torch::ones({features}));
        m_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
    }
    torch::Tensor forward(const torch::Tensor &x) override
    {
        if (is_training()) {
            torch::NoGradGuard noGrad;
            m_tracked.add_(1);
        }
        return torch::batch_norm(x, m_weight, m_bias, m_mean, m_var, is_training(), m_momentum,
                                 m_eps, /*cudnn_enabled=*/true);
    }

private:
    torch::Tensor m_weight, m_bias, m_mean, m_var, m_tracked;
    double m_eps, m_momentum;
};

class ActivationLayer final : public Layer
{
public:
    enum Fn { Relu, Relu6, Tanh, Sigmoid, Gelu, Silu };
    explicit ActivationLayer(Fn fn) : m_fn(fn) {}
    torch::Tensor forward(const torch::Tensor &x) override
    {
        switch (m_fn) {
        case Relu:
            return torch::relu(x);
        case Relu6:
            return torch::hardtanh(x, 0.0, 6.0);
        case Tanh:
            return torch::tanh(x);
        case Sigmoid:
            return torch::sigmoid(x);
        case Gelu:
            return torch::gelu(x);
        case Silu:
            return torch::silu(x);
        }
        return x;
    }

private:
    Fn m_fn;
};

class PoolLayer final : public Layer
{
public:
    PoolLayer(PoolMode mode, int64_t kernel, int64_t stride, int64_t padding)
        : m_mode(mode), m_kernel(kernel), m_stride(stride == 0 ? kernel : stride),
          m_padding(padding)
    {
    }
    torch::Tensor forward(const torch::Tensor &x) override
    {
        switch (m_mode) {
        case PoolMode::Max:
            return torch::max_pool2d(x, {m_kernel, m_kernel}, {m_stride, m_stride},
                                     {m_padding, m_padding});
        case PoolMode::Avg:
            return torch::avg_pool2d(x, {m_kernel, m_kernel}, {m_stride, m_stride},
                                     {m_padding, m_padding});
        case PoolMode::GlobalAvg:
            return torch::adaptive_avg_pool2d(x, {1, 1});
        }
        return x;
    }

private:
    PoolMode m_mode;
    int64_t m_kernel, m_stride, m_padding;
};

class DropoutLayer final : public Layer
{
public:
    explicit DropoutLayer(double p) : m_p(p) {}
    torch::Tensor forward(const torch::Tensor &x) override
    {
        return m_p > 0 ? torch::dropout(x, m_p, is_training()) : x;
    }

private:
    double m_p;
};

class FlattenLayer final : public Layer
{
public:
    torch::Tensor forward(const torch::Tensor &x) override { return x.flatten(1); }
};

struct ImplRegistry
{
    QMutex mutex;
    QHash<QString, LayerFactory> factories;
};

ImplRegistry &implRegistry()
{
    static ImplRegistry registry;
    return registry;
}

std::shared_ptr<Layer> builtinLayer(const LayerSpec &l, const std::vector<int64_t> &in,
                                    QString *error)
{
    switch (l.kind) {
    case LayerKind::Conv:
        return std::make_shared<ConvLayer>(in[0], l.out, l.kernel, l.stride, l.padding, l.groups,
                                           l.bias);
    case LayerKind::DepthwiseConv:
        return std::make_shared<ConvLayer>(in[0], in[0] * l.multiplier, l.kernel, l.stride,
                                           l.padding, in[0], l.bias);
    case LayerKind::BatchNorm:
        return std::make_shared<BatchNormLayer>(in[0], l.eps, l.momentum);
    case LayerKind::Activation: {
        static const QHash<QString, ActivationLayer::Fn> fns = {
            {QStringLiteral("relu"), ActivationLayer::Relu},
            {QStringLiteral("relu6"), ActivationLayer::Relu6},
            {QStringLiteral("tanh"), ActivationLayer::Tanh},
            {QStringLiteral("sigmoid"), ActivationLayer::Sigmoid},
            {QStringLiteral("gelu"), ActivationLayer::Gelu},
            {QStringLiteral("silu"), ActivationLayer::Silu},
        };
        const auto it = fns.find(l.activation);
        if (it == fns.end()) {
            if (error)
                *error = QStringLiteral("unknown activation '%1'").arg(l.activation);
            return nullptr;
        }
        return std::make_shared<ActivationLayer>(it.value());
    }
    case LayerKind::Pool:
        return std::make_shared<PoolLayer>(l.pool, l.kernel, l.stride, l.padding);
    case LayerKind::Linear:
        return std::make_shared<LinearLayer>(in[0], l.out, l.bias);
    case LayerKind::Dropout:
        return std::make_shared<DropoutLayer>(l.p);
    case LayerKind::Flatten:
        return std::make_shared<FlattenLayer>();
    case LayerKind::Residual:
        break; // built by buildLayerSequence
    }
    if (error)
        *error =
            QStringLiteral("internal: no built-in layer for kind '%1'").arg(layerKindName(l.kind));
    return nullptr;
}

} // namespace

bool registerLayerImpl(const QString &impl, LayerFactory factory)
{
    ImplRegistry &r = implRegistry();
    QMutexLocker lock(&r.mutex);
    if (impl.isEmpty() || r.factories.contains(impl) || !factory)
        return false;
    r.factories.insert(impl, std::move(factory));
    return true;
}

QStringList registeredLayerImpls()
{
    ImplRegistry &r = implRegistry();
    QMutexLocker lock(&r.mutex);
    QStringList ids = r.factories.keys();
    ids.sort();
    return ids;
}

std::shared_ptr<LayerSequence> buildLayerSequence(const std::vector<LayerSpec> &specs,
                                                  const std::vector<LayerShape> &shapes,
                                                  size_t *cursor, QString *error)
{
    auto seq = std::make_shared<LayerSequence>();
    for (const LayerSpec &l : specs) {
        if (*cursor >= shapes.size()) {
            if (error)
                *error = QStringLiteral("internal: shape list shorter than the spec");
            return nullptr;
        }
        const LayerShape &shape = shapes[(*cursor)++];
        std::shared_ptr<Layer> layer;
        if (l.kind == LayerKind::Residual) {
            auto body = buildLayerSequence(l.body, shapes, cursor, error);
            if (!body)
                return nullptr;
            auto shortcut = buildLayerSequence(l.shortcut, shapes, cursor, error);
            if (!shortcut)
                return nullptr;
            layer = std::make_shared<ResidualLayer>(std::move(body), std::move(shortcut));
        } else if (!l.impl.isEmpty()) {
            LayerFactory factory;
            {
                ImplRegistry &r = implRegistry();
                QMutexLocker lock(&r.mutex);
                factory = r.factories.value(l.impl);
            }
            if (!factory) {
                if (error)
                    *error = QStringLiteral("layer %1 (%2): implementation '%3' is not "
                                            "registered; load the plugin that provides it")
                                 .arg(shape.path, layerKindName(l.kind), l.impl);
                return nullptr;
            }
            QString why;
            layer = factory(l, shape.input, &why);
            if (!layer) {
                if (error)
                    *error = QStringLiteral("layer %1 (%2, implementation '%3'): %4")
                                 .arg(shape.path, layerKindName(l.kind), l.impl, why);
                return nullptr;
            }
        } else {
            layer = builtinLayer(l, shape.input, error);
            if (!layer)
                return nullptr;
        }
        seq->append(std::move(layer));
    }
    return seq;
}

} // namespace jb
