// SPDX-License-Identifier: GPL-3.0-or-later
#include "trainer.h"

#include "data_checks.h"
#include "engine_log.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <numbers>

namespace jb {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Restores the model's train/eval mode on every way out.
class ModeRestorer
{
public:
    explicit ModeRestorer(Model &m) : m_model(m), m_was(m.isTraining()) {}
    ~ModeRestorer() { m_model.setTraining(m_was); }

private:
    Model &m_model;
    bool m_was;
};

bool checkRows(const std::vector<int64_t> &rows, int64_t size, const QString &what, QString *error)
{
    for (int64_t r : rows) {
        if (r < 0 || r >= size) {
            if (error)
                *error = QStringLiteral("%1: row %2 is outside the data set (%3 rows)")
                             .arg(what)
                             .arg(r)
                             .arg(size);
            return false;
        }
    }
    return true;
}

/// Per-epoch loss sum and correct predictions. On the CPU without tensor ops (the loss by
/// item(), predictions by scanning the float logits): half a dozen dispatcher calls per batch
/// are a measurable share of a small model's training step. Elsewhere in tensors on the device,
/// so the loop never waits for the GPU.
class EpochAccumulator
{
public:
    explicit EpochAccumulator(const torch::Device &device) : m_cpu(device.is_cpu())
    {
        if (!m_cpu) {
            m_lossT = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device));
            m_correctT =
                torch::zeros({}, torch::TensorOptions().dtype(torch::kLong).device(device));
        }
    }

    void add(const torch::Tensor &loss, const torch::Tensor &logits, const torch::Tensor &targets,
             int64_t len)
    {
        if (m_cpu && logits.dim() == 2 && logits.scalar_type() == torch::kFloat &&
            logits.is_contiguous() && targets.scalar_type() == torch::kLong &&
            targets.is_contiguous()) {
            m_lossSum += loss.item<double>() * static_cast<double>(len);
            const float *l = logits.data_ptr<float>();
            const int64_t *t = targets.data_ptr<int64_t>();
            const int64_t n = logits.size(0), k = logits.size(1);
            for (int64_t i = 0; i < n; ++i, l += k) {
                int64_t best = 0;
                for (int64_t j = 1; j < k; ++j) {
                    if (l[j] > l[best])
                        best = j;
                }
                m_correct += best == t[i] ? 1 : 0;
            }
            return;
        }
        if (!m_lossT.defined()) {
            m_lossT = torch::zeros(
                {}, torch::TensorOptions().dtype(torch::kDouble).device(logits.device()));
            m_correctT = torch::zeros(
                {}, torch::TensorOptions().dtype(torch::kLong).device(logits.device()));
        }
        m_lossT += loss.detach() * static_cast<double>(len);
        m_correctT += logits.argmax(1).eq(targets).sum();
    }

    double lossSum() const { return m_lossSum + (m_lossT.defined() ? m_lossT.item<double>() : 0); }
    int64_t correct() const
    {
        return m_correct + (m_correctT.defined() ? m_correctT.item<int64_t>() : 0);
    }

private:
    bool m_cpu;
    double m_lossSum = 0;
    int64_t m_correct = 0;
    torch::Tensor m_lossT, m_correctT;
};

} // namespace

bool TrainOptions::validate(QString *error) const
{
    auto fail = [error](const QString &m) {
        if (error)
            *error = QStringLiteral("training options: ") + m;
        return false;
    };
    if (epochs < 1)
        return fail(QStringLiteral("epochs must be >= 1, got %1").arg(epochs));
    if (batchSize < 1)
        return fail(QStringLiteral("batch size must be >= 1, got %1").arg(batchSize));
    if (!(learningRate > 0) || !std::isfinite(learningRate))
        return fail(QStringLiteral("learning rate must be > 0, got %1").arg(learningRate));
    if (momentum < 0 || momentum >= 1)
        return fail(QStringLiteral("momentum must be in [0, 1), got %1").arg(momentum));
    if (optimizer == OptimizerKind::Sgd && nesterov && momentum <= 0)
        return fail(QStringLiteral("nesterov needs momentum > 0"));
    if (weightDecay < 0)
        return fail(QStringLiteral("weight decay must be >= 0, got %1").arg(weightDecay));
    if (adamBeta1 < 0 || adamBeta1 >= 1 || adamBeta2 < 0 || adamBeta2 >= 1)
        return fail(QStringLiteral("Adam betas must be in [0, 1)"));
    if (schedule == LrSchedule::Step && (stepEpochs < 1 || !(stepGamma > 0)))
        return fail(QStringLiteral("step schedule needs step epochs >= 1 and gamma > 0"));
    if (schedule == LrSchedule::Cosine && (minLearningRate < 0 || minLearningRate > learningRate))
        return fail(QStringLiteral("cosine schedule needs 0 <= minimum learning rate <= learning "
                                   "rate"));
    return true;
}

Trainer::Trainer(TrainOptions options) : m_options(std::move(options)) {}

double Trainer::learningRateAt(int epoch) const
{
    const TrainOptions &o = m_options;
    switch (o.schedule) {
    case LrSchedule::Constant:
        return o.learningRate;
    case LrSchedule::Step:
        return o.learningRate * std::pow(o.stepGamma, epoch / o.stepEpochs);
    case LrSchedule::Cosine:
        return o.minLearningRate + (o.learningRate - o.minLearningRate) *
                                       (1 + std::cos(std::numbers::pi * epoch / o.epochs)) / 2;
    }
    return o.learningRate;
}

std::optional<TrainResult> Trainer::train(Model &model, const Dataset &data, Feedback *feedback,
                                          QString *error)
{
    const TrainOptions &o = m_options;
    if (!o.validate(error))
        return std::nullopt;
    if (!detail::checkDataForModel(model, data, QStringLiteral("training"), error))
        return std::nullopt;
    const int64_t n = data.size();
    if (!o.subset.empty() && !checkRows(o.subset, n, QStringLiteral("training subset"), error))
        return std::nullopt;

    TrainResult result;
    const auto runStart = Clock::now();
    try {
        torch::manual_seed(o.seed);
        at::Generator orderGen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
        model.to(o.device);
        ModeRestorer restoreMode(model);
        model.setTraining(true);

        std::vector<torch::Tensor> params = model.parameters();
        std::unique_ptr<torch::optim::Optimizer> optimizer;
        if (o.optimizer == OptimizerKind::Sgd) {
            optimizer =
                std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(o.learningRate)
                                                                .momentum(o.momentum)
                                                                .nesterov(o.nesterov)
                                                                .weight_decay(o.weightDecay));
        } else {
            optimizer = std::make_unique<torch::optim::Adam>(
                params, torch::optim::AdamOptions(o.learningRate)
                            .betas({o.adamBeta1, o.adamBeta2})
                            .weight_decay(o.weightDecay));
        }

        const torch::Tensor allRows =
            o.subset.empty() ? torch::Tensor()
                             : torch::tensor(o.subset, torch::TensorOptions(torch::kLong));
        const bool onCpu = o.device.is_cpu();
        const torch::ScalarType dtype = model.computeDtype();
        auto lastProgress = Clock::now();
        int64_t step = 0;

        for (int epoch = 0; epoch < o.epochs; ++epoch) {
            const auto epochStart = Clock::now();
            const double lr = learningRateAt(epoch);
            for (auto &group : optimizer->param_groups())
                group.options().set_lr(lr);

            torch::Tensor rows = allRows;
            if (o.epochSubset) {
                const std::vector<int64_t> chosen = o.epochSubset(epoch);
                if (chosen.empty()) {
                    if (error)
                        *error = QStringLiteral("the data selection returned no rows for epoch "
                                                "%1")
                                     .arg(epoch + 1);
                    return std::nullopt;
                }
                if (!checkRows(chosen, n,
                               QStringLiteral("data selection of epoch %1").arg(epoch + 1), error))
                    return std::nullopt;
                rows = torch::tensor(chosen, torch::TensorOptions(torch::kLong));
            }
            const int64_t count = rows.defined() ? rows.size(0) : n;
            torch::Tensor order;
            if (o.shuffle) {
                const torch::Tensor perm =
                    torch::randperm(count, orderGen, torch::TensorOptions(torch::kLong));
                order = rows.defined() ? rows.index_select(0, perm) : perm;
            } else {
                order = rows.defined() ? rows : torch::arange(count, torch::kLong);
            }
            int64_t batches = count / o.batchSize;
            if (!o.dropLast && count % o.batchSize != 0)
                ++batches;
            if (batches == 0) {
                if (error)
                    *error = QStringLiteral("%1 rows make no full batch of %2 (drop-last is on)")
                                 .arg(count)
                                 .arg(o.batchSize);
                return std::nullopt;
            }

            EpochAccumulator figures(o.device);
            int64_t seen = 0;
            for (int64_t b = 0; b < batches; ++b) {
                if (feedback && feedback->isCanceled()) {
                    result.canceled = true;
                    result.samplesSeen += seen;
                    result.steps = step;
                    result.seconds = secondsSince(runStart);
                    return result;
                }
                const int64_t begin = b * o.batchSize;
                const int64_t len = std::min(o.batchSize, count - begin);
                const torch::Tensor idx = order.narrow(0, begin, len);
                torch::Tensor x = data.inputs.index_select(0, idx);
                torch::Tensor y = data.targets.index_select(0, idx);
                if (!onCpu) {
                    x = x.to(o.device, /*non_blocking=*/true);
                    y = y.to(o.device, /*non_blocking=*/true);
                }
                if (x.scalar_type() != dtype)
                    x = x.to(dtype);

                BatchContext ctx{epoch, b, step, x, y, idx, {}, &model};
                ctx.logits = model.forward(x);
                const torch::Tensor loss =
                    o.loss ? o.loss(ctx) : torch::cross_entropy_loss(ctx.logits, y);
                for (torch::Tensor &p : params)
                    p.mutable_grad().reset(); // set_to_none: cheaper than zeroing
                loss.backward();
                optimizer->step();

                {
                    torch::NoGradGuard noGrad;
                    figures.add(loss, ctx.logits, y, len);
                    if (o.afterStep) {
                        ctx.logits = ctx.logits.detach();
                        o.afterStep(ctx);
                    }
                }
                seen += len;
                ++step;
                if (feedback && secondsSince(lastProgress) > 0.2) {
                    lastProgress = Clock::now();
                    feedback->setProgress((epoch + static_cast<double>(b + 1) / batches) / o.epochs,
                                          QStringLiteral("%1: epoch %2/%3, batch %4/%5")
                                              .arg(o.label)
                                              .arg(epoch + 1)
                                              .arg(o.epochs)
                                              .arg(b + 1)
                                              .arg(batches));
                }
            }

            EpochStats stats;
            stats.epoch = epoch + 1;
            stats.epochs = o.epochs;
            stats.loss = figures.lossSum() / static_cast<double>(seen);
            stats.accuracy = static_cast<double>(figures.correct()) / static_cast<double>(seen);
            stats.seconds = secondsSince(epochStart);
            stats.learningRate = lr;
            stats.samples = seen;
            stats.batches = batches;
            result.samplesSeen += seen;
            result.steps = step;
            result.epochs.push_back(stats);
            if (!std::isfinite(stats.loss)) {
                if (error)
                    *error = QStringLiteral("training of '%1' diverged: the loss is %2 in epoch "
                                            "%3; lower the learning rate")
                                 .arg(model.name())
                                 .arg(stats.loss)
                                 .arg(epoch + 1);
                return std::nullopt;
            }
            const QString line = QStringLiteral("%1: epoch %2/%3 loss %4 accuracy %5 (%6 s, lr %7)")
                                     .arg(o.label)
                                     .arg(epoch + 1)
                                     .arg(o.epochs)
                                     .arg(stats.loss, 0, 'f', 4)
                                     .arg(stats.accuracy, 0, 'f', 4)
                                     .arg(stats.seconds, 0, 'f', 1)
                                     .arg(lr, 0, 'g', 3);
            if (!feedback)
                qCDebug(lcEngine).noquote() << line;
            if (feedback) {
                feedback->log(line);
                feedback->setProgress(
                    static_cast<double>(epoch + 1) / o.epochs,
                    QStringLiteral("%1: epoch %2/%3").arg(o.label).arg(epoch + 1).arg(o.epochs));
            }
            if (o.onEpoch && !o.onEpoch(stats)) {
                result.stoppedEarly = true;
                break;
            }
        }
    } catch (const std::exception &e) {
        if (error)
            *error = QStringLiteral("training '%1' failed: %2").arg(model.name(), exceptionText(e));
        return std::nullopt;
    }
    result.seconds = secondsSince(runStart);
    return result;
}

} // namespace jb
