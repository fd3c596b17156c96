// SPDX-License-Identifier: GPL-3.0-or-later
#include "inference_timer.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace jb {

InferenceTimer::InferenceTimer(InferenceOptions options) : m_options(std::move(options)) {}

double InferenceTimer::percentile(std::vector<double> values, double q)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const double pos = std::clamp(q, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
}

std::optional<InferenceResult> InferenceTimer::run(Model &model, const Dataset *data,
                                                   Feedback *feedback, QString *error)
{
    using Clock = std::chrono::steady_clock;
    const InferenceOptions &o = m_options;
    if (o.batchSize < 1 || o.warmupBatches < 0 || o.timedBatches < 1) {
        if (error)
            *error = QStringLiteral("inference timing options: batch size and timed batches must "
                                    "be >= 1, warm-up batches >= 0");
        return std::nullopt;
    }
    if (data && data->size() > 0 && data->sampleShape() != model.inputShape()) {
        if (error)
            *error = QStringLiteral("model '%1' expects samples %2, data set '%3' has %4")
                         .arg(model.name(), shapeToString(model.inputShape()), data->name,
                              shapeToString(data->sampleShape()));
        return std::nullopt;
    }
    const bool wasTraining = model.isTraining();
    InferenceResult res;
    res.batchSize = o.batchSize;
    try {
        model.to(o.device);
        model.setTraining(false);
        const bool cuda = o.device.is_cuda();
        const torch::ScalarType dtype = model.computeDtype();

        // Inputs prepared up front: up to 8 distinct batches of real data, reused round-robin.
        std::vector<torch::Tensor> inputs;
        const int64_t n = data ? data->size() : 0;
        if (n > 0) {
            const int64_t distinct = std::max<int64_t>(1, std::min<int64_t>(8, n / o.batchSize));
            for (int64_t i = 0; i < distinct; ++i) {
                const torch::Tensor rows =
                    torch::arange(i * o.batchSize, (i + 1) * o.batchSize, torch::kLong)
                        .remainder(n);
                inputs.push_back(
                    data->inputs.index_select(0, rows).to(o.device, dtype).contiguous());
            }
        } else {
            std::vector<int64_t> shape = model.inputShape();
            shape.insert(shape.begin(), o.batchSize);
            inputs.push_back(torch::randn(shape).to(o.device, dtype));
        }

        c10::InferenceMode inference;
        for (int i = 0; i < o.warmupBatches; ++i) {
            if (feedback && feedback->isCanceled()) {
                res.canceled = true;
                break;
            }
            model.forward(inputs[static_cast<size_t>(i) % inputs.size()]);
        }
        if (cuda)
            torch::cuda::synchronize();
        const auto loopStart = Clock::now();
        for (int i = 0; i < o.timedBatches && !res.canceled; ++i) {
            if (feedback && feedback->isCanceled()) {
                res.canceled = true;
                break;
            }
            const auto t0 = Clock::now();
            model.forward(inputs[static_cast<size_t>(i) % inputs.size()]);
            if (cuda)
                torch::cuda::synchronize();
            res.latenciesMs.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            if (feedback && (i % 10 == 9 || i + 1 == o.timedBatches))
                feedback->setProgress(
                    static_cast<double>(i + 1) / o.timedBatches,
                    QStringLiteral("timing inference: batch %1/%2").arg(i + 1).arg(o.timedBatches));
        }
        res.totalSeconds = std::chrono::duration<double>(Clock::now() - loopStart).count();
    } catch (const std::exception &e) {
        model.setTraining(wasTraining);
        if (error)
            *error = QStringLiteral("timing inference of '%1' failed: %2")
                         .arg(model.name(), exceptionText(e));
        return std::nullopt;
    }
    model.setTraining(wasTraining);

    res.batches = static_cast<int>(res.latenciesMs.size());
    if (res.batches > 0) {
        double sum = 0;
        for (double v : res.latenciesMs)
            sum += v;
        res.meanMs = sum / res.batches;
        res.minMs = *std::min_element(res.latenciesMs.begin(), res.latenciesMs.end());
        res.maxMs = *std::max_element(res.latenciesMs.begin(), res.latenciesMs.end());
        res.p50Ms = percentile(res.latenciesMs, 50);
        res.p95Ms = percentile(res.latenciesMs, 95);
        res.p99Ms = percentile(res.latenciesMs, 99);
        if (res.totalSeconds > 0)
            res.throughput = static_cast<double>(o.batchSize) * res.batches / res.totalSeconds;
    }
    return res;
}

} // namespace jb
