// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/spec_layers.h"

#include <QJsonObject>
#include <QString>

#include <ATen/native/quantized/PackedParams.h>
#include <c10/core/QEngine.h>

namespace jb::quant {

/// Layer implementation ids (LayerSpec::impl) of the quantization plugins. A model that uses
/// them can be cloned, saved and loaded only while a plugin that registered them is loaded.
inline const QString kDynamicLinearImpl = QStringLiteral("quant.linear_dynamic_int8");
inline const QString kStaticLinearImpl = QStringLiteral("quant.linear_int8");
inline const QString kStaticConvImpl = QStringLiteral("quant.conv_int8");
inline const QString kQuantPoolImpl = QStringLiteral("quant.pool");
inline const QString kFoldedBatchNormImpl = QStringLiteral("quant.folded_batchnorm");
inline const QString kQatLinearImpl = QStringLiteral("quant.qat_linear");
inline const QString kQatConvImpl = QStringLiteral("quant.qat_conv");

/// Registers the factories of every id above (registerLayerImpl). Idempotent: the first plugin
/// that calls it wins, later calls are no-ops. Any thread.
void registerQuantLayerImpls();

/// An int8 weight quantized symmetrically (zero point 0, values in [-128, 127]): per output
/// channel (`scales` has one entry per row/filter) or per tensor (one entry).
struct Int8Weight
{
    torch::Tensor values; ///< kChar, the float weight's shape
    torch::Tensor scales; ///< kFloat, [out] or [1]
};
Int8Weight quantizeWeight(const torch::Tensor &weight, bool perChannel);

/// Affine quint8 parameters for an activation range [min, max] (widened to include 0), as
/// torch.ao's MinMaxObserver computes them; `reduceRange` uses 7 bits (0..127).
struct ActivationQParams
{
    double scale = 1.0;
    int64_t zeroPoint = 0;
};
ActivationQParams activationQParams(double min, double max, bool reduceRange);

/// Common state of the int8 conv/linear layers: buffers `weight_int8`, `weight_scale`, `bias`
/// (saved with the model) and the engine's prepacked weight, rebuilt whenever a buffer changed
/// (after Model::loadState, clone, load).
class Int8LayerBase : public Layer
{
public:
    /// The dequantized float weight (metrics).
    torch::Tensor metricsWeight() const override;
    /// The int8 weight and the bias (kept as buffers; the per-channel scales are not counted).
    std::vector<torch::Tensor> countedParameters() const override;
    /// Copies an int8 weight and a float bias (may be undefined) into the buffers.
    void setWeights(const Int8Weight &weight, const torch::Tensor &bias);
    QString engine() const { return m_engineName; }

protected:
    Int8LayerBase(const std::vector<int64_t> &weightShape, int64_t out, bool hasBias,
                  bool perChannel, const QString &engine);
    torch::Tensor quantizedWeight() const;
    /// True when the prepacked weight must be (re)built.
    bool packStale() const;
    void markPacked();

    torch::Tensor m_weight, m_scale, m_bias;
    QString m_engineName;
    c10::QEngine m_engine = c10::QEngine::NoQEngine;

private:
    int64_t m_packedVersion = -1;
};

/// Dynamic int8 Linear: the weight is int8 and prepacked (quantized::linear_prepack), the
/// activation is quantized per batch at run time (quantized::linear_dynamic's kernel); input
/// and output are float.
class DynamicLinearInt8 final : public Int8LayerBase
{
public:
    DynamicLinearInt8(int64_t in, int64_t out, bool bias, const QJsonObject &options);
    torch::Tensor forward(const torch::Tensor &input) override;
    /// The prepacked weight (null before the first forward or prepack()).
    c10::intrusive_ptr<LinearPackedParamsBase> packed() const { return m_packed; }
    void prepack();

private:
    bool m_reduceRange = false;
    c10::intrusive_ptr<LinearPackedParamsBase> m_packed;
};

/// Options of a static int8 layer (LayerSpec::implOptions): engine, per_channel, input_scale,
/// input_zero_point (used to quantize a float input), output_scale, output_zero_point, relu
/// (fused), dequantize_output (the next layer needs float).
class StaticLinearInt8 final : public Int8LayerBase
{
public:
    StaticLinearInt8(int64_t in, int64_t out, bool bias, const QJsonObject &options);
    torch::Tensor forward(const torch::Tensor &input) override;
    c10::intrusive_ptr<LinearPackedParamsBase> packed() const { return m_packed; }
    void prepack();

private:
    ActivationQParams m_in, m_out;
    bool m_relu = false, m_dequantize = false;
    c10::intrusive_ptr<LinearPackedParamsBase> m_packed;
};

class StaticConvInt8 final : public Int8LayerBase
{
public:
    StaticConvInt8(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                   int64_t groups, bool bias, const QJsonObject &options);
    torch::Tensor forward(const torch::Tensor &input) override;
    c10::intrusive_ptr<ConvPackedParamsBase<2>> packed() const { return m_packed; }
    void prepack();

private:
    int64_t m_stride, m_padding, m_groups;
    ActivationQParams m_in, m_out;
    bool m_relu = false, m_dequantize = false;
    c10::intrusive_ptr<ConvPackedParamsBase<2>> m_packed;
};

/// A batch-norm folded into the convolution before it: the identity (passes quantized tensors).
class FoldedBatchNorm final : public Layer
{
public:
    torch::Tensor forward(const torch::Tensor &input) override { return input; }
    torch::Tensor metricsWeight() const override { return {}; }
};

/// Max/average pooling inside an int8 region. Same as the built-in pool, but with every argument
/// spelled out for 2-D (QNNPACK's quantized max-pool rejects the 1-element dilation the
/// built-in layer passes).
class QuantPool final : public Layer
{
public:
    QuantPool(PoolMode mode, int64_t kernel, int64_t stride, int64_t padding);
    torch::Tensor forward(const torch::Tensor &input) override;
    torch::Tensor metricsWeight() const override { return {}; }

private:
    PoolMode m_mode;
    int64_t m_kernel, m_stride, m_padding;
};

/// Quantization-aware training layer (conv or linear): float weights trained through
/// fake-quantization (per-channel symmetric qint8 weights from the current weight range,
/// straight-through gradients) and per-tensor quint8 fake-quantization of the input and the
/// output, whose ranges are observed as a moving average (momentum 0.01 as torch.ao's
/// MovingAverageMinMaxObserver) while training. Options: kind ("conv"/"linear"), stride,
/// padding, groups, relu (fused), per_channel, reduce_range.
class QatLayer final : public Layer
{
public:
    QatLayer(const std::vector<int64_t> &weightShape, bool bias, const QJsonObject &options);
    torch::Tensor forward(const torch::Tensor &input) override;
    /// Copies float weights (already batch-norm folded) in.
    void setWeights(const torch::Tensor &weight, const torch::Tensor &bias);
    torch::Tensor weight() const { return m_weight; }
    torch::Tensor bias() const { return m_bias; }
    /// Observed ranges {min, max} (valid once a training batch has been seen).
    std::pair<double, double> inputRange() const;
    std::pair<double, double> outputRange() const;
    bool observed() const;

private:
    torch::Tensor fakeQuant(const torch::Tensor &x, const torch::Tensor &range);
    void observe(const torch::Tensor &x, torch::Tensor &range);

    bool m_conv = false, m_relu = false, m_perChannel = true, m_reduceRange = false;
    int64_t m_stride = 1, m_padding = 0, m_groups = 1;
    torch::Tensor m_weight, m_bias, m_inRange, m_outRange;
};

} // namespace jb::quant
