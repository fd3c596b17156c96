// SPDX-License-Identifier: GPL-3.0-or-later
#include "evaluator.h"

#include "data_checks.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

namespace jb {

Evaluator::Evaluator(EvalOptions options) : m_options(std::move(options)) {}

void Evaluator::reset(int64_t numClasses)
{
    const int bins = std::max(1, m_options.calibrationBins);
    m_numClasses = numClasses;
    m_samples = m_top1 = m_top5 = 0;
    m_lossSum = 0;
    m_confusion = torch::zeros({numClasses * numClasses}, torch::kLong);
    m_binCount = torch::zeros({bins}, torch::kLong);
    m_binConf = torch::zeros({bins}, torch::kDouble);
    m_binCorrect = torch::zeros({bins}, torch::kLong);
}

void Evaluator::add(const torch::Tensor &logitsIn, const torch::Tensor &targetsIn)
{
    torch::NoGradGuard noGrad;
    const torch::Tensor logits = logitsIn.detach().to(torch::kCPU, torch::kFloat);
    const torch::Tensor targets = targetsIn.to(torch::kCPU, torch::kLong);
    const int64_t k = m_numClasses;
    TORCH_CHECK(logits.dim() == 2 && logits.size(1) == k, "logits must be [N, ", k, "], got ",
                logits.sizes());
    TORCH_CHECK(targets.dim() == 1 && targets.size(0) == logits.size(0),
                "targets must be [N] with N = ", logits.size(0));
    const int64_t n = logits.size(0);
    if (n == 0)
        return;
    TORCH_CHECK(targets.min().item<int64_t>() >= 0 && targets.max().item<int64_t>() < k,
                "targets must be class indices in [0, ", k, ")");

    const torch::Tensor logProbs = torch::log_softmax(logits.to(torch::kDouble), 1);
    m_lossSum += -logProbs.gather(1, targets.unsqueeze(1)).sum().item<double>();
    const auto [conf, pred] = logProbs.exp().max(1);
    const torch::Tensor hit = pred.eq(targets);
    m_top1 += hit.sum().item<int64_t>();
    if (k > 5) {
        const torch::Tensor top5 = std::get<1>(logits.topk(5, 1));
        m_top5 += top5.eq(targets.unsqueeze(1)).any(1).sum().item<int64_t>();
    }
    m_confusion += torch::bincount(targets * k + pred, {}, k * k);

    // Bin m (0-based) holds confidences in (m/B, (m+1)/B]: index ceil(c x B) - 1, clamped.
    const int64_t bins = m_binCount.size(0);
    const torch::Tensor bin =
        (conf * static_cast<double>(bins)).ceil().sub(1).clamp(0, bins - 1).to(torch::kLong);
    m_binCount += torch::bincount(bin, {}, bins);
    m_binConf += torch::bincount(bin, conf, bins);
    m_binCorrect += torch::bincount(bin, hit.to(torch::kDouble), bins).round().to(torch::kLong);
    m_samples += n;
}

EvalResult Evaluator::result() const
{
    EvalResult r;
    r.samples = m_samples;
    r.numClasses = m_numClasses;
    const double n = static_cast<double>(std::max<int64_t>(1, m_samples));
    r.top1 = static_cast<double>(m_top1) / n;
    if (m_numClasses > 5)
        r.top5 = static_cast<double>(m_top5) / n;
    r.loss = m_lossSum / n;
    if (m_confusion.defined()) {
        const int64_t *c = m_confusion.data_ptr<int64_t>();
        r.confusion.assign(c, c + m_confusion.numel());
        const int64_t bins = m_binCount.size(0);
        const int64_t *count = m_binCount.data_ptr<int64_t>();
        const double *confSum = m_binConf.data_ptr<double>();
        const int64_t *correct = m_binCorrect.data_ptr<int64_t>();
        for (int64_t b = 0; b < bins; ++b) {
            CalibrationBin bin;
            bin.lower = static_cast<double>(b) / static_cast<double>(bins);
            bin.upper = static_cast<double>(b + 1) / static_cast<double>(bins);
            bin.count = count[b];
            if (bin.count > 0) {
                bin.meanConfidence = confSum[b] / static_cast<double>(bin.count);
                bin.accuracy = static_cast<double>(correct[b]) / static_cast<double>(bin.count);
                r.ece += static_cast<double>(bin.count) / n *
                         std::abs(bin.accuracy - bin.meanConfidence);
            }
            r.calibration.push_back(bin);
        }
    }
    return r;
}

EvalResult Evaluator::fromLogits(const torch::Tensor &logits, const torch::Tensor &targets,
                                 int calibrationBins)
{
    EvalOptions o;
    o.calibrationBins = calibrationBins;
    Evaluator e(o);
    e.reset(logits.size(1));
    e.add(logits, targets);
    return e.result();
}

std::optional<EvalResult> Evaluator::evaluate(Model &model, const Dataset &data, Feedback *feedback,
                                              QString *error)
{
    const auto t0 = std::chrono::steady_clock::now();
    const EvalOptions &o = m_options;
    if (o.batchSize < 1 || o.calibrationBins < 1) {
        if (error)
            *error = QStringLiteral("evaluation options: batch size and calibration bins must be "
                                    ">= 1");
        return std::nullopt;
    }
    if (!detail::checkDataForModel(model, data, QStringLiteral("evaluation"), error))
        return std::nullopt;
    const int64_t n = data.size();
    if (data.numClasses > 0 && data.numClasses != model.numClasses()) {
        if (error)
            *error = QStringLiteral("model '%1' has %2 classes, data set '%3' has %4")
                         .arg(model.name())
                         .arg(model.numClasses())
                         .arg(data.name)
                         .arg(data.numClasses);
        return std::nullopt;
    }
    for (int64_t r : o.subset) {
        if (r < 0 || r >= n) {
            if (error)
                *error = QStringLiteral("evaluation subset: row %1 is outside data set '%2' (%3 "
                                        "rows)")
                             .arg(r)
                             .arg(data.name)
                             .arg(n);
            return std::nullopt;
        }
    }
    const bool wasTraining = model.isTraining();
    const torch::Device wasOn = model.device();
    EvalResult res;
    try {
        reset(model.numClasses());
        model.to(o.device);
        model.setTraining(false);
        const torch::ScalarType dtype = model.computeDtype();
        c10::InferenceMode inference;
        const torch::Tensor rows =
            o.subset.empty() ? torch::Tensor() : torch::tensor(o.subset, torch::kLong);
        const int64_t count = rows.defined() ? rows.size(0) : n;
        const int64_t batches = (count + o.batchSize - 1) / o.batchSize;
        bool canceled = false;
        for (int64_t b = 0; b < batches; ++b) {
            if (feedback && feedback->isCanceled()) {
                canceled = true;
                break;
            }
            const int64_t begin = b * o.batchSize;
            const int64_t len = std::min(o.batchSize, count - begin);
            torch::Tensor x, y;
            if (rows.defined()) {
                const torch::Tensor idx = rows.narrow(0, begin, len);
                x = data.inputs.index_select(0, idx);
                y = data.targets.index_select(0, idx);
            } else {
                x = data.inputs.narrow(0, begin, len);
                y = data.targets.narrow(0, begin, len);
            }
            add(model.forward(x.to(o.device, dtype)), y);
            if (feedback && (b % 16 == 15 || b + 1 == batches))
                feedback->setProgress(
                    static_cast<double>(b + 1) / batches,
                    QStringLiteral("evaluating: batch %1/%2").arg(b + 1).arg(batches));
        }
        res = result();
        res.canceled = canceled;
    } catch (const std::exception &e) {
        model.setTraining(wasTraining);
        if (error)
            *error = QStringLiteral("evaluating '%1' on '%2' failed: %3")
                         .arg(model.name(), data.name, exceptionText(e));
        return std::nullopt;
    }
    model.setTraining(wasTraining);
    model.to(wasOn);
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

} // namespace jb
