// SPDX-License-Identifier: GPL-3.0-or-later
// quant.half: Model::setComputeDtype(kHalf / kBFloat16). checkSupported() refuses, before any
// measured work, what this backend cannot run (fp16 convolution on the CPU) and probes one
// forward pass of a copy in the target dtype, so an unsupported op is named before the run.
#include "plugins/quant_common/quant_technique.h"

#include "engine/model.h"
#include "engine/technique.h"

#include <QObject>
#include <QtPlugin>

#include <torch/torch.h>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

bool hasConv(const std::vector<LayerSpec> &layers)
{
    for (const LayerSpec &l : layers) {
        if (l.kind == LayerKind::Conv || l.kind == LayerKind::DepthwiseConv ||
            hasConv(l.body) || hasConv(l.shortcut))
            return true;
    }
    return false;
}

bool hasInt8(const std::vector<LayerSpec> &layers)
{
    for (const LayerSpec &l : layers) {
        if (l.impl.startsWith(u"quant."_s) || hasInt8(l.body) || hasInt8(l.shortcut))
            return true;
    }
    return false;
}

int64_t stateBytes(const Model &model)
{
    int64_t bytes = 0;
    for (const auto &[name, t] : model.state())
        bytes += t.numel() * int64_t(t.element_size());
    return bytes;
}

/// The technique. Runs on the runner's worker thread; one instance per run.
class HalfPrecisionTechnique final : public Technique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        Q_UNUSED(error);
        m_name = params.value(u"dtype"_s).toString();
        m_dtype = m_name == u"fp16"_s ? torch::kHalf : torch::kBFloat16;
        return true;
    }

    bool checkSupported(const Model &model, const Backend &backend, QString *error) const override
    {
        const ArchSpec *spec = model.spec();
        if (spec && hasInt8(spec->layers)) {
            *error = u"model '%1' already has int8 quantized layers; quant.half converts float "
                     "models only (put quant.half first in the chain, or drop it)"_s
                         .arg(model.name());
            return false;
        }
        if (backend.kind == Backend::Kind::Cpu && m_dtype == torch::kHalf && spec &&
            hasConv(spec->layers)) {
            *error = u"fp16 convolution is not supported on backend %1: libtorch %2 has no CPU "
                     "kernel for half-precision conv2d (model '%3' has convolutions); use "
                     "params.dtype \"bf16\" or a cuda backend"_s
                         .arg(backend.toString(), QStringLiteral(TORCH_VERSION), model.name());
            return false;
        }
        if (backend.kind != Backend::Kind::Cpu)
            return true; // the CPU probe below says nothing about another device
        // Probe: one forward pass of a copy in the target dtype finds any other missing kernel.
        try {
            QString why;
            std::unique_ptr<Model> copy = model.clone(&why);
            if (!copy) {
                *error = u"cannot check %1 support for model '%2': %3"_s.arg(m_name, model.name(),
                                                                             why);
                return false;
            }
            torch::NoGradGuard noGrad;
            copy->setTraining(false);
            copy->setComputeDtype(m_dtype);
            std::vector<int64_t> shape = model.inputShape();
            shape.insert(shape.begin(), 2);
            copy->forward(torch::zeros(shape, torch::TensorOptions().dtype(m_dtype)));
        } catch (const std::exception &e) {
            *error = u"%1 is not supported on backend %2 for model '%3': %4"_s.arg(
                m_name, backend.toString(), model.name(), exceptionText(e));
            return false;
        }
        return true;
    }

    bool apply(TechniqueContext &context, QString *error) override
    {
        if (!quant::checkModelSupported(*this, context, u"convert"_s, error) ||
            !quant::beginPhaseUnlessCanceled(context, u"prepare:convert"_s, error))
            return false;
        try {
            const int64_t before = stateBytes(*context.model);
            int64_t tensors = 0;
            for (const auto &[name, t] : context.model->state())
                tensors += t.is_floating_point();
            context.model->setComputeDtype(m_dtype);
            const int64_t after = stateBytes(*context.model);
            if (context.log) {
                context.log(u"%1: %2 floating-point tensors converted, model %3 -> %4 bytes"_s
                                .arg(m_name)
                                .arg(tensors)
                                .arg(before)
                                .arg(after),
                            QJsonObject{{u"dtype"_s, m_name},
                                        {u"converted_tensors"_s, qint64(tensors)},
                                        {u"model_bytes_before"_s, qint64(before)},
                                        {u"model_bytes_after"_s, qint64(after)}});
            }
            if (context.metric) {
                context.metric(u"converted_tensors"_s, double(tensors), u"count"_s);
            }
            quant::reportModelSize(context, before, after);
        } catch (const std::exception &e) {
            *error = u"converting to %1 failed: %2"_s.arg(m_name, exceptionText(e));
            return false;
        }
        return true;
    }

private:
    QString m_name;
    torch::ScalarType m_dtype = torch::kBFloat16;
};

} // namespace

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class HalfPrecisionPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "half.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<HalfPrecisionTechnique>();
    }
};

} // namespace jb::plugins

#include "half.moc"
