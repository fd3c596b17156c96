// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "model.h"

#include <QByteArray>
#include <QString>

#include <memory>

namespace jb {

/// A model a user brings as TorchScript (torch.jit.script / torch.jit.trace, then .save()).
/// Trains, evaluates, is timed and saved like any model; operations that rewrite the
/// architecture (structured pruning, NAS, growing) refuse it with specRequiredError().
///
/// Threads: one thread at a time (see Model).
class TorchScriptModel final : public Model
{
public:
    ~TorchScriptModel() override;

    /// Loads `path` onto the CPU and checks it with one probe batch of zeros [2, ...inputShape]
    /// in eval mode: the output must be [2, numClasses] (numClasses 0: take it from the probe).
    /// Errors name the file and say what was wrong (missing, not TorchScript, shape mismatch).
    static std::unique_ptr<TorchScriptModel> load(const QString &path,
                                                  const std::vector<int64_t> &inputShape,
                                                  int64_t numClasses, QString *error);
    /// The same from the bytes of a saved module; `where` names the origin in errors.
    static std::unique_ptr<TorchScriptModel>
    loadFromBytes(const QByteArray &bytes, const QString &where, const QString &name,
                  const std::vector<int64_t> &inputShape, int64_t numClasses, QString *error);
    /// The module as TorchScript bytes (what torch.jit.load reads), or empty with *error.
    QByteArray saveToBytes(QString *error) const;

    Kind kind() const override { return Kind::TorchScript; }
    QString name() const override { return m_name; }
    QString source() const override { return m_source; }
    std::vector<int64_t> inputShape() const override { return m_inputShape; }
    int64_t numClasses() const override { return m_numClasses; }

    torch::Tensor forward(const torch::Tensor &batch) override;
    std::vector<torch::Tensor> parameters() const override;
    NamedTensors namedParameters() const override;
    NamedTensors namedBuffers() const override;
    void setTraining(bool on) override;
    bool isTraining() const override;
    void to(const torch::Device &device) override;
    void setComputeDtype(torch::ScalarType dtype) override;
    std::unique_ptr<Model> clone(QString *error) const override;

private:
    struct Impl;
    explicit TorchScriptModel(std::unique_ptr<Impl> impl);

    std::unique_ptr<Impl> m_impl; // holds the torch::jit::Module (keeps <torch/script.h> out)
    QString m_name;
    QString m_source;
    std::vector<int64_t> m_inputShape;
    int64_t m_numClasses = 0;
};

} // namespace jb
