// SPDX-License-Identifier: GPL-3.0-or-later
#include "quant_layers.h"

#include "quant_engine.h"

#include "engine/model.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <mutex>

using namespace Qt::StringLiterals;

namespace jb::quant {

namespace {

constexpr double kEps = std::numeric_limits<float>::epsilon();

c10::intrusive_ptr<LinearPackedParamsBase> linearPrepack(const at::Tensor &qweight,
                                                         const c10::optional<at::Tensor> &bias)
{
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("quantized::linear_prepack", "")
                         .typed<c10::intrusive_ptr<LinearPackedParamsBase>(
                             at::Tensor, c10::optional<at::Tensor>)>();
    return op.call(qweight, bias);
}

c10::intrusive_ptr<ConvPackedParamsBase<2>> conv2dPrepack(const at::Tensor &qweight,
                                                          const c10::optional<at::Tensor> &bias,
                                                          int64_t stride, int64_t padding,
                                                          int64_t groups)
{
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("quantized::conv2d_prepack", "")
                         .typed<c10::intrusive_ptr<ConvPackedParamsBase<2>>(
                             at::Tensor, c10::optional<at::Tensor>, c10::List<int64_t>,
                             c10::List<int64_t>, c10::List<int64_t>, int64_t)>();
    return op.call(qweight, bias, c10::List<int64_t>({stride, stride}),
                   c10::List<int64_t>({padding, padding}), c10::List<int64_t>({1, 1}), groups);
}

ActivationQParams qparamsOption(const QJsonObject &options, const QString &prefix)
{
    ActivationQParams q;
    q.scale = options.value(prefix + u"_scale"_s).toDouble(1.0);
    q.zeroPoint = options.value(prefix + u"_zero_point"_s).toInteger(0);
    return q;
}

torch::Tensor quantizeInput(const torch::Tensor &x, const ActivationQParams &q)
{
    if (x.is_quantized())
        return x;
    return at::quantize_per_tensor(x.contiguous(), q.scale, q.zeroPoint, at::kQUInt8);
}

} // namespace

Int8Weight quantizeWeight(const torch::Tensor &weight, bool perChannel)
{
    torch::NoGradGuard noGrad;
    const torch::Tensor w = weight.detach().to(torch::kFloat);
    torch::Tensor scales;
    if (perChannel)
        scales = w.abs().flatten(1).amax(1).div(127.5).clamp_min(kEps);
    else
        scales = w.abs().max().div(127.5).clamp_min(kEps).reshape({1});
    std::vector<int64_t> bshape(size_t(w.dim()), 1);
    bshape[0] = perChannel ? w.size(0) : 1;
    torch::Tensor values =
        w.div(scales.reshape(bshape)).round_().clamp_(-128, 127).to(torch::kChar);
    return {values, scales};
}

ActivationQParams activationQParams(double min, double max, bool reduceRange)
{
    const double qmin = 0, qmax = reduceRange ? 127 : 255;
    min = std::min(min, 0.0);
    max = std::max(max, 0.0);
    ActivationQParams q;
    q.scale = std::max((max - min) / (qmax - qmin), kEps);
    q.zeroPoint = int64_t(std::clamp(qmin - std::nearbyint(min / q.scale), qmin, qmax));
    return q;
}

// --- Int8LayerBase -----------------------------------------------------------------------------

Int8LayerBase::Int8LayerBase(const std::vector<int64_t> &weightShape, int64_t out, bool hasBias,
                             bool perChannel, const QString &engine)
    : m_engineName(engine)
{
    QString error;
    const auto e = engineFromName(engine, &error);
    if (!e)
        throw std::runtime_error(error.toStdString());
    m_engine = *e;
    m_weight = register_buffer("weight_int8", torch::zeros(weightShape, torch::kChar));
    m_scale = register_buffer("weight_scale", torch::ones({perChannel ? out : 1}));
    if (hasBias)
        m_bias = register_buffer("bias", torch::zeros({out}));
}

torch::Tensor Int8LayerBase::metricsWeight() const
{
    std::vector<int64_t> bshape(size_t(m_weight.dim()), 1);
    bshape[0] = m_scale.numel();
    return m_weight.to(torch::kFloat) * m_scale.reshape(bshape);
}

std::vector<torch::Tensor> Int8LayerBase::countedParameters() const
{
    std::vector<torch::Tensor> counted{m_weight};
    if (m_bias.defined())
        counted.push_back(m_bias);
    return counted;
}

void Int8LayerBase::setWeights(const Int8Weight &weight, const torch::Tensor &bias)
{
    torch::NoGradGuard noGrad;
    m_weight.copy_(weight.values);
    m_scale.copy_(weight.scales);
    if (m_bias.defined())
        m_bias.copy_(bias.defined() ? bias.detach().to(torch::kFloat) : torch::zeros_like(m_bias));
    m_packedVersion = -1;
}

torch::Tensor Int8LayerBase::quantizedWeight() const
{
    if (m_scale.numel() == 1 && m_weight.size(0) != 1)
        return at::_make_per_tensor_quantized_tensor(m_weight, m_scale.item<double>(), 0);
    return at::_make_per_channel_quantized_tensor(
        m_weight, m_scale.to(torch::kDouble), torch::zeros({m_scale.numel()}, torch::kLong), 0);
}

bool Int8LayerBase::packStale() const
{
    const int64_t v = m_weight._version() + m_scale._version() +
                      (m_bias.defined() ? m_bias._version() : 0);
    return v != m_packedVersion;
}

void Int8LayerBase::markPacked()
{
    m_packedVersion = m_weight._version() + m_scale._version() +
                      (m_bias.defined() ? m_bias._version() : 0);
}

// --- DynamicLinearInt8 -------------------------------------------------------------------------

DynamicLinearInt8::DynamicLinearInt8(int64_t in, int64_t out, bool bias,
                                     const QJsonObject &options)
    : Int8LayerBase({out, in}, out, bias, options.value(u"per_channel"_s).toBool(true),
                    options.value(u"engine"_s).toString(u"onednn"_s)),
      m_reduceRange(options.value(u"reduce_range"_s).toBool(false))
{
}

void DynamicLinearInt8::prepack()
{
    EngineGuard guard(m_engine);
    m_packed = linearPrepack(quantizedWeight(),
                             m_bias.defined() ? c10::optional<at::Tensor>(m_bias) : c10::nullopt);
    markPacked();
}

torch::Tensor DynamicLinearInt8::forward(const torch::Tensor &input)
{
    if (!m_packed || packStale())
        prepack();
    const torch::Tensor x = input.is_quantized() ? input.dequantize() : input;
    return m_packed->apply_dynamic(x.to(torch::kFloat).contiguous(), m_reduceRange);
}

// --- StaticLinearInt8 --------------------------------------------------------------------------

StaticLinearInt8::StaticLinearInt8(int64_t in, int64_t out, bool bias,
                                   const QJsonObject &options)
    : Int8LayerBase({out, in}, out, bias, options.value(u"per_channel"_s).toBool(true),
                    options.value(u"engine"_s).toString(u"onednn"_s)),
      m_in(qparamsOption(options, u"input"_s)), m_out(qparamsOption(options, u"output"_s)),
      m_relu(options.value(u"relu"_s).toBool()),
      m_dequantize(options.value(u"dequantize_output"_s).toBool(true))
{
}

void StaticLinearInt8::prepack()
{
    EngineGuard guard(m_engine);
    m_packed = linearPrepack(quantizedWeight(),
                             m_bias.defined() ? c10::optional<at::Tensor>(m_bias) : c10::nullopt);
    markPacked();
}

torch::Tensor StaticLinearInt8::forward(const torch::Tensor &input)
{
    if (!m_packed || packStale())
        prepack();
    const torch::Tensor qx = quantizeInput(input, m_in);
    torch::Tensor y = m_relu ? m_packed->apply_relu(qx, m_out.scale, m_out.zeroPoint)
                             : m_packed->apply(qx, m_out.scale, m_out.zeroPoint);
    return m_dequantize ? y.dequantize() : y;
}

// --- StaticConvInt8 ----------------------------------------------------------------------------

StaticConvInt8::StaticConvInt8(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                               int64_t padding, int64_t groups, bool bias,
                               const QJsonObject &options)
    : Int8LayerBase({out, in / groups, kernel, kernel}, out, bias,
                    options.value(u"per_channel"_s).toBool(true),
                    options.value(u"engine"_s).toString(u"onednn"_s)),
      m_stride(stride), m_padding(padding), m_groups(groups),
      m_in(qparamsOption(options, u"input"_s)), m_out(qparamsOption(options, u"output"_s)),
      m_relu(options.value(u"relu"_s).toBool()),
      m_dequantize(options.value(u"dequantize_output"_s).toBool(true))
{
}

void StaticConvInt8::prepack()
{
    EngineGuard guard(m_engine);
    m_packed = conv2dPrepack(quantizedWeight(),
                             m_bias.defined() ? c10::optional<at::Tensor>(m_bias) : c10::nullopt,
                             m_stride, m_padding, m_groups);
    markPacked();
}

torch::Tensor StaticConvInt8::forward(const torch::Tensor &input)
{
    if (!m_packed || packStale())
        prepack();
    const torch::Tensor qx = quantizeInput(input, m_in);
    torch::Tensor y = m_relu ? m_packed->apply_relu(qx, m_out.scale, m_out.zeroPoint)
                             : m_packed->apply(qx, m_out.scale, m_out.zeroPoint);
    return m_dequantize ? y.dequantize() : y;
}

// --- QuantPool -------------------------------------------------------------------------------

QuantPool::QuantPool(PoolMode mode, int64_t kernel, int64_t stride, int64_t padding)
    : m_mode(mode), m_kernel(kernel), m_stride(stride == 0 ? kernel : stride), m_padding(padding)
{
}

torch::Tensor QuantPool::forward(const torch::Tensor &x)
{
    switch (m_mode) {
    case PoolMode::Max:
        return torch::max_pool2d(x, {m_kernel, m_kernel}, {m_stride, m_stride},
                                 {m_padding, m_padding}, {1, 1});
    case PoolMode::Avg:
        return torch::avg_pool2d(x, {m_kernel, m_kernel}, {m_stride, m_stride},
                                 {m_padding, m_padding});
    case PoolMode::GlobalAvg:
        return torch::adaptive_avg_pool2d(x, {1, 1});
    }
    return x;
}

// --- QatLayer ----------------------------------------------------------------------------------

QatLayer::QatLayer(const std::vector<int64_t> &weightShape, bool bias, const QJsonObject &options)
    : m_conv(options.value(u"kind"_s).toString() == u"conv"_s),
      m_relu(options.value(u"relu"_s).toBool()),
      m_perChannel(options.value(u"per_channel"_s).toBool(true)),
      m_reduceRange(options.value(u"reduce_range"_s).toBool(false)),
      m_stride(options.value(u"stride"_s).toInteger(1)),
      m_padding(options.value(u"padding"_s).toInteger(0)),
      m_groups(options.value(u"groups"_s).toInteger(1))
{
    m_weight = register_parameter("weight", torch::zeros(weightShape));
    if (bias)
        m_bias = register_parameter("bias", torch::zeros({weightShape[0]}));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    m_inRange = register_buffer("input_range", torch::full({2}, nan));
    m_outRange = register_buffer("output_range", torch::full({2}, nan));
}

void QatLayer::setWeights(const torch::Tensor &weight, const torch::Tensor &bias)
{
    torch::NoGradGuard noGrad;
    m_weight.copy_(weight);
    if (m_bias.defined())
        m_bias.copy_(bias.defined() ? bias : torch::zeros_like(m_bias));
}

bool QatLayer::observed() const
{
    return !std::isnan(m_inRange[0].item<double>()) && !std::isnan(m_outRange[0].item<double>());
}

std::pair<double, double> QatLayer::inputRange() const
{
    return {m_inRange[0].item<double>(), m_inRange[1].item<double>()};
}

std::pair<double, double> QatLayer::outputRange() const
{
    return {m_outRange[0].item<double>(), m_outRange[1].item<double>()};
}

void QatLayer::observe(const torch::Tensor &x, torch::Tensor &range)
{
    torch::NoGradGuard noGrad;
    const torch::Tensor now = torch::stack({x.min(), x.max()}).to(torch::kFloat);
    if (std::isnan(range[0].item<double>()))
        range.copy_(now);
    else
        range.add_(now.sub(range).mul_(0.01)); // MovingAverageMinMaxObserver, averaging 0.01
}

torch::Tensor QatLayer::fakeQuant(const torch::Tensor &x, const torch::Tensor &range)
{
    const double lo = range[0].item<double>();
    if (std::isnan(lo))
        return x;
    const ActivationQParams q = activationQParams(lo, range[1].item<double>(), m_reduceRange);
    return at::fake_quantize_per_tensor_affine(x, q.scale, q.zeroPoint, 0,
                                               m_reduceRange ? 127 : 255);
}

torch::Tensor QatLayer::forward(const torch::Tensor &input)
{
    if (is_training())
        observe(input.detach(), m_inRange);
    const torch::Tensor x = fakeQuant(input, m_inRange);
    torch::Tensor w;
    if (m_perChannel) {
        const torch::Tensor scales =
            m_weight.detach().abs().flatten(1).amax(1).div(127.5).clamp_min(kEps);
        w = at::fake_quantize_per_channel_affine(
            m_weight, scales, torch::zeros({scales.numel()}, torch::kInt), 0, -128, 127);
    } else {
        const double scale = std::max(m_weight.detach().abs().max().item<double>() / 127.5, kEps);
        w = at::fake_quantize_per_tensor_affine(m_weight, scale, 0, -128, 127);
    }
    torch::Tensor y = m_conv ? torch::conv2d(x, w, m_bias, {m_stride, m_stride},
                                             {m_padding, m_padding}, {1, 1}, m_groups)
                             : torch::linear(x, w, m_bias);
    if (m_relu)
        y = torch::relu(y);
    if (is_training())
        observe(y.detach(), m_outRange);
    return fakeQuant(y, m_outRange);
}

// --- Registration ------------------------------------------------------------------------------

namespace {

template <typename F>
LayerFactory guarded(F make)
{
    return [make](const LayerSpec &spec, const std::vector<int64_t> &in,
                  QString *error) -> std::shared_ptr<Layer> {
        try {
            return make(spec, in);
        } catch (const std::exception &e) {
            if (error)
                *error = exceptionText(e);
            return nullptr;
        }
    };
}

struct ConvGeometry
{
    int64_t in, out, groups;
};

ConvGeometry convGeometry(const LayerSpec &spec, const std::vector<int64_t> &in)
{
    if (spec.kind == LayerKind::DepthwiseConv)
        return {in[0], in[0] * spec.multiplier, in[0]};
    return {in[0], spec.out, spec.groups};
}

} // namespace

void registerQuantLayerImpls()
{
    static std::once_flag once;
    std::call_once(once, [] {
        registerLayerImpl(kDynamicLinearImpl,
                          guarded([](const LayerSpec &s, const std::vector<int64_t> &in) {
                              return std::make_shared<DynamicLinearInt8>(in[0], s.out, s.bias,
                                                                         s.implOptions);
                          }));
        // Static layers always carry a bias: batch-norm folding gives one.
        registerLayerImpl(kStaticLinearImpl,
                          guarded([](const LayerSpec &s, const std::vector<int64_t> &in) {
                              return std::make_shared<StaticLinearInt8>(in[0], s.out, true,
                                                                        s.implOptions);
                          }));
        registerLayerImpl(kStaticConvImpl,
                          guarded([](const LayerSpec &s, const std::vector<int64_t> &in) {
                              const ConvGeometry g = convGeometry(s, in);
                              return std::make_shared<StaticConvInt8>(
                                  g.in, g.out, s.kernel, s.stride, s.padding, g.groups, true,
                                  s.implOptions);
                          }));
        registerLayerImpl(kQuantPoolImpl,
                          guarded([](const LayerSpec &s, const std::vector<int64_t> &) {
                              return std::make_shared<QuantPool>(s.pool, s.kernel, s.stride,
                                                                 s.padding);
                          }));
        registerLayerImpl(kFoldedBatchNormImpl,
                          guarded([](const LayerSpec &, const std::vector<int64_t> &) {
                              return std::make_shared<FoldedBatchNorm>();
                          }));
        registerLayerImpl(kQatLinearImpl,
                          guarded([](const LayerSpec &s, const std::vector<int64_t> &in) {
                              return std::make_shared<QatLayer>(std::vector<int64_t>{s.out, in[0]},
                                                                true, s.implOptions);
                          }));
        registerLayerImpl(kQatConvImpl,
                          guarded([](const LayerSpec &s, const std::vector<int64_t> &in) {
                              const ConvGeometry g = convGeometry(s, in);
                              return std::make_shared<QatLayer>(
                                  std::vector<int64_t>{g.out, g.in / g.groups, s.kernel, s.kernel},
                                  true, s.implOptions);
                          }));
    });
}

} // namespace jb::quant
