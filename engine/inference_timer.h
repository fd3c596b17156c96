// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "dataset.h"
#include "feedback.h"
#include "model.h"

#include <torch/types.h>

#include <optional>
#include <vector>

namespace jb {

struct InferenceOptions
{
    int64_t batchSize = 64;
    int warmupBatches = 5; ///< run, not timed (allocator, lazy init, caches)
    int timedBatches = 50;
    torch::Device device = torch::kCPU;
};

/// Latency of single forward passes of a fixed batch size, and throughput.
struct InferenceResult
{
    int64_t batchSize = 0;
    int batches = 0;                 ///< timed batches completed
    std::vector<double> latenciesMs; ///< per timed batch, in run order
    double meanMs = 0;
    double minMs = 0;
    double maxMs = 0;
    /// Percentiles with linear interpolation between closest ranks (numpy's default).
    double p50Ms = 0;
    double p95Ms = 0;
    double p99Ms = 0;
    /// batchSize x batches / wall time of the timed loop (samples per second).
    double throughput = 0;
    double totalSeconds = 0; ///< wall time of the timed loop
    bool canceled = false;
};

/// Times inference: warm-up batches, then N timed batches, each a forward pass of a fixed
/// batch under c10::InferenceMode in eval mode (CUDA work is synchronised before a batch's
/// clock stops). Inputs are real samples of the data set (consecutive batches, wrapping
/// around), sliced before timing so the clock only sees forward().
///
/// Threads: run() blocks the calling thread; the Feedback may be cancelled from any thread.
class InferenceTimer
{
public:
    explicit InferenceTimer(InferenceOptions options = {});

    /// `data` may be null: then inputs are standard-normal noise of the model's input shape.
    std::optional<InferenceResult> run(Model &model, const Dataset *data, Feedback *feedback,
                                       QString *error);

    /// Percentile q in [0, 100] of `values` (linear interpolation; 0 for no values).
    static double percentile(std::vector<double> values, double q);

private:
    InferenceOptions m_options;
};

} // namespace jb
