// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QString>

#include <cstdint>
#include <optional>
#include <vector>

namespace jb {

/// What a layer of an architecture spec does. Input sizes (in-channels, in-features, BN
/// features) are never stored: they follow from the layer before, so a plugin that removes
/// output channels of layer i changes one number and the next layers adapt.
enum class LayerKind {
    Conv,          ///< 2-D convolution: out, kernel, stride, padding, groups, bias
    DepthwiseConv, ///< 2-D convolution with groups = in-channels, out = in-channels x multiplier
    BatchNorm,     ///< BatchNorm2d over channels (or BatchNorm1d over features for flat input)
    Activation,    ///< element-wise: relu, relu6, tanh, sigmoid, gelu, silu
    Pool,          ///< max / avg (kernel, stride, padding) or global-avg (output [C,1,1])
    Linear,        ///< fully connected: out, bias; needs a flat input [F]
    Dropout,       ///< p
    Flatten,       ///< [C,H,W] -> [C*H*W]
    Residual,      ///< out = body(x) + shortcut(x); an empty shortcut is the identity
};

enum class PoolMode { Max, Avg, GlobalAvg };

/// One layer. Only the fields of its kind are used (and written to JSON).
struct LayerSpec
{
    LayerKind kind = LayerKind::Flatten;

    int64_t out = 0;        ///< Conv: out-channels; Linear: out-features
    int64_t kernel = 3;     ///< Conv, DepthwiseConv, Pool (max/avg)
    int64_t stride = 1;     ///< Conv, DepthwiseConv, Pool (max/avg; 0 = same as kernel)
    int64_t padding = 0;    ///< Conv, DepthwiseConv, Pool (max/avg)
    int64_t groups = 1;     ///< Conv only (DepthwiseConv sets groups = in-channels itself)
    int64_t multiplier = 1; ///< DepthwiseConv: out-channels per input channel
    bool bias = true;       ///< Conv, DepthwiseConv, Linear
    QString activation;     ///< Activation: relu | relu6 | tanh | sigmoid | gelu | silu
    PoolMode pool = PoolMode::Max;
    double p = 0.5;        ///< Dropout probability
    double eps = 1e-5;     ///< BatchNorm
    double momentum = 0.1; ///< BatchNorm running-stat momentum (PyTorch convention)

    std::vector<LayerSpec> body;     ///< Residual
    std::vector<LayerSpec> shortcut; ///< Residual (empty = identity)

    /// Implementation id; empty = the built-in float implementation. Plugins that swap a
    /// layer's implementation (e.g. int8 quantized) register a factory under an id (see
    /// spec_layers.h) and set it here, so the rewritten spec still rebuilds the same model.
    QString impl;
    /// Free-form options of a non-default implementation (scales, bit widths, ...).
    QJsonObject implOptions;

    bool operator==(const LayerSpec &other) const;
};

/// The input and output shape of one layer, found by shape inference (per sample, no batch).
struct LayerShape
{
    QString path;                     ///< "3", or "5.body.1" inside a residual block
    const LayerSpec *layer = nullptr; ///< points into the spec that was inferred
    std::vector<int64_t> input;
    std::vector<int64_t> output;
};

/// A small JSON-serialisable description of a sequential network with residual blocks.
///
/// Layer paths: top-level layer i is "i"; layer j of the body (shortcut) of residual block i is
/// "i.body.j" ("i.shortcut.j"), recursively. The built module uses the same names, so the
/// parameter of a path is "<path>.weight".
///
/// Plain value type; safe to copy between threads.
struct ArchSpec
{
    static constexpr int kFormatVersion = 1;

    QString name;                    ///< e.g. "lenet5"
    std::vector<int64_t> inputShape; ///< one sample, e.g. {1, 28, 28}
    int64_t numClasses = 0;
    std::vector<LayerSpec> layers;

    QJsonObject toJson() const;
    /// Parses and validates (shape inference). Errors name the key or layer path.
    static std::optional<ArchSpec> fromJson(const QJsonObject &json, QString *error);

    /// Shape inference through every layer (pre-order, residual bodies before shortcuts).
    /// Fails with a message naming the layer path, its kind and the mismatch; also checks that
    /// the final output is [numClasses].
    bool inferShapes(std::vector<LayerShape> *shapes, QString *error) const;
    bool validate(QString *error) const { return inferShapes(nullptr, error); }

    /// The layer at a path ("3", "5.body.1"), or null.
    const LayerSpec *layerAt(const QString &path) const;
    LayerSpec *layerAt(const QString &path);

    bool operator==(const ArchSpec &other) const;
};

QString layerKindName(LayerKind kind);
std::optional<LayerKind> layerKindFromName(const QString &name);
QString poolModeName(PoolMode mode);
/// "[1, 28, 28]"
QString shapeToString(const std::vector<int64_t> &shape);

/// Convenience builders used by the zoo and tests.
namespace layers {
LayerSpec conv(int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
               bool bias = true);
LayerSpec depthwise(int64_t kernel, int64_t stride = 1, int64_t padding = 0, bool bias = false);
LayerSpec batchNorm();
LayerSpec act(const QString &fn = QStringLiteral("relu"));
LayerSpec maxPool(int64_t kernel, int64_t stride = 0, int64_t padding = 0);
LayerSpec avgPool(int64_t kernel, int64_t stride = 0, int64_t padding = 0);
LayerSpec globalAvgPool();
LayerSpec linear(int64_t out, bool bias = true);
LayerSpec dropout(double p);
LayerSpec flatten();
LayerSpec residual(std::vector<LayerSpec> body, std::vector<LayerSpec> shortcut = {});
} // namespace layers

} // namespace jb
