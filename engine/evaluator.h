// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "dataset.h"
#include "feedback.h"
#include "model.h"

#include <torch/types.h>

#include <optional>
#include <vector>

namespace jb {

/// One equal-width confidence bin of the calibration histogram: samples whose top-1 softmax
/// probability lies in (lower, upper] (the first bin also takes 0).
struct CalibrationBin
{
    double lower = 0;
    double upper = 0;
    int64_t count = 0;
    double meanConfidence = 0; ///< 0 when empty
    double accuracy = 0;       ///< 0 when empty
};

/// Classification quality of a model on a labelled split.
struct EvalResult
{
    int64_t samples = 0;
    int64_t numClasses = 0;
    double top1 = 0;            ///< fraction in [0, 1]
    std::optional<double> top5; ///< only when numClasses > 5
    double loss = 0;            ///< mean cross-entropy (natural log) per sample
    /// Expected calibration error (Guo et al. 2017): sum over bins of count/N x
    /// |accuracy - mean confidence|, with `calibration.size()` equal-width bins.
    double ece = 0;
    std::vector<CalibrationBin> calibration;
    /// Row-major [true class][predicted class] counts, numClasses x numClasses.
    std::vector<int64_t> confusion;
    double seconds = 0;
    bool canceled = false; ///< stopped early: figures cover the samples seen so far

    int64_t confusionAt(int64_t trueClass, int64_t predicted) const
    {
        return confusion[static_cast<size_t>(trueClass * numClasses + predicted)];
    }
};

struct EvalOptions
{
    int64_t batchSize = 256;
    int calibrationBins = 15;
    torch::Device device = torch::kCPU;
    std::vector<int64_t> subset; ///< rows to evaluate (empty = all)
};

/// Evaluates a model (eval mode, no grad) on a data set, or figures from logits you already
/// have. Batches go through in order; results do not depend on the batch size beyond float
/// rounding.
///
/// Threads: evaluate() runs on the calling thread and blocks; the Feedback may be cancelled
/// from any thread. Accumulation (add/result) is not thread-safe.
class Evaluator
{
public:
    explicit Evaluator(EvalOptions options = {});

    /// Evaluates `model` on `data`; the model's mode and device are restored afterwards.
    std::optional<EvalResult> evaluate(Model &model, const Dataset &data, Feedback *feedback,
                                       QString *error);

    /// Incremental use: reset(), add() each batch of logits [N, K] and targets [N], result().
    void reset(int64_t numClasses);
    void add(const torch::Tensor &logits, const torch::Tensor &targets);
    EvalResult result() const;

    /// One-shot figures of a batch of logits (tests, plugins that compute logits themselves).
    static EvalResult fromLogits(const torch::Tensor &logits, const torch::Tensor &targets,
                                 int calibrationBins = 15);

private:
    EvalOptions m_options;
    int64_t m_numClasses = 0;
    int64_t m_samples = 0;
    int64_t m_top1 = 0;
    int64_t m_top5 = 0;
    double m_lossSum = 0;
    torch::Tensor m_confusion;  // int64 [K*K]
    torch::Tensor m_binCount;   // int64 [B]
    torch::Tensor m_binConf;    // double [B]
    torch::Tensor m_binCorrect; // int64 [B]
};

} // namespace jb
