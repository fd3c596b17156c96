// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "arch_spec.h"
#include "channel_surgery.h"
#include "model.h"
#include "spec_layers.h"

#include <memory>

namespace jb {

/// A model built from an ArchSpec: a LayerSequence whose children are named by layer path, so
/// the parameter of layer "5.body.0" is "5.body.0.weight".
///
/// Threads: one thread at a time (see Model).
class SpecModel final : public Model
{
public:
    /// Validates the spec and builds the module. Weights are initialised like PyTorch's
    /// defaults from torch's global generator: call torch::manual_seed() first for
    /// reproducible weights (or use the overload with a seed).
    static std::unique_ptr<SpecModel> create(const ArchSpec &spec, QString *error);
    static std::unique_ptr<SpecModel> create(const ArchSpec &spec, uint64_t seed, QString *error);

    Kind kind() const override { return Kind::Spec; }
    QString name() const override { return m_spec.name; }
    QString source() const override { return QStringLiteral("spec"); }
    std::vector<int64_t> inputShape() const override { return m_spec.inputShape; }
    int64_t numClasses() const override { return m_spec.numClasses; }
    const ArchSpec *spec() const override { return &m_spec; }

    torch::Tensor forward(const torch::Tensor &batch) override;
    std::vector<torch::Tensor> parameters() const override;
    NamedTensors namedParameters() const override;
    NamedTensors namedBuffers() const override;
    void setTraining(bool on) override;
    bool isTraining() const override;
    void to(const torch::Device &device) override;
    void setComputeDtype(torch::ScalarType dtype) override;
    std::unique_ptr<Model> clone(QString *error) const override;

    /// The torch module (for plugins that walk modules, register hooks or read gradients).
    LayerSequence &network() { return *m_net; }
    const LayerSequence &network() const { return *m_net; }

    /// The layer at a spec path ("3", "5.body.1"), or null.
    std::shared_ptr<Layer> layer(const QString &path) const;

    /// Swaps the implementation of the layer at `path` (e.g. for an int8 quantized one). The
    /// spec entry's impl/implOptions are set to `impl`/`implOptions`, which must name a
    /// factory registered with registerLayerImpl() so the model can be rebuilt, cloned and
    /// loaded from a file; the new layer must keep the layer's output shape.
    bool replaceLayer(const QString &path, std::shared_ptr<Layer> layer, const QString &impl,
                      const QJsonObject &implOptions, QString *error);

    /// Builds `newSpec` and fills it with this model's weights: for every tensor of the new
    /// model, the tensor of the same name here, sliced by `maps` (see ChannelMap), must have the
    /// new shape. Used by structured pruning (with maps from removeChannels()). Tensors the new
    /// spec adds (growing, NAS) are an error unless `freshForNew`, which keeps their new
    /// initialisation. The new model is on this model's device and in its training mode.
    std::unique_ptr<SpecModel> rebuild(const ArchSpec &newSpec, const ChannelMaps &maps,
                                       QString *error, bool freshForNew = false) const;

private:
    SpecModel(ArchSpec spec, std::shared_ptr<LayerSequence> net);

    ArchSpec m_spec;
    std::shared_ptr<LayerSequence> m_net;
};

} // namespace jb
