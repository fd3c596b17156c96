// SPDX-License-Identifier: GPL-3.0-or-later
// Shared code of the data-selection plugins (data.random, data.el2n, data.forgetting,
// data.loss_adaptive): subset sizes and ratio schedules, seeded random and class-stratified
// draws, top-k and score-bin-stratified selection, EL2N scores and forgetting-event counts.
// Pure functions of their inputs (no model, no runner): unit-testable on hand-made examples.
#pragma once

#include <QJsonObject>
#include <QString>

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace jb::data {

/// The fraction of the training rows used per epoch: constant, or falling linearly from
/// `start` (first epoch) to `end` (last epoch).
struct RatioSchedule
{
    enum class Kind { Constant, Linear };
    Kind kind = Kind::Constant;
    double start = 1.0;
    double end = 1.0; ///< Linear only

    /// Reads the parameters "ratio", "ratio_schedule" ("constant" | "linear") and "ratio_end"
    /// (validated by the plugin's schema). A linear schedule whose end exceeds its start is an
    /// error naming params.ratio_end.
    static std::optional<RatioSchedule> fromParams(const QJsonObject &params, QString *error);

    /// The ratio of a 0-based epoch of `epochs` (Linear: start at epoch 0, end at the last).
    double at(int epoch, int epochs) const;
};

/// Rows kept out of `n` at `ratio`: round(n x ratio), at least 1, at most n.
int64_t subsetCount(int64_t n, double ratio);

/// `count` distinct rows of [0, n), uniformly at random, sorted ascending. Same seed, same rows.
std::vector<int64_t> randomRows(int64_t n, int64_t count, uint64_t seed);

/// `count` rows drawn per class so that each class keeps its share of `targets` (int64 [N]):
/// class c gets floor(count x n_c / n) rows, the remainder going to the largest fractional
/// parts (ties: lower class); within a class the rows are random. Sorted ascending.
std::vector<int64_t> stratifiedRandomRows(const torch::Tensor &targets, int64_t count,
                                          uint64_t seed);

/// The `count` rows with the highest score (ties: lower row first), sorted ascending.
std::vector<int64_t> hardestRows(const std::vector<double> &scores, int64_t count);

/// Coverage-centric selection (Zheng et al., ICLR 2023): the score range is cut into `bins`
/// equal-width bins and the budget `count` is shared evenly over them, a bin with fewer rows
/// than its share giving the rest to the others; rows within a bin are random. Keeps easy,
/// medium and hard examples. Sorted ascending.
std::vector<int64_t> binStratifiedRows(const std::vector<double> &scores, int64_t count, int bins,
                                       uint64_t seed);

/// EL2N (Paul et al., NeurIPS 2021): || softmax(logits) - onehot(target) ||_2 per row.
/// logits [N, C] (any float dtype), targets int64 [N] -> double [N] on the CPU.
torch::Tensor el2nScores(const torch::Tensor &logits, const torch::Tensor &targets);

/// Forgetting events (Toneva et al., ICLR 2019) counted over the presentations of each row: a
/// forgetting event is a presentation where a row that was classified correctly at its
/// previous presentation is now misclassified.
///
/// Threads: used by one thread (the training thread, in TrainOptions::afterStep).
class ForgettingCounter
{
public:
    explicit ForgettingCounter(int64_t rows);

    /// One presentation of `rows` (int64 [B]) with `correct` (bool [B]): whether the model
    /// classified each one correctly in this training step.
    void record(const torch::Tensor &rows, const torch::Tensor &correct);

    int64_t events(int64_t row) const { return m_events.at(size_t(row)); }
    bool learned(int64_t row) const { return m_learned.at(size_t(row)) != 0; }
    int64_t presentations(int64_t row) const { return m_presented.at(size_t(row)); }
    int64_t size() const { return int64_t(m_events.size()); }

    /// The selection score per row: its forgetting events; a row never classified correctly
    /// (or never presented) counts as forgotten more often than any other row (max + 1).
    std::vector<double> scores() const;
    /// Rows learned at least once and never forgotten ("unforgettable").
    int64_t unforgettable() const;
    int64_t neverLearned() const;

private:
    std::vector<int64_t> m_events;
    std::vector<int64_t> m_presented;
    std::vector<uint8_t> m_learned; ///< classified correctly at least once
    std::vector<uint8_t> m_last;    ///< correct at the previous presentation
};

} // namespace jb::data
