// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "arch_spec.h"

#include <QString>

#include <torch/types.h>

#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace jb {

/// Tensors by their module path ("3.weight", "5.body.0.running_mean").
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// The model interface the engine trains, evaluates, times, measures and saves: either built
/// from an architecture spec (SpecModel: zoo entries and whatever plugins rewrite) or imported
/// from TorchScript (TorchScriptModel). Techniques that must rewrite the architecture call
/// requireSpec() and fail with specRequiredError() for TorchScript models.
///
/// Threads: a model is used by one thread at a time (the one running the phase). clone() gives
/// an independent copy for another thread.
class Model
{
public:
    enum class Kind { Spec, TorchScript };

    virtual ~Model() = default;

    virtual Kind kind() const = 0;
    /// Short name: the spec name ("lenet5") or the TorchScript file's base name.
    virtual QString name() const = 0;
    /// Where it came from, for logs and run records ("spec", "torchscript:/path/m.pt").
    virtual QString source() const = 0;
    /// Shape of one input sample, e.g. {1, 28, 28}.
    virtual std::vector<int64_t> inputShape() const = 0;
    virtual int64_t numClasses() const = 0;

    /// [N, ...inputShape] -> logits [N, numClasses]. Throws c10::Error on bad input; the
    /// engine's entry points (Trainer, Evaluator, InferenceTimer, ...) catch it.
    virtual torch::Tensor forward(const torch::Tensor &batch) = 0;

    /// Trainable parameters (the optimizer's list).
    virtual std::vector<torch::Tensor> parameters() const = 0;
    virtual NamedTensors namedParameters() const = 0;
    /// Non-trainable state (BN running statistics, ...).
    virtual NamedTensors namedBuffers() const = 0;
    /// Parameters then buffers. The tensors alias the model's storage.
    NamedTensors state() const;
    /// Copies `tensors` into the model's parameters and buffers. Every model tensor must be
    /// given once with the same shape (dtype is converted); unknown names are an error.
    bool loadState(const NamedTensors &tensors, QString *error);

    virtual void setTraining(bool on) = 0;
    virtual bool isTraining() const = 0;
    /// Moves parameters and buffers (device of the backend, e.g. CUDA).
    virtual void to(const torch::Device &device) = 0;
    /// The device of the first parameter or buffer (CPU for a model without tensors).
    torch::Device device() const;

    /// Converts floating-point parameters and buffers to `dtype` (kFloat, kHalf, kBFloat16):
    /// a real dtype change, used by the fp16/bf16 technique. Trainer, Evaluator and
    /// InferenceTimer cast input batches to computeDtype() (the timer before its clock starts).
    virtual void setComputeDtype(torch::ScalarType dtype) = 0;
    /// The dtype of the first floating-point parameter or buffer (kFloat when there is none).
    torch::ScalarType computeDtype() const;

    /// A deep, independent copy (teacher for distillation, lottery-ticket rewinding, NAS).
    virtual std::unique_ptr<Model> clone(QString *error) const = 0;

    /// The architecture spec, or null for models without one (TorchScript).
    virtual const ArchSpec *spec() const { return nullptr; }
};

/// The error text for an operation that needs an architecture spec, e.g.
/// specRequiredError("structured pruning", model) -> "structured pruning needs a model built
/// from an architecture spec (a zoo model); 'mynet' is a TorchScript model (...), which it does
/// not support".
QString specRequiredError(const QString &operation, const Model &model);

/// Returns the model's spec, or null with *error = specRequiredError(operation, model).
const ArchSpec *requireSpec(const Model &model, const QString &operation, QString *error);

/// The message of an exception caught at the engine boundary: for a c10::Error only its
/// message, without the C++ backtrace libtorch appends.
QString exceptionText(const std::exception &e);

/// Number of elements of the parameters (all, and those != 0).
int64_t parameterCount(const Model &model);
int64_t nonZeroParameterCount(const Model &model);

} // namespace jb
