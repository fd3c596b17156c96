// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "search_space.h"

#include "engine/technique.h"

#include <QJsonObject>
#include <QString>

#include <optional>
#include <vector>

namespace jb::nas {

enum class Strategy { Random, Evolution };

/// The parameters shared by nas.random and nas.evolution (their metadata JSON documents each).
struct SearchOptions
{
    Strategy strategy = Strategy::Random;
    SearchSpace::Options space; ///< inputShape / numClasses are taken from the data at run time
    int candidates = 8;         ///< search budget: candidates proposed (trained unless repeated)
    int population = 4;         ///< evolution: population size P
    int sampleSize = 2;         ///< evolution: tournament sample size S
    int epochsPerCandidate = 1; ///< short training of each candidate
    int64_t trainSubset = 4096; ///< training rows per candidate (seeded draw, the same for all); 0 = all
    int64_t validationSubset = 0; ///< validation rows scored per candidate; 0 = all
    int64_t energyBatchSize = 64; ///< the measured inference workload: batches of this size
    int energyBatches = 50;       ///< ... this many, after 2 warm-up batches
    QString objective = QStringLiteral("weighted"); ///< weighted | accuracy_under_budget
    double lambda = 0.1;          ///< weighted: accuracy - lambda x cost / reference cost
    QString budgetMetric = QStringLiteral("macs"); ///< params | macs | energy
    double budget = 0; ///< accuracy_under_budget: the limit (per inference for energy); 0 = none
    int finalEpochs = 0; ///< training of the winner; 0 = the plan's training epochs

    /// Reads the validated plugin parameters (every default filled); the message names the
    /// parameter.
    static std::optional<SearchOptions> fromParams(const QJsonObject &params, Strategy strategy,
                                                   QString *error);
};

/// The figures of one candidate (or of the reference model) that the objective needs.
struct Figures
{
    double accuracy = 0; ///< validation top-1
    double params = 0;
    std::optional<double> macs;    ///< per sample; absent for TorchScript models
    std::optional<double> energyJ; ///< gross joules per inference; absent when not measured
};

/// The objective, larger is better. weighted: accuracy - lambda x cost / reference cost, where
/// the cost is energy per inference when `useEnergy`, else MACs. accuracy_under_budget: the
/// accuracy when the budget figure is within `budget` (or no budget), else -(figure / budget),
/// which ranks every over-budget candidate below every one within it. nullopt with *error when
/// a figure the objective needs is absent.
std::optional<double> objectiveValue(const SearchOptions &options, const Figures &candidate,
                                     const Figures &reference, bool useEnergy, QString *error);

/// Runs a whole search (technique apply()): context.beginPhase("prepare:search"), the
/// reference figures of context.model (the trained baseline), `options.candidates` candidates
/// each short-trained on the training subset, scored on the VALIDATION split and their
/// inference energy measured with context.measureEnergy (absent when the context has none);
/// the Pareto front and every candidate logged as JSON; then beginPhase("prepare:final_train")
/// and the best candidate retrained from scratch, which replaces context.model.
///
/// Threads: the runner's worker thread (the one calling apply()). Deterministic for a seed
/// (context.seed), except the energy figures and what depends on them.
bool runSearch(TechniqueContext &context, const SearchOptions &options, QString *error);

/// The technique of nas.random and nas.evolution (they differ only in the strategy):
/// configure() reads SearchOptions, apply() runs runSearch(). Runs on the runner's worker
/// thread; one instance per run.
class SearchTechnique final : public Technique
{
public:
    explicit SearchTechnique(Strategy strategy) : m_strategy(strategy) {}
    bool configure(const QJsonObject &params, QString *error) override;
    bool apply(TechniqueContext &context, QString *error) override;

private:
    Strategy m_strategy;
    std::optional<SearchOptions> m_options;
};

} // namespace jb::nas
