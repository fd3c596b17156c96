// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "arch_spec.h"

#include <torch/nn/module.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <vector>

namespace jb {

/// One layer of a spec-built model: a torch module with a single-tensor forward.
///
/// A SpecModel is a sequence of these, so any layer can be replaced by another implementation
/// (an int8 quantized linear, a masked conv, ...) without the rest of the model knowing. A
/// replacement keeps its state in registered parameters/buffers so that save/load, clone and
/// rebuild carry it; non-float tensors (qint8, fp16) are fine.
///
/// Threads: a model, and so its layers, is used by one thread at a time.
class Layer : public torch::nn::Module
{
public:
    /// [N, ...in] -> [N, ...out]. May throw c10::Error; engine entry points catch it.
    virtual torch::Tensor forward(const torch::Tensor &input) = 0;

    /// The layer's weight as a float tensor in the layout of the built-in implementation
    /// (conv [out, in/groups, k, k], linear [out, in]), for metrics such as non-zero MACs.
    /// Default: the parameter or buffer named "weight", or an undefined tensor.
    virtual torch::Tensor metricsWeight() const;

    /// The tensors that hold this layer's learned values, whatever their storage, counted as
    /// the model's parameters in metrics. Default: the layer's own trainable parameters. Layers
    /// that keep frozen weights as buffers (int8 weights, their bias) override it, so a
    /// quantized model does not report 0 parameters.
    virtual std::vector<torch::Tensor> countedParameters() const
    {
        return parameters(/*recurse=*/false);
    }
};

/// An ordered list of layers, registered as children "0", "1", ... (the layer-path names).
class LayerSequence : public Layer
{
public:
    void append(std::shared_ptr<Layer> layer);
    size_t size() const { return m_layers.size(); }
    const std::shared_ptr<Layer> &at(size_t i) const { return m_layers.at(i); }
    /// Swaps layer i for another implementation (re-registers child "i").
    void replace(size_t i, std::shared_ptr<Layer> layer);

    torch::Tensor forward(const torch::Tensor &input) override;
    torch::Tensor metricsWeight() const override { return {}; }

private:
    std::vector<std::shared_ptr<Layer>> m_layers;
};

/// out = body(x) + shortcut(x), with children "body" and "shortcut" (an empty shortcut is the
/// identity).
class ResidualLayer : public Layer
{
public:
    ResidualLayer(std::shared_ptr<LayerSequence> body, std::shared_ptr<LayerSequence> shortcut);
    LayerSequence &body() { return *m_body; }
    LayerSequence &shortcut() { return *m_shortcut; }

    torch::Tensor forward(const torch::Tensor &input) override;
    torch::Tensor metricsWeight() const override { return {}; }

private:
    std::shared_ptr<LayerSequence> m_body;
    std::shared_ptr<LayerSequence> m_shortcut;
};

/// Builds one (non-residual) layer for a spec entry whose `impl` is set. `inputShape` is the
/// per-sample input shape found by shape inference. Returns null and sets *error on failure.
using LayerFactory = std::function<std::shared_ptr<Layer>(
    const LayerSpec &spec, const std::vector<int64_t> &inputShape, QString *error)>;

/// Registers an implementation id (e.g. "quant.dynamic_int8") for LayerSpec::impl. Call once
/// per id, typically when a plugin is loaded (any thread, but before models using it are
/// built). Returns false when the id is already taken.
bool registerLayerImpl(const QString &impl, LayerFactory factory);
/// Ids registered so far.
QStringList registeredLayerImpls();

/// Builds the layers of a validated spec sequence. `shapes` is the pre-order shape list of
/// ArchSpec::inferShapes(); `cursor` walks it. Parameters are initialised like PyTorch's
/// defaults (kaiming-uniform, a = sqrt(5)) from torch's global generator.
std::shared_ptr<LayerSequence> buildLayerSequence(const std::vector<LayerSpec> &specs,
                                                  const std::vector<LayerShape> &shapes,
                                                  size_t *cursor, QString *error);

} // namespace jb
