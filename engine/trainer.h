// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "dataset.h"
#include "feedback.h"
#include "model.h"

#include <QString>

#include <torch/types.h>

#include <functional>
#include <optional>
#include <vector>

namespace jb {

enum class OptimizerKind { Sgd, Adam };
enum class LrSchedule {
    Constant, ///< learningRate throughout
    Step,     ///< learningRate x stepGamma^floor(epoch / stepEpochs)
    Cosine,   ///< minLearningRate + (learningRate - min) x (1 + cos(pi x epoch / epochs)) / 2
};

/// What the per-batch hooks see. The tensors are on the training device; `indices` are the
/// rows of the data set (int64, CPU) that make up the batch. `logits` is the model output of
/// this batch (with grad inside the loss hook, detached in afterStep).
struct BatchContext
{
    int epoch = 0;     ///< 0-based
    int64_t batch = 0; ///< 0-based within the epoch
    int64_t step = 0;  ///< 0-based over the whole run
    torch::Tensor inputs;
    torch::Tensor targets;
    torch::Tensor indices;
    torch::Tensor logits;
    Model *model = nullptr;
};

/// Figures of one finished epoch, measured on the batches as trained (train-mode forward).
struct EpochStats
{
    int epoch = 0; ///< 1-based
    int epochs = 0;
    double loss = 0;         ///< mean loss per sample (what the loss hook returned, if set)
    double accuracy = 0;     ///< top-1 on the training batches
    double seconds = 0;      ///< wall time of the epoch
    double learningRate = 0; ///< used in this epoch
    int64_t samples = 0;
    int64_t batches = 0;
};

/// How to train. Plain value; hooks run on the training thread.
struct TrainOptions
{
    int epochs = 5;
    int64_t batchSize = 64;
    bool shuffle = true;
    bool dropLast = false; ///< drop a last batch smaller than batchSize

    OptimizerKind optimizer = OptimizerKind::Adam;
    double learningRate = 1e-3;
    double momentum = 0.9;  ///< SGD
    bool nesterov = false;  ///< SGD (needs momentum > 0)
    double weightDecay = 0; ///< L2 penalty as in torch.optim (coupled, also for Adam)
    double adamBeta1 = 0.9;
    double adamBeta2 = 0.999;

    LrSchedule schedule = LrSchedule::Constant;
    int stepEpochs = 1;         ///< Step: decay every this many epochs
    double stepGamma = 0.1;     ///< Step: factor per decay
    double minLearningRate = 0; ///< Cosine: value reached after the last epoch

    /// Reproducibility: torch::manual_seed(seed) at start (dropout, hook randomness) and a
    /// generator of its own for the batch order. Same seed, data, model weights, thread count
    /// and device -> identical weights.
    uint64_t seed = 0;

    torch::Device device = torch::kCPU; ///< the model is moved there; batches follow

    /// Data selection: train on these rows only (empty = all rows).
    std::vector<int64_t> subset;
    /// Data selection that changes per epoch (adaptive): called at the start of each epoch
    /// (0-based), returns the rows to train on; overrides `subset` when set. An empty result
    /// is an error.
    std::function<std::vector<int64_t>(int epoch)> epochSubset;

    /// Custom loss (distillation, selective backprop): returns the scalar loss to minimise,
    /// the MEAN over the batch. Default: cross-entropy of logits and targets.
    std::function<torch::Tensor(const BatchContext &)> loss;
    /// Called after every optimizer.step(), under torch::NoGradGuard (pruning re-applies its
    /// masks here).
    std::function<void(const BatchContext &)> afterStep;
    /// Called after every epoch; return false to stop training (early stopping).
    std::function<bool(const EpochStats &)> onEpoch;

    /// Prefix of progress texts ("fine-tuning: epoch 2/5").
    QString label = QStringLiteral("training");

    /// Checks ranges and combinations; the message names the option.
    bool validate(QString *error) const;
};

struct TrainResult
{
    std::vector<EpochStats> epochs; ///< finished epochs
    bool canceled = false;          ///< Feedback::cancel() stopped it (model partly trained)
    bool stoppedEarly = false;      ///< onEpoch returned false
    double seconds = 0;
    int64_t samplesSeen = 0;
    int64_t steps = 0;
};

/// Supervised training of a Model on an in-memory Dataset: mini-batch SGD or Adam with a
/// learning-rate schedule, per-batch cancellation and progress through one Feedback.
///
/// Threads: train() runs on the calling (worker) thread and blocks; the Feedback may be
/// cancelled from any thread. One Trainer per training run.
class Trainer
{
public:
    explicit Trainer(TrainOptions options);

    const TrainOptions &options() const { return m_options; }

    /// Trains in place. Returns nullopt with *error on invalid options or data, a libtorch
    /// error, or a non-finite loss (divergence). A cancelled run is a result with canceled set.
    /// The model's train/eval mode is restored afterwards.
    std::optional<TrainResult> train(Model &model, const Dataset &data, Feedback *feedback,
                                     QString *error);

    /// The learning rate of an epoch (0-based) under the options' schedule.
    double learningRateAt(int epoch) const;

private:
    TrainOptions m_options;
};

} // namespace jb
