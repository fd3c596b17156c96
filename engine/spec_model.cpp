// SPDX-License-Identifier: GPL-3.0-or-later
#include "spec_model.h"

#include <QStringList>

#include <torch/torch.h>

#include <unordered_map>

namespace jb {

namespace {

/// Restores torch's global CPU generator when it goes out of scope, so building a model for a
/// clone or with its own seed does not shift the random stream of the caller's training run.
class GlobalRngRestorer
{
public:
    GlobalRngRestorer() : m_gen(at::detail::getDefaultCPUGenerator())
    {
        std::lock_guard<std::mutex> lock(m_gen.mutex());
        m_state = m_gen.get_state();
    }
    ~GlobalRngRestorer()
    {
        std::lock_guard<std::mutex> lock(m_gen.mutex());
        m_gen.set_state(m_state);
    }

private:
    at::Generator m_gen;
    at::Tensor m_state;
};

NamedTensors toNamed(const torch::OrderedDict<std::string, torch::Tensor> &dict)
{
    NamedTensors out;
    out.reserve(dict.size());
    for (const auto &item : dict)
        out.emplace_back(item.key(), item.value());
    return out;
}

} // namespace

SpecModel::SpecModel(ArchSpec spec, std::shared_ptr<LayerSequence> net)
    : m_spec(std::move(spec)), m_net(std::move(net))
{
}

std::unique_ptr<SpecModel> SpecModel::create(const ArchSpec &spec, QString *error)
{
    std::vector<LayerShape> shapes;
    if (!spec.inferShapes(&shapes, error))
        return nullptr;
    try {
        size_t cursor = 0;
        auto net = buildLayerSequence(spec.layers, shapes, &cursor, error);
        if (!net)
            return nullptr;
        return std::unique_ptr<SpecModel>(new SpecModel(spec, std::move(net)));
    } catch (const std::exception &e) {
        if (error)
            *error =
                QStringLiteral("building model '%1' failed: %2").arg(spec.name, exceptionText(e));
        return nullptr;
    }
}

std::unique_ptr<SpecModel> SpecModel::create(const ArchSpec &spec, uint64_t seed, QString *error)
{
    GlobalRngRestorer restore;
    torch::manual_seed(seed);
    return create(spec, error);
}

torch::Tensor SpecModel::forward(const torch::Tensor &batch)
{
    return m_net->forward(batch);
}

std::vector<torch::Tensor> SpecModel::parameters() const
{
    return m_net->parameters();
}

NamedTensors SpecModel::namedParameters() const
{
    return toNamed(m_net->named_parameters());
}

NamedTensors SpecModel::namedBuffers() const
{
    return toNamed(m_net->named_buffers());
}

void SpecModel::setTraining(bool on)
{
    m_net->train(on);
}

bool SpecModel::isTraining() const
{
    return m_net->is_training();
}

void SpecModel::to(const torch::Device &device)
{
    m_net->to(device);
}

void SpecModel::setComputeDtype(torch::ScalarType dtype)
{
    m_net->to(dtype);
}

std::unique_ptr<Model> SpecModel::clone(QString *error) const
{
    return rebuild(m_spec, {}, error);
}

std::shared_ptr<Layer> SpecModel::layer(const QString &path) const
{
    const QStringList parts = path.split(QLatin1Char('.'));
    const LayerSequence *seq = m_net.get();
    std::shared_ptr<Layer> current;
    for (qsizetype i = 0; i < parts.size(); ++i) {
        if (current) {
            auto *res = dynamic_cast<ResidualLayer *>(current.get());
            if (!res || i + 1 >= parts.size())
                return nullptr;
            if (parts[i] == QLatin1String("body"))
                seq = &res->body();
            else if (parts[i] == QLatin1String("shortcut"))
                seq = &res->shortcut();
            else
                return nullptr;
            ++i;
        }
        bool ok = false;
        const qulonglong idx = parts[i].toULongLong(&ok);
        if (!ok || idx >= seq->size())
            return nullptr;
        current = seq->at(idx);
    }
    return current;
}

bool SpecModel::replaceLayer(const QString &path, std::shared_ptr<Layer> newLayer,
                             const QString &impl, const QJsonObject &implOptions, QString *error)
{
    LayerSpec *entry = m_spec.layerAt(path);
    if (!entry || !newLayer || entry->kind == LayerKind::Residual) {
        if (error)
            *error = QStringLiteral("model '%1': no replaceable layer at path '%2'")
                         .arg(m_spec.name, path);
        return false;
    }
    if (!impl.isEmpty() && !registeredLayerImpls().contains(impl)) {
        if (error)
            *error = QStringLiteral("model '%1', layer %2: implementation '%3' is not registered "
                                    "(registerLayerImpl); the model could not be saved or cloned")
                         .arg(m_spec.name, path, impl);
        return false;
    }
    std::vector<LayerShape> shapes;
    if (!m_spec.inferShapes(&shapes, error))
        return false;
    const LayerShape *shape = nullptr;
    for (const LayerShape &s : shapes) {
        if (s.path == path)
            shape = &s;
    }
    // Probe the replacement with one sample so a wrong layer fails here, not mid-training.
    try {
        torch::NoGradGuard noGrad;
        const bool wasTraining = newLayer->is_training();
        newLayer->eval();
        std::vector<int64_t> in = shape->input;
        in.insert(in.begin(), 1);
        const torch::Tensor y =
            newLayer->forward(torch::zeros(in, torch::TensorOptions().device(device())));
        newLayer->train(wasTraining);
        std::vector<int64_t> expected = shape->output;
        expected.insert(expected.begin(), 1);
        if (y.sizes().vec() != expected) {
            if (error)
                *error = QStringLiteral("model '%1', layer %2: the replacement gives %3 for one "
                                        "sample, the spec needs %4")
                             .arg(m_spec.name, path, shapeToString(y.sizes().vec()),
                                  shapeToString(expected));
            return false;
        }
    } catch (const std::exception &e) {
        if (error)
            *error = QStringLiteral("model '%1', layer %2: the replacement failed on a probe "
                                    "input: %3")
                         .arg(m_spec.name, path, exceptionText(e));
        return false;
    }
    // Parent sequence and index.
    const qsizetype dot = path.lastIndexOf(QLatin1Char('.'));
    const size_t index = path.mid(dot + 1).toULongLong();
    LayerSequence *parent = m_net.get();
    if (dot > 0) {
        const QString prefix = path.left(dot);
        const qsizetype dot2 = prefix.lastIndexOf(QLatin1Char('.'));
        auto *res = dynamic_cast<ResidualLayer *>(layer(prefix.left(dot2)).get());
        parent = prefix.endsWith(QLatin1String("body")) ? &res->body() : &res->shortcut();
    }
    newLayer->train(m_net->is_training());
    parent->replace(index, std::move(newLayer));
    entry->impl = impl;
    entry->implOptions = impl.isEmpty() ? QJsonObject() : implOptions;
    return true;
}

std::unique_ptr<SpecModel> SpecModel::rebuild(const ArchSpec &newSpec, const ChannelMaps &maps,
                                              QString *error, bool freshForNew) const
{
    std::unique_ptr<SpecModel> fresh;
    {
        GlobalRngRestorer restore;
        fresh = create(newSpec, error);
    }
    if (!fresh)
        return nullptr;
    try {
        fresh->to(device());
        if (computeDtype() != torch::kFloat)
            fresh->setComputeDtype(computeDtype());
        fresh->setTraining(isTraining());
        std::unordered_map<std::string, torch::Tensor> old;
        for (auto &[name, t] : state())
            old.emplace(name, t);
        torch::NoGradGuard noGrad;
        for (auto &[name, t] : fresh->state()) {
            const auto it = old.find(name);
            const QString qname = QString::fromStdString(name);
            if (it == old.end()) {
                if (freshForNew)
                    continue;
                if (error)
                    *error = QStringLiteral("rebuilding '%1': tensor '%2' of the new spec has no "
                                            "counterpart in the old model")
                                 .arg(newSpec.name, qname);
                return nullptr;
            }
            torch::Tensor src = it->second;
            const QString path = qname.left(qname.lastIndexOf(QLatin1Char('.')));
            const auto m = maps.find(path);
            if (m != maps.end()) {
                auto select = [&](int64_t dim, const std::vector<int64_t> &idx) -> bool {
                    for (int64_t k : idx) {
                        if (k < 0 || k >= src.size(dim)) {
                            if (error)
                                *error = QStringLiteral("rebuilding '%1': channel map of layer %2 "
                                                        "names index %3, but tensor '%4' has %5 "
                                                        "along dimension %6")
                                             .arg(newSpec.name, path)
                                             .arg(k)
                                             .arg(qname)
                                             .arg(src.size(dim))
                                             .arg(dim);
                            return false;
                        }
                    }
                    src = src.index_select(
                        dim,
                        torch::tensor(
                            idx, torch::TensorOptions().dtype(torch::kLong).device(src.device())));
                    return true;
                };
                if (!m->second.keptOut.empty() && src.dim() >= 1 && !select(0, m->second.keptOut))
                    return nullptr;
                if (!m->second.keptIn.empty() && src.dim() >= 2 && !select(1, m->second.keptIn))
                    return nullptr;
            }
            if (src.sizes() != t.sizes()) {
                if (error)
                    *error = QStringLiteral("rebuilding '%1': tensor '%2' needs shape %3, the old "
                                            "model's (after the channel map) has %4")
                                 .arg(newSpec.name, qname, shapeToString(t.sizes().vec()),
                                      shapeToString(src.sizes().vec()));
                return nullptr;
            }
            t.copy_(src);
        }
    } catch (const std::exception &e) {
        if (error)
            *error =
                QStringLiteral("rebuilding '%1' failed: %2").arg(newSpec.name, exceptionText(e));
        return nullptr;
    }
    return fresh;
}

} // namespace jb
