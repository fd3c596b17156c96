// SPDX-License-Identifier: GPL-3.0-or-later
// The training side shared by the data-selection plugins: per-sample scoring passes over the
// training split, the cost sub-phases inside `train`, the per-epoch subset log and the metrics
// every data-selection run stores.
#pragma once

#include "engine/technique.h"

#include <QElapsedTimer>
#include <QString>

#include <cstdint>
#include <optional>
#include <vector>

namespace jb::data {

/// What a scoring pass computes per training row.
enum class ScoreKind {
    El2n,  ///< || softmax - onehot ||_2 (Paul et al. 2021)
    Grand, ///< || d loss / d parameters ||_2 of the row alone, over all trainable parameters
    Loss,  ///< cross-entropy of the row
};

/// One score per row of `data`, with the model in eval mode (batch-norm running statistics,
/// no dropout) and no gradient except for Grand, which needs one backward pass per row (the
/// costly option). The model's mode is restored. Returns nullopt with *error on a libtorch
/// error or cancellation ("cancelled"). Runs on the calling (training) thread.
std::optional<std::vector<double>> scoreRows(Model &model, const Dataset &data, ScoreKind kind,
                                             int64_t batchSize, Feedback *feedback, QString *error);

/// Bookkeeping of one data-selection training run.
///
/// Phases: the runner measures everything train() does as the `train` phase. Scoring passes
/// are bracketed with beginScoring()/endScoring(), which start the sub-phases "train:score"
/// and "train:fit" (the runner keeps "train:" names inside `train` and sums the parts into the
/// `train` record, see docs/techniques/data-selection.md).
///
/// Metrics stored with the run (phase "train"): samples_seen (rows trained on, all epochs),
/// fraction_seen (samples_seen / (epochs x training rows), 1.0 for full-data training),
/// distinct_fraction (rows used at least once / training rows), scoring_seconds (wall time
/// of the scoring sub-phases, 0 without scoring), scoring_samples (rows scored, all passes).
///
/// Threads: the runner's worker thread (the one in Technique::train()).
class SelectionRun
{
public:
    SelectionRun(TechniqueContext &context, QString technique);

    int64_t trainRows() const { return m_rows; }

    void beginScoring();
    void endScoring(int64_t rowsScored);

    /// Logs "epoch e/E: k of N rows (r %)" with the rows and remembers them for the metrics.
    void recordEpoch(int epoch, int epochs, const std::vector<int64_t> &rows);

    /// Trains context.model on context.data->train with `options` (context.training plus the
    /// technique's subset, epochSubset and hooks). `selectionError` is set by an epochSubset
    /// callback that failed (it then returns no rows) and replaces the trainer's message.
    bool train(const TrainOptions &options, const QString &selectionError, QString *error);

    /// Stores the metrics listed above.
    void finish();

    double scoringSeconds() const { return m_scoringSeconds; }

private:
    TechniqueContext &m_context;
    QString m_technique;
    int64_t m_rows = 0;
    int64_t m_samplesSeen = 0;
    int64_t m_scored = 0;
    int m_epochs = 0;
    double m_scoringSeconds = 0;
    QElapsedTimer m_scoring;
    std::vector<uint8_t> m_used;
};

/// Base of the data-selection techniques: they replace the runner's training (trainsModel())
/// and keep the model they trained (apply() does nothing). Runs on the runner's worker thread.
class SelectionTechnique : public Technique
{
public:
    bool trainsModel() const override { return true; }
    bool apply(TechniqueContext &context, QString *error) override;

protected:
    /// False with *error naming `technique` when the context has no model or training data.
    static bool checkContext(const TechniqueContext &context, const QString &technique,
                             QString *error);
    /// score_run "same": the scoring epochs must leave epochs to train on the subset.
    static bool checkScoreEpochs(int scoreEpochs, int epochs, QString *error);
};

/// The model of scoring run `index` (0-based) that starts from fresh weights: run 0 is a copy
/// of context.model (the run's initial weights); run i > 0 is the same architecture
/// initialised with seed context.seed + 1000 x i (models built from a spec), or a copy of the
/// initial weights again for TorchScript models (then only the batch order differs, and
/// *note says so). Returns nullptr with *error on failure.
std::unique_ptr<Model> scoringModel(const TechniqueContext &context, int index, QString *note,
                                    QString *error);

/// The trainer options of a data-selection run: context.training with the label set.
TrainOptions selectionTrainOptions(const TechniqueContext &context, const QString &label);

} // namespace jb::data
