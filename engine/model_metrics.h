// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "model.h"

#include <QString>

#include <optional>
#include <vector>

namespace jb {

/// Per-sample cost of one layer of a spec model (see docs/metrics.md for the exact rules).
struct LayerMetrics
{
    QString path;                     ///< "3", "5.body.0"
    QString kind;                     ///< "conv", "linear", ...
    std::vector<int64_t> outputShape; ///< per sample
    int64_t parameters = 0;
    int64_t nonZeroParameters = 0;
    int64_t macs = 0;           ///< multiply-accumulates of conv / depthwise / linear weights
    int64_t nonZeroMacs = 0;    ///< the same, counting only weights != 0
    int64_t otherOps = 0;       ///< bias adds, BN, activation, pooling, residual adds
    int64_t outputElements = 0; ///< newly allocated output elements (0 for views)
};

/// Size and cost figures of a model. MACs/FLOPs are per sample (batch 1) for the model's
/// input shape; FLOPs = 2 x MACs. Activation figures are ESTIMATES for float32 inference.
struct ModelMetrics
{
    int64_t parameters = 0;        ///< elements of all parameters
    int64_t nonZeroParameters = 0; ///< of those, != 0
    int64_t bufferElements = 0;    ///< BN running statistics etc. (not parameters)
    int64_t sizeBytes = 0;         ///< size of the model file as saved (model_io.h)

    bool macsKnown = false; ///< false for TorchScript models (no spec to walk)
    QString macsUnavailableReason;
    int64_t macs = 0;
    int64_t flops = 0; ///< 2 x macs
    int64_t nonZeroMacs = 0;
    int64_t nonZeroFlops = 0; ///< 2 x nonZeroMacs
    int64_t otherOps = 0;     ///< element-wise work not in MACs (see LayerMetrics)

    /// Estimate: sum over layers of output elements x 4 bytes (one sample, float32).
    int64_t activationBytes = 0;
    /// Estimate: the largest sum of tensors alive at once (a layer's input and output, plus
    /// the input of every enclosing residual block) x 4 bytes, one sample.
    int64_t peakActivationBytes = 0;

    std::vector<LayerMetrics> layers; ///< pre-order, empty for TorchScript models
};

/// Computes the metrics of `model` (any thread, for a model no other thread is using).
/// Fails only when the model cannot be serialised (size) or its tensors cannot be read.
std::optional<ModelMetrics> computeModelMetrics(const Model &model, QString *error);

} // namespace jb
