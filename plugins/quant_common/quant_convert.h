// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/backend.h"
#include "engine/dataset.h"
#include "engine/feedback.h"
#include "engine/spec_model.h"

#include <QHash>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <limits>
#include <vector>

namespace jb::quant {

/// A conv or linear layer with what it absorbs: a following batch-norm (folded into its
/// weights) and a following ReLU (fused into the int8 kernel).
struct QuantUnit
{
    QString path;        ///< the conv/linear layer ("3", "5.body.0")
    QString bnPath;      ///< the folded batch-norm, or empty
    QString reluPath;    ///< the fused ReLU, or empty
    QString lastPath;    ///< the last absorbed layer (whose output is the unit's output)
    bool conv = false;
    /// The unit's output goes (through pass-through layers only: ReLU, pooling, flatten,
    /// dropout, folded BN) to another int8 unit, so it stays quint8; false: it is dequantized
    /// (end of a sequence, a residual add, a float-only layer).
    bool quantizedOutput = false;
    /// Pooling layers after the unit that receive its quint8 output (QuantPool replaces them).
    QStringList quantizedPools;
};

/// The units of a spec, in pre-order (residual bodies and shortcuts are regions of their own:
/// the residual add runs in float).
std::vector<QuantUnit> findUnits(const ArchSpec &spec);

/// The support check shared by the int8 conversions (static int8, QAT): the engine parameter
/// resolves on this backend, the model has a spec, and the spec has a float conv or Linear unit.
/// `operation` names the technique in the error ("static int8 quantization").
bool checkConvertible(const QString &engineParam, const Model &model, const Backend &backend,
                      const QString &operation, QString *error);

/// Observed minimum and maximum of a tensor stream (torch.ao MinMaxObserver).
struct Range
{
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    void update(const torch::Tensor &t);
    bool valid() const { return min <= max; }
};

/// Ranges by key "in:<path>" (a layer's input) and "out:<path>" (its output).
using RangeMap = QHash<QString, Range>;

/// Runs `batches` batches (batchSize each, in order) of `data` through the float model in eval
/// mode and records the input and output range of every layer. Checks cancellation per batch.
bool calibrate(SpecModel &model, const Dataset &data, int batches, int64_t batchSize,
               Feedback *feedback, RangeMap *ranges, QString *error);

/// Folds an eval-mode batch-norm (gamma, beta, running mean/var, eps) into the weight and bias
/// of the conv/linear before it: w' = w * gamma / sqrt(var + eps) (per output channel),
/// b' = (b - mean) * gamma / sqrt(var + eps) + beta. `bias` may be undefined (taken as 0).
void foldBatchNorm(const torch::Tensor &weight, const torch::Tensor &bias,
                   const torch::Tensor &gamma, const torch::Tensor &beta,
                   const torch::Tensor &mean, const torch::Tensor &var, double eps,
                   torch::Tensor *foldedWeight, torch::Tensor *foldedBias);

/// The float weight and bias of a unit with its batch-norm folded in (from the built-in layers).
bool foldedUnitWeights(const SpecModel &model, const QuantUnit &unit, torch::Tensor *weight,
                       torch::Tensor *bias, QString *error);

/// What a conversion did, for the technique's log and metrics.
struct ConversionReport
{
    int convertedLayers = 0;
    int foldedBatchNorms = 0;
    int fusedRelus = 0;
    int quantizedBoundaries = 0; ///< units whose output is dequantized (region ends)
    QStringList layers;          ///< converted layer paths
    QJsonObject toJson() const;
};

struct StaticOptions
{
    QString engine = QStringLiteral("onednn");
    bool perChannel = true;
    bool reduceRange = false;
};

/// Everything a unit needs to become int8: float weights (BN folded) and activation ranges.
struct UnitSource
{
    torch::Tensor weight, bias;
    Range input, output;
};
using UnitSourceFn = std::function<bool(const QuantUnit &, UnitSource *, QString *)>;

/// Replaces every unit by a static int8 layer (StaticConvInt8 / StaticLinearInt8 with qparams
/// from the ranges), its batch-norm by FoldedBatchNorm. Shared by static PTQ and QAT.
bool convertUnitsToInt8(SpecModel &model, const std::vector<QuantUnit> &units,
                        const UnitSourceFn &source, const StaticOptions &options,
                        ConversionReport *report, QString *error);

/// Replaces every Linear layer (also inside residual blocks) by DynamicLinearInt8.
bool convertLinearsToDynamicInt8(SpecModel &model, const QString &engine, bool perChannel,
                                 bool reduceRange, ConversionReport *report, QString *error);

/// Replaces every unit by a QatLayer (batch-norm folded in, BN replaced by FoldedBatchNorm).
bool prepareQat(SpecModel &model, const std::vector<QuantUnit> &units, bool perChannel,
                bool reduceRange, ConversionReport *report, QString *error);

/// Bytes of the model's parameters and buffers as stored (what a model file holds).
int64_t modelStateBytes(const Model &model);

/// The SpecModel behind a Model, or null with an error naming the operation.
SpecModel *specModelFor(Model *model, const QString &operation, QString *error);

} // namespace jb::quant
