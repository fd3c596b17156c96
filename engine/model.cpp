// SPDX-License-Identifier: GPL-3.0-or-later
#include "model.h"

#include <QSet>

#include <torch/torch.h>

#include <unordered_map>

namespace jb {

NamedTensors Model::state() const
{
    NamedTensors all = namedParameters();
    NamedTensors buffers = namedBuffers();
    all.insert(all.end(), buffers.begin(), buffers.end());
    return all;
}

bool Model::loadState(const NamedTensors &tensors, QString *error)
{
    std::unordered_map<std::string, const torch::Tensor *> given;
    for (const auto &[name, t] : tensors) {
        if (!given.emplace(name, &t).second) {
            if (error)
                *error = QStringLiteral("model '%1': tensor '%2' is given twice")
                             .arg(this->name(), QString::fromStdString(name));
            return false;
        }
    }
    const NamedTensors mine = state();
    // Check everything before changing anything, so a failed load leaves the model intact.
    for (const auto &[name, t] : mine) {
        const auto it = given.find(name);
        if (it == given.end()) {
            if (error)
                *error = QStringLiteral("model '%1': no value for tensor '%2'")
                             .arg(this->name(), QString::fromStdString(name));
            return false;
        }
        if (it->second->sizes() != t.sizes()) {
            if (error)
                *error = QStringLiteral("model '%1': tensor '%2' has shape %3, the value has %4")
                             .arg(this->name(), QString::fromStdString(name),
                                  shapeToString(t.sizes().vec()),
                                  shapeToString(it->second->sizes().vec()));
            return false;
        }
    }
    if (given.size() != mine.size()) {
        QSet<QString> known;
        for (const auto &[name, t] : mine)
            known.insert(QString::fromStdString(name));
        for (const auto &[name, t] : tensors) {
            if (!known.contains(QString::fromStdString(name))) {
                if (error)
                    *error = QStringLiteral("model '%1' has no tensor '%2'")
                                 .arg(this->name(), QString::fromStdString(name));
                return false;
            }
        }
    }
    try {
        torch::NoGradGuard noGrad;
        for (const auto &[name, t] : mine) {
            torch::Tensor dst = t;
            dst.copy_(*given.at(name));
        }
    } catch (const std::exception &e) {
        if (error)
            *error = QStringLiteral("model '%1': copying tensors failed: %2")
                         .arg(name(), exceptionText(e));
        return false;
    }
    return true;
}

torch::Device Model::device() const
{
    for (const auto &[name, t] : state())
        return t.device();
    return torch::kCPU;
}

torch::ScalarType Model::computeDtype() const
{
    for (const auto &[name, t] : state()) {
        if (t.is_floating_point())
            return t.scalar_type();
    }
    return torch::kFloat;
}

QString specRequiredError(const QString &operation, const Model &model)
{
    return QStringLiteral("%1 needs a model built from an architecture spec (a zoo model or a "
                          "saved spec model); '%2' is a %3 model (%4), which %1 does not support")
        .arg(operation, model.name(),
             model.kind() == Model::Kind::TorchScript ? QStringLiteral("TorchScript")
                                                      : QStringLiteral("spec-less"),
             model.source());
}

const ArchSpec *requireSpec(const Model &model, const QString &operation, QString *error)
{
    const ArchSpec *spec = model.spec();
    if (!spec && error)
        *error = specRequiredError(operation, model);
    return spec;
}

QString exceptionText(const std::exception &e)
{
    if (const auto *c10e = dynamic_cast<const c10::Error *>(&e))
        return QString::fromStdString(c10e->msg());
    return QString::fromUtf8(e.what());
}

int64_t parameterCount(const Model &model)
{
    int64_t n = 0;
    for (const auto &[name, t] : model.namedParameters())
        n += t.numel();
    return n;
}

int64_t nonZeroParameterCount(const Model &model)
{
    torch::NoGradGuard noGrad;
    int64_t n = 0;
    for (const auto &[name, t] : model.namedParameters())
        n += t.count_nonzero().item<int64_t>();
    return n;
}

} // namespace jb
