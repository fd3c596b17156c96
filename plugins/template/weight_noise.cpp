// SPDX-License-Identifier: GPL-3.0-or-later
// template.weight_noise: adds seeded Gaussian noise to a model's weights. Made from the plugin
// template (plugins/template, `joulebench-cli plugins new`); guide: docs/plugin-authoring.md.
//
// A plugin is two classes: the Technique (a fresh instance per run: configure(), then apply())
// and the factory the registry instantiates through Qt's plugin loader.
#include "engine/model.h"
#include "engine/technique.h"

#include <QObject>
#include <QtPlugin>

#include <ATen/CPUGeneratorImpl.h>
// The narrow torch header: <torch/torch.h> doubles the compile time (out of the tree).
#include <torch/types.h>

#include <cmath>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

/// The technique. Runs on the runner's worker thread; one instance per run.
class WeightNoiseTechnique final : public Technique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        // The registry validated `params` against weight_noise.json and filled every default,
        // so types and ranges need no checks here; only combinations the schema cannot express.
        m_relativeStd = params.value(u"relative_std"_s).toDouble();
        m_layers = params.value(u"layers"_s).toString();
        m_includeBiases = params.value(u"include_biases"_s).toBool();
        m_seedOffset = quint64(params.value(u"seed_offset"_s).toInteger());
        if (m_layers != u"all"_s && m_includeBiases) {
            *error = u"params.include_biases: true only works with layers \"all\" (a bias "
                     "belongs to no layer kind here); set layers to \"all\" or include_biases "
                     "to false"_s;
            return false;
        }
        return true;
    }

    bool apply(TechniqueContext &context, QString *error) override
    {
        if (!context.model) {
            *error = u"no model to add noise to"_s;
            return false;
        }
        if (context.beginPhase)
            context.beginPhase(u"prepare:noise"_s);
        try {
            return addNoise(context, error);
        } catch (const std::exception &e) {
            // libtorch throws; the engine boundary is here.
            *error = u"adding weight noise failed: "_s + exceptionText(e);
            return false;
        }
    }

private:
    bool selected(const torch::Tensor &t) const
    {
        if (!t.is_floating_point())
            return false;
        const int64_t dims = t.dim();
        if (m_layers == u"conv"_s)
            return dims >= 3;
        if (m_layers == u"linear"_s)
            return dims == 2;
        return dims >= 2 || (m_includeBiases && dims == 1);
    }

    bool addNoise(TechniqueContext &context, QString *error)
    {
        torch::NoGradGuard noGrad;
        // Own generator: same seed, same noise, whatever else used torch's global one.
        at::Generator generator = at::detail::createCPUGenerator(context.seed + m_seedOffset);

        const NamedTensors params = context.model->namedParameters();
        int64_t tensors = 0;
        int64_t elements = 0;
        double noiseSquares = 0;
        double weightSquares = 0;
        for (size_t i = 0; i < params.size(); ++i) {
            if (context.feedback && context.feedback->isCanceled()) {
                *error = u"cancelled"_s;
                return false;
            }
            const torch::Tensor &weight = params[i].second;
            if (!selected(weight))
                continue;
            const double rms =
                weight.detach().to(torch::kDouble).pow(2).mean().sqrt().item<double>();
            // Drawn in float on the CPU and then moved: the same draw on every device.
            torch::Tensor noise = torch::randn(weight.sizes(), generator, torch::kFloat)
                                      .mul_(m_relativeStd * rms)
                                      .to(weight.device(), weight.scalar_type());
            weight.add_(noise);
            ++tensors;
            elements += weight.numel();
            noiseSquares += noise.to(torch::kDouble).pow(2).sum().item<double>();
            weightSquares += rms * rms * double(weight.numel());
            if (context.feedback)
                context.feedback->setProgress(
                    double(i + 1) / double(params.size()),
                    u"weight noise: %1"_s.arg(QString::fromStdString(params[i].first)));
        }
        if (tensors == 0) {
            *error = u"no parameter tensor matches layers \"%1\"%2 in model '%3'"_s.arg(
                m_layers, m_includeBiases ? u" (with biases)"_s : QString(), context.model->name());
            return false;
        }
        const double measured = weightSquares > 0 ? std::sqrt(noiseSquares / weightSquares) : 0;
        if (context.log) {
            context.log(
                u"added Gaussian noise to %1 tensors (%2 values)"_s.arg(tensors).arg(elements),
                QJsonObject{{u"tensors"_s, qint64(tensors)},
                            {u"values"_s, qint64(elements)},
                            {u"relative_std"_s, m_relativeStd},
                            {u"measured_relative_noise"_s, measured}});
        }
        if (context.metric) {
            context.metric(u"noised_values"_s, double(elements), u"count"_s);
            context.metric(u"measured_relative_noise"_s, measured, u"ratio"_s);
        }
        return true;
    }

    double m_relativeStd = 0;
    QString m_layers;
    bool m_includeBiases = false;
    quint64 m_seedOffset = 0;
};

} // namespace

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
/// The JSON file named here is the metadata the registry validates before loading anything.
class WeightNoisePlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "weight_noise.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<WeightNoiseTechnique>();
    }
};

} // namespace jb::plugins

#include "weight_noise.moc"
