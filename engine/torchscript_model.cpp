// SPDX-License-Identifier: GPL-3.0-or-later
#include "torchscript_model.h"

#include <QFile>
#include <QFileInfo>

#include <torch/script.h>
#include <torch/torch.h>

#include <sstream>

namespace jb {

struct TorchScriptModel::Impl
{
    torch::jit::Module module;
};

namespace {

template <typename List> NamedTensors toNamed(const List &list)
{
    NamedTensors out;
    for (const auto &item : list)
        out.emplace_back(item.name, item.value);
    return out;
}

/// Runs the probe batch and fills *numClasses (when 0) or checks it.
bool probe(torch::jit::Module &module, const QString &where, const std::vector<int64_t> &inputShape,
           int64_t *numClasses, QString *error)
{
    if (inputShape.empty()) {
        if (error)
            *error = QStringLiteral("TorchScript model %1: the input shape (from the data set) is "
                                    "needed to check it")
                         .arg(where);
        return false;
    }
    std::vector<int64_t> shape = inputShape;
    shape.insert(shape.begin(), 2);
    torch::Tensor out;
    try {
        torch::NoGradGuard noGrad;
        const bool wasTraining = module.is_training();
        module.eval();
        const c10::IValue y = module.forward({torch::zeros(shape)});
        module.train(wasTraining);
        if (!y.isTensor()) {
            if (error)
                *error = QStringLiteral("TorchScript model %1: forward() returns %2, not one "
                                        "tensor of logits")
                             .arg(where, QString::fromStdString(y.tagKind()));
            return false;
        }
        out = y.toTensor();
    } catch (const std::exception &e) {
        // The interpreter's message ends with the actual error after a long traceback.
        const QStringList lines = exceptionText(e).trimmed().split(QLatin1Char('\n'));
        if (error)
            *error = QStringLiteral("TorchScript model %1 fails on an input %2 (the data set's "
                                    "samples, batch of 2): %3; export a model that takes this "
                                    "shape and returns one logit per class")
                         .arg(where, shapeToString(shape), lines.last().trimmed());
        return false;
    }
    if (out.dim() != 2 || out.size(0) != 2 || (*numClasses > 0 && out.size(1) != *numClasses)) {
        if (error)
            *error = QStringLiteral("TorchScript model %1 gives %2 for an input %3; expected "
                                    "[2, %4] (one logit per class)")
                         .arg(where, shapeToString(out.sizes().vec()), shapeToString(shape),
                              *numClasses > 0 ? QString::number(*numClasses)
                                              : QStringLiteral("classes"));
        return false;
    }
    *numClasses = out.size(1);
    return true;
}

} // namespace

TorchScriptModel::TorchScriptModel(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

TorchScriptModel::~TorchScriptModel() = default;

std::unique_ptr<TorchScriptModel> TorchScriptModel::load(const QString &path,
                                                         const std::vector<int64_t> &inputShape,
                                                         int64_t numClasses, QString *error)
{
    const QFileInfo info(path);
    if (!info.isFile()) {
        if (error)
            *error =
                QStringLiteral("TorchScript model '%1' does not exist or is not a file").arg(path);
        return nullptr;
    }
    auto impl = std::make_unique<Impl>();
    try {
        impl->module = torch::jit::load(QFile::encodeName(path).toStdString(), torch::kCPU);
    } catch (const std::exception &e) {
        if (error)
            *error = QStringLiteral("'%1' is not a loadable TorchScript file (save it with "
                                    "torch.jit.script(model).save(path)): %2")
                         .arg(path, exceptionText(e));
        return nullptr;
    }
    const QString where = QLatin1Char('\'') + path + QLatin1Char('\'');
    if (!probe(impl->module, where, inputShape, &numClasses, error))
        return nullptr;
    std::unique_ptr<TorchScriptModel> model(new TorchScriptModel(std::move(impl)));
    model->m_name = info.completeBaseName();
    model->m_source = QStringLiteral("torchscript:") + info.absoluteFilePath();
    model->m_inputShape = inputShape;
    model->m_numClasses = numClasses;
    return model;
}

std::unique_ptr<TorchScriptModel>
TorchScriptModel::loadFromBytes(const QByteArray &bytes, const QString &where, const QString &name,
                                const std::vector<int64_t> &inputShape, int64_t numClasses,
                                QString *error)
{
    auto impl = std::make_unique<Impl>();
    try {
        std::istringstream in(std::string(bytes.constData(), static_cast<size_t>(bytes.size())));
        impl->module = torch::jit::load(in, torch::kCPU);
    } catch (const std::exception &e) {
        if (error)
            *error = QStringLiteral("%1: the TorchScript module cannot be read: %2")
                         .arg(where, exceptionText(e));
        return nullptr;
    }
    if (!probe(impl->module, where, inputShape, &numClasses, error))
        return nullptr;
    std::unique_ptr<TorchScriptModel> model(new TorchScriptModel(std::move(impl)));
    model->m_name = name;
    model->m_source = QStringLiteral("torchscript:") + where;
    model->m_inputShape = inputShape;
    model->m_numClasses = numClasses;
    return model;
}

QByteArray TorchScriptModel::saveToBytes(QString *error) const
{
    try {
        std::ostringstream out;
        m_impl->module.save(out);
        const std::string s = out.str();
        return QByteArray(s.data(), static_cast<qsizetype>(s.size()));
    } catch (const std::exception &e) {
        if (error)
            *error = QStringLiteral("TorchScript model '%1' cannot be serialised: %2")
                         .arg(m_name, exceptionText(e));
        return {};
    }
}

torch::Tensor TorchScriptModel::forward(const torch::Tensor &batch)
{
    const c10::IValue y = m_impl->module.forward({batch});
    TORCH_CHECK(y.isTensor(), "the TorchScript model's forward() did not return a tensor");
    return y.toTensor();
}

std::vector<torch::Tensor> TorchScriptModel::parameters() const
{
    std::vector<torch::Tensor> out;
    for (const torch::Tensor &t : m_impl->module.parameters())
        out.push_back(t);
    return out;
}

NamedTensors TorchScriptModel::namedParameters() const
{
    return toNamed(m_impl->module.named_parameters());
}

NamedTensors TorchScriptModel::namedBuffers() const
{
    return toNamed(m_impl->module.named_buffers());
}

void TorchScriptModel::setTraining(bool on)
{
    m_impl->module.train(on);
}

bool TorchScriptModel::isTraining() const
{
    return m_impl->module.is_training();
}

void TorchScriptModel::to(const torch::Device &device)
{
    m_impl->module.to(device);
}

void TorchScriptModel::setComputeDtype(torch::ScalarType dtype)
{
    m_impl->module.to(dtype);
}

std::unique_ptr<Model> TorchScriptModel::clone(QString *error) const
{
    try {
        auto impl = std::make_unique<Impl>();
        impl->module = m_impl->module.deepcopy();
        std::unique_ptr<TorchScriptModel> copy(new TorchScriptModel(std::move(impl)));
        copy->m_name = m_name;
        copy->m_source = m_source;
        copy->m_inputShape = m_inputShape;
        copy->m_numClasses = m_numClasses;
        return copy;
    } catch (const std::exception &e) {
        if (error)
            *error = QStringLiteral("TorchScript model '%1' cannot be copied: %2")
                         .arg(m_name, exceptionText(e));
        return nullptr;
    }
}

} // namespace jb
