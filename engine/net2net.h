// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "arch_spec.h"
#include "spec_model.h"

#include <QString>
#include <QStringList>

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>

namespace jb {

/// Function-preserving growth of spec models (Net2Net: Chen, Goodfellow, Shlens, ICLR 2016),
/// the reverse of structured pruning's channel surgery. Used by the grow.net2net plugin; see
/// docs/techniques/growing.md.
///
/// Threads: plain functions; the model is used by the calling thread only (like every Model).

/// A hidden width scaled by a multiplier the way the zoo does it: max(1, round(n x multiplier)).
int64_t scaledWidth(int64_t width, double multiplier);

/// The paths of the layers whose `out` is a hidden width: every conv (groups = 1) and linear
/// layer, residual bodies and shortcuts included, except the top-level layer that produces the
/// class logits (the last conv or linear of the top-level list). Pre-order.
QStringList hiddenWidthPaths(const ArchSpec &spec);

/// `spec` with every hidden width (hiddenWidthPaths) scaled by `multiplier` (scaledWidth), so
/// residual additions stay consistent. Fails for grouped (non-depthwise) convs or layers with a
/// non-default implementation, naming the layer.
std::optional<ArchSpec> scaleWidths(const ArchSpec &spec, double multiplier, QString *error);

/// How new units are initialised when widening.
struct WidenOptions
{
    /// Net2WiderNet replicates a unit and divides its outgoing weights by the replication
    /// count; replicas then get identical gradients and never separate. `noise` > 0 adds a
    /// Gaussian perturbation (standard deviation = noise x the std of the layer's old weight) to
    /// the split outgoing weights, made zero-sum over the replicas of each unit, so the function
    /// is still preserved exactly (up to rounding) while the symmetry is broken.
    double noise = 0;
    /// Seeds the choice of replicated units and the noise.
    uint64_t seed = 0;
};

/// Net2WiderNet on a whole model: `wider` must be the model's spec with some hidden widths
/// (conv with groups = 1, linear) raised; nothing else may differ. Every new unit copies a
/// random existing unit of its layer (incoming weights, bias, the batch-norm channels and
/// depthwise filters that follow); the next conv/linear divides that unit's incoming weights by
/// its replication count (through flatten: per feature). Inside a residual block the last layer
/// of the body replicates like the shortcut (or the block input), so the addition stays
/// consistent. The result computes the same function as `model` in eval mode and, as all
/// replicated channels keep equal batch statistics, in training mode too (dropout aside).
///
/// Refused, with a message naming the layer: narrowing a layer, changing the class count,
/// grouped convs, layers with a non-default implementation, a structure that differs in
/// anything but widths. The new model is on the model's device, in its training mode.
std::unique_ptr<SpecModel> net2WiderNet(const SpecModel &model, const ArchSpec &wider,
                                        const WidenOptions &options, QString *error);

/// What Net2DeeperNet inserts.
struct DeepenOptions
{
    /// Conv kernel of an inserted conv (odd; "same" padding). Linear for flat tensors.
    int64_t kernel = 3;
    /// Also insert a batch normalisation after the new conv/linear layer. It is set up as the
    /// identity: running statistics = the mean/variance of the layer's input measured on the
    /// calibration batch, weight = sqrt(var + eps), bias = mean, so it is exactly the identity
    /// in eval mode and close to it in training mode (batch statistics differ from the measured
    /// ones). Without calibration data: mean 0, variance 1 (identity in eval mode only).
    bool batchNorm = false;
    /// "relu" (ReLU after the new layer: the identity only where the input is non-negative, so
    /// the insertion point must follow a relu/relu6/sigmoid, possibly through pooling, dropout
    /// or flatten) or "" (no activation: the block is linear).
    QString activation = QStringLiteral("relu");
};

/// The spec with an identity block (conv or linear, optional batch norm, optional activation)
/// inserted after top-level layer `afterIndex`. *inserted gets the number of layers added
/// (they are at afterIndex + 1 ...). Errors name the layer.
std::optional<ArchSpec> deeperSpec(const ArchSpec &spec, int64_t afterIndex,
                                   const DeepenOptions &options, int *inserted, QString *error);

/// Net2DeeperNet: the model with an identity-initialised block inserted after top-level layer
/// `afterIndex` (see DeepenOptions; only top-level positions, not inside residual blocks). The
/// conv's kernel is a centred Dirac (out channel c reads in channel c), a linear layer's weight
/// the identity matrix, biases zero. `calibration` ([N, ...input], may be undefined) is pushed
/// through the layers up to the insertion point in eval mode to set up an inserted batch norm.
/// The new model is on the model's device, in its training mode.
std::unique_ptr<SpecModel> net2DeeperNet(SpecModel &model, int64_t afterIndex,
                                         const DeepenOptions &options,
                                         const torch::Tensor &calibration, QString *error);

} // namespace jb
