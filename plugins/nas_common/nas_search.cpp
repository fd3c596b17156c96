// SPDX-License-Identifier: GPL-3.0-or-later
// The search loop shared by nas.random and nas.evolution (docs/techniques/nas.md).
#include "nas_search.h"

#include "engine/datasets.h"
#include "engine/evaluator.h"
#include "engine/inference_timer.h"
#include "engine/model_metrics.h"
#include "engine/spec_model.h"
#include "engine/trainer.h"

#include <QHash>
#include <QJsonArray>

#include <torch/torch.h>

#include <cmath>

using namespace Qt::StringLiterals;

namespace jb::nas {

namespace {

/// What was measured for one candidate (or the reference model).
struct Evaluated
{
    int id = -1; ///< -1: the reference model
    Candidate candidate;
    int parentId = -1;
    QString origin; ///< "random", or the mutation
    int reusedFrom = -1;
    QJsonObject spec;
    Figures figures;
    std::optional<double> netEnergyJ; ///< per inference, net of the run's idle power
    bool energyEstimate = false;
    double inferenceMsPerBatch = 0;
    double trainSeconds = 0;
    double fitness = 0;
    bool onFront = false;
};

QJsonValue optionalJson(const std::optional<double> &v)
{
    return v ? QJsonValue(*v) : QJsonValue(QJsonValue::Null);
}

QJsonObject toJson(const Evaluated &e, bool haveEnergy)
{
    QJsonObject o{{u"val_accuracy"_s, e.figures.accuracy},
                  {u"params"_s, e.figures.params},
                  {u"macs"_s, optionalJson(e.figures.macs)},
                  {u"energy_per_inference_j"_s, optionalJson(e.figures.energyJ)},
                  {u"net_energy_per_inference_j"_s, optionalJson(e.netEnergyJ)},
                  {u"energy_kind"_s, !haveEnergy        ? QJsonValue(QJsonValue::Null)
                                     : e.energyEstimate ? QJsonValue(u"estimate"_s)
                                                        : QJsonValue(u"measured"_s)},
                  {u"inference_ms_per_batch"_s, e.inferenceMsPerBatch}};
    if (e.id < 0)
        return o;
    o.insert(u"id"_s, e.id);
    o.insert(u"key"_s, e.candidate.key());
    o.insert(u"blocks"_s, e.candidate.toJson().value(u"blocks"_s));
    o.insert(u"spec"_s, e.spec);
    o.insert(u"parent"_s, e.parentId);
    o.insert(u"origin"_s, e.origin);
    o.insert(u"reused_from"_s, e.reusedFrom);
    o.insert(u"train_s"_s, e.trainSeconds);
    o.insert(u"fitness"_s, e.fitness);
    o.insert(u"on_front"_s, e.onFront);
    return o;
}

/// One search: the context, the options and what has been measured so far.
class Search
{
public:
    Search(TechniqueContext &context, const SearchOptions &options, SearchSpace space)
        : m_ctx(context), m_opt(options), m_space(std::move(space))
    {
    }

    bool run(QString *error);

private:
    bool canceled(QString *error) const
    {
        if (m_ctx.feedback && m_ctx.feedback->isCanceled()) {
            *error = u"cancelled"_s;
            return true;
        }
        return false;
    }
    bool measure(Model &model, Evaluated *out, QString *error);
    bool evaluateCandidate(Evaluated *e, QString *error);
    bool finalTraining(const Evaluated &best, QString *error);
    QJsonObject report(int best) const;

    TechniqueContext &m_ctx;
    SearchOptions m_opt;
    SearchSpace m_space;
    std::vector<int64_t> m_trainRows;
    std::vector<int64_t> m_validationRows;
    bool m_useEnergy = false;
    Evaluated m_reference;
    std::vector<Evaluated> m_done;
};

/// Validation accuracy, size, MACs and the measured inference energy of a trained model.
bool Search::measure(Model &model, Evaluated *out, QString *error)
{
    const Dataset &val = m_ctx.data->validation;
    EvalOptions eo;
    eo.device = m_ctx.backend.device();
    eo.subset = m_validationRows;
    const std::optional<EvalResult> eval = Evaluator(eo).evaluate(model, val, m_ctx.feedback, error);
    if (!eval)
        return false;
    if (eval->canceled)
        return canceled(error), false;
    out->figures.accuracy = eval->top1;
    const std::optional<ModelMetrics> metrics = computeModelMetrics(model, error);
    if (!metrics)
        return false;
    out->figures.params = double(metrics->parameters);
    if (metrics->macsKnown)
        out->figures.macs = double(metrics->macs);

    InferenceOptions warm;
    warm.batchSize = m_opt.energyBatchSize;
    warm.warmupBatches = 2;
    warm.timedBatches = 1;
    warm.device = m_ctx.backend.device();
    if (!InferenceTimer(warm).run(model, &val, m_ctx.feedback, error))
        return false;
    InferenceOptions io = warm;
    io.warmupBatches = 0;
    io.timedBatches = m_opt.energyBatches;
    std::optional<InferenceResult> timed;
    auto work = [&](QString *err) {
        timed = InferenceTimer(io).run(model, &val, m_ctx.feedback, err);
        if (timed && timed->canceled) {
            *err = u"cancelled"_s;
            return false;
        }
        return timed.has_value();
    };
    if (m_ctx.measureEnergy) {
        const std::optional<WorkloadEnergy> energy = m_ctx.measureEnergy(work, error);
        if (!energy)
            return false;
        const double inferences = double(timed->batches) * double(m_opt.energyBatchSize);
        out->figures.energyJ = energy->joules / inferences;
        if (energy->netJoules)
            out->netEnergyJ = *energy->netJoules / inferences;
        out->energyEstimate = energy->estimate;
    } else if (!work(error)) {
        return false;
    }
    out->inferenceMsPerBatch = timed->meanMs;
    return true;
}

bool Search::evaluateCandidate(Evaluated *e, QString *error)
{
    const std::optional<ArchSpec> spec = m_space.build(e->candidate, error);
    if (!spec)
        return false;
    e->spec = spec->toJson();
    std::unique_ptr<SpecModel> model = SpecModel::create(*spec, m_ctx.seed + quint64(e->id) + 1,
                                                         error);
    if (!model)
        return false;
    TrainOptions to = m_ctx.training;
    to.epochs = m_opt.epochsPerCandidate;
    to.subset = m_trainRows;
    to.epochSubset = nullptr;
    to.seed = m_ctx.training.seed + quint64(e->id) + 1;
    to.label = u"nas candidate %1/%2 (%3)"_s.arg(e->id + 1).arg(m_opt.candidates).arg(
        e->candidate.key());
    const std::optional<TrainResult> trained =
        Trainer(to).train(*model, m_ctx.data->train, m_ctx.feedback, error);
    if (!trained)
        return false;
    if (trained->canceled)
        return canceled(error), false;
    e->trainSeconds = trained->seconds;
    return measure(*model, e, error);
}

bool Search::finalTraining(const Evaluated &best, QString *error)
{
    if (m_ctx.beginPhase)
        m_ctx.beginPhase(u"prepare:final_train"_s);
    const std::optional<ArchSpec> spec = m_space.build(best.candidate, error);
    if (!spec)
        return false;
    std::unique_ptr<SpecModel> model = SpecModel::create(*spec, m_ctx.seed, error);
    if (!model)
        return false;
    TrainOptions to = m_ctx.training;
    if (m_opt.finalEpochs > 0)
        to.epochs = m_opt.finalEpochs;
    to.label = u"nas final training (%1)"_s.arg(best.candidate.key());
    const std::optional<TrainResult> trained =
        Trainer(to).train(*model, m_ctx.data->train, m_ctx.feedback, error);
    if (!trained)
        return false;
    if (trained->canceled)
        return canceled(error), false;
    if (m_ctx.log)
        m_ctx.log(u"final model %1 trained for %2 epoch(s) on all %3 training rows in %4 s"_s
                      .arg(best.candidate.key())
                      .arg(to.epochs)
                      .arg(m_ctx.data->train.size())
                      .arg(trained->seconds, 0, 'f', 1),
                  QJsonObject{{u"key"_s, best.candidate.key()},
                              {u"epochs"_s, to.epochs},
                              {u"spec"_s, spec->toJson()},
                              {u"train_s"_s, trained->seconds}});
    m_ctx.model = std::move(model);
    return true;
}

QJsonObject Search::report(int best) const
{
    const bool haveEnergy = m_reference.figures.energyJ.has_value();
    QJsonArray candidates;
    QJsonArray front;
    for (const Evaluated &e : m_done) {
        candidates.append(toJson(e, haveEnergy));
        if (e.onFront)
            front.append(e.id);
    }
    return QJsonObject{
        {u"strategy"_s, m_opt.strategy == Strategy::Random ? u"random"_s : u"evolution"_s},
        {u"objective"_s, m_opt.objective},
        {u"lambda"_s, m_opt.lambda},
        {u"budget_metric"_s, m_opt.budgetMetric},
        {u"budget"_s, m_opt.budget},
        {u"cost_axis"_s, m_useEnergy ? u"energy_per_inference_j"_s : u"macs"_s},
        {u"energy_kind"_s, !haveEnergy                ? QJsonValue(QJsonValue::Null)
                           : m_reference.energyEstimate ? QJsonValue(u"estimate"_s)
                                                        : QJsonValue(u"measured"_s)},
        {u"energy_workload"_s, u"%1 batches of %2 validation samples"_s.arg(m_opt.energyBatches)
                                   .arg(m_opt.energyBatchSize)},
        {u"train_rows"_s, qint64(m_trainRows.empty() ? m_ctx.data->train.size()
                                                     : qint64(m_trainRows.size()))},
        {u"epochs_per_candidate"_s, m_opt.epochsPerCandidate},
        {u"reference"_s, toJson(m_reference, haveEnergy)},
        {u"candidates"_s, candidates},
        {u"front"_s, front},
        {u"best"_s, best}};
}

bool Search::run(QString *error)
{
    if (m_ctx.beginPhase)
        m_ctx.beginPhase(u"prepare:search"_s);
    const Dataset &train = m_ctx.data->train;
    if (m_opt.trainSubset > 0 && m_opt.trainSubset < train.size()) {
        m_trainRows = seededPermutation(train.size(), m_ctx.seed ^ 0x6e6173ULL);
        m_trainRows.resize(size_t(m_opt.trainSubset));
    }
    const int64_t validation = m_ctx.data->validation.size();
    if (m_opt.validationSubset > 0 && m_opt.validationSubset < validation)
        for (int64_t i = 0; i < m_opt.validationSubset; ++i)
            m_validationRows.push_back(i);

    // The trained baseline is the reference: its figures normalise the weighted objective.
    if (!measure(*m_ctx.model, &m_reference, error))
        return false;
    m_useEnergy = m_reference.figures.energyJ && *m_reference.figures.energyJ > 0;
    if (m_ctx.log)
        m_ctx.log(u"reference (the trained baseline): validation accuracy %1, %2"_s
                      .arg(m_reference.figures.accuracy, 0, 'f', 4)
                      .arg(m_reference.figures.energyJ
                               ? u"%1 J per inference (%2)"_s
                                     .arg(*m_reference.figures.energyJ, 0, 'g', 4)
                                     .arg(m_reference.energyEstimate ? u"estimate"_s
                                                                     : u"measured"_s)
                               : u"no energy measurement (the objective uses MACs)"_s),
                  toJson(m_reference, m_reference.figures.energyJ.has_value()));
    if (m_opt.budgetMetric == u"energy"_s && m_opt.objective == u"accuracy_under_budget"_s &&
        m_opt.budget > 0 && !m_reference.figures.energyJ) {
        *error = u"budget_metric 'energy' needs the energy of each candidate, but this run "
                 "measures none; use budget_metric 'macs' or 'params'"_s;
        return false;
    }

    std::mt19937_64 rng(m_ctx.seed ^ 0x9e3779b97f4a7c15ULL);
    RegularizedEvolution evolution(m_space, m_opt.population, m_opt.sampleSize,
                                   m_ctx.seed ^ 0x9e3779b97f4a7c15ULL);
    QHash<QString, int> seen; // key -> first id
    for (int id = 0; id < m_opt.candidates; ++id) {
        if (canceled(error))
            return false;
        Evaluated e;
        e.id = id;
        if (m_opt.strategy == Strategy::Random) {
            e.candidate = m_space.sample(rng);
            for (int tries = 0; tries < 100 && seen.contains(e.candidate.key()); ++tries)
                e.candidate = m_space.sample(rng);
            e.origin = u"random"_s;
        } else {
            e.candidate = evolution.next(&e.parentId, &e.origin);
        }
        const auto previous = seen.constFind(e.candidate.key());
        if (previous != seen.cend()) { // repeated: same figures, no second training
            const Evaluated &first = m_done[size_t(*previous)];
            e.reusedFrom = first.id;
            e.spec = first.spec;
            e.figures = first.figures;
            e.netEnergyJ = first.netEnergyJ;
            e.energyEstimate = first.energyEstimate;
            e.inferenceMsPerBatch = first.inferenceMsPerBatch;
        } else {
            if (m_ctx.feedback)
                m_ctx.feedback->setProgress(double(id) / double(m_opt.candidates + 1),
                                            u"nas: candidate %1/%2 %3"_s.arg(id + 1)
                                                .arg(m_opt.candidates)
                                                .arg(e.candidate.key()));
            if (!evaluateCandidate(&e, error)) {
                *error = u"candidate %1 (%2): %3"_s.arg(id).arg(e.candidate.key(), *error);
                return false;
            }
            seen.insert(e.candidate.key(), id);
        }
        const std::optional<double> fitness =
            objectiveValue(m_opt, e.figures, m_reference.figures, m_useEnergy, error);
        if (!fitness)
            return false;
        e.fitness = *fitness;
        if (m_opt.strategy == Strategy::Evolution)
            evolution.add(e.id, e.candidate, e.fitness);
        if (m_ctx.log)
            m_ctx.log(u"candidate %1/%2 %3 (%4): validation accuracy %5, %6, fitness %7"_s
                          .arg(id + 1)
                          .arg(m_opt.candidates)
                          .arg(e.candidate.key(), e.origin)
                          .arg(e.figures.accuracy, 0, 'f', 4)
                          .arg(e.figures.energyJ
                                   ? u"%1 J per inference (%2)"_s
                                         .arg(*e.figures.energyJ, 0, 'g', 4)
                                         .arg(e.energyEstimate ? u"estimate"_s : u"measured"_s)
                                   : u"%1 MACs"_s.arg(e.figures.macs.value_or(0)))
                          .arg(e.fitness, 0, 'f', 4),
                      toJson(e, m_reference.figures.energyJ.has_value()));
        m_done.push_back(std::move(e));
    }

    // The Pareto front: validation accuracy against energy per inference (MACs without it).
    std::vector<double> accuracy, cost;
    for (const Evaluated &e : m_done) {
        accuracy.push_back(e.figures.accuracy);
        cost.push_back(m_useEnergy ? e.figures.energyJ.value_or(0)
                                   : e.figures.macs.value_or(e.figures.params));
    }
    const std::vector<bool> front = paretoFront(accuracy, cost);
    int best = 0;
    int frontSize = 0;
    for (size_t i = 0; i < m_done.size(); ++i) {
        m_done[i].onFront = front[i];
        frontSize += front[i] ? 1 : 0;
        if (m_done[i].fitness > m_done[size_t(best)].fitness)
            best = int(i);
    }
    const Evaluated &winner = m_done[size_t(best)];
    if (m_ctx.log)
        m_ctx.log(u"search done: %1 candidates, %2 on the Pareto front (validation accuracy vs "
                  "%3), best %4 (validation accuracy %5)"_s.arg(m_done.size())
                      .arg(frontSize)
                      .arg(m_useEnergy ? u"energy per inference"_s : u"MACs"_s)
                      .arg(winner.candidate.key())
                      .arg(winner.figures.accuracy, 0, 'f', 4),
                  report(best));
    if (m_ctx.metric) {
        int trained = 0;
        for (const Evaluated &e : m_done)
            trained += e.reusedFrom < 0 ? 1 : 0;
        m_ctx.metric(u"nas_candidates"_s, double(m_done.size()), u"candidates"_s);
        m_ctx.metric(u"nas_trained_candidates"_s, double(trained), u"candidates"_s);
        m_ctx.metric(u"nas_front_size"_s, double(frontSize), u"candidates"_s);
        double bestAccuracy = 0;
        for (const Evaluated &e : m_done)
            bestAccuracy = std::max(bestAccuracy, e.figures.accuracy);
        m_ctx.metric(u"nas_best_val_accuracy"_s, bestAccuracy, u"fraction"_s);
        m_ctx.metric(u"nas_chosen_val_accuracy"_s, winner.figures.accuracy, u"fraction"_s);
        m_ctx.metric(u"nas_chosen_params"_s, winner.figures.params, u"parameters"_s);
        if (winner.figures.macs)
            m_ctx.metric(u"nas_chosen_macs"_s, *winner.figures.macs, u"MACs"_s);
        if (winner.figures.energyJ)
            m_ctx.metric(winner.energyEstimate ? u"nas_chosen_energy_per_inference_j_estimate"_s
                                               : u"nas_chosen_energy_per_inference_j"_s,
                         *winner.figures.energyJ, u"J"_s);
    }
    if (canceled(error))
        return false;
    return finalTraining(winner, error);
}

} // namespace

std::optional<SearchOptions> SearchOptions::fromParams(const QJsonObject &params,
                                                       Strategy strategy, QString *error)
{
    SearchOptions o;
    o.strategy = strategy;
    o.space.minDepth = int(params.value(u"min_depth"_s).toInteger());
    o.space.maxDepth = int(params.value(u"max_depth"_s).toInteger());
    o.space.allowDepthwise = params.value(u"depthwise"_s).toBool();
    o.space.pools = int(params.value(u"pools"_s).toInteger());
    const auto widths =
        SearchSpace::parseList(params.value(u"widths"_s).toString(), u"widths"_s, error);
    const auto kernels =
        widths ? SearchSpace::parseList(params.value(u"kernels"_s).toString(), u"kernels"_s, error)
               : std::nullopt;
    if (!kernels)
        return std::nullopt;
    o.space.widths = *widths;
    o.space.kernels = *kernels;
    o.candidates = int(params.value(u"candidates"_s).toInteger());
    o.population = int(params.value(u"population"_s).toInteger(4));
    o.sampleSize = int(params.value(u"sample_size"_s).toInteger(2));
    o.epochsPerCandidate = int(params.value(u"epochs_per_candidate"_s).toInteger());
    o.trainSubset = params.value(u"train_subset"_s).toInteger();
    o.validationSubset = params.value(u"validation_subset"_s).toInteger();
    o.energyBatchSize = params.value(u"energy_batch_size"_s).toInteger();
    o.energyBatches = int(params.value(u"energy_batches"_s).toInteger());
    o.objective = params.value(u"objective"_s).toString();
    o.lambda = params.value(u"lambda"_s).toDouble();
    o.budgetMetric = params.value(u"budget_metric"_s).toString();
    o.budget = params.value(u"budget"_s).toDouble();
    o.finalEpochs = int(params.value(u"final_epochs"_s).toInteger());
    if (o.space.minDepth > o.space.maxDepth) {
        *error = u"parameter 'min_depth' (%1) is larger than 'max_depth' (%2)"_s.arg(
                     o.space.minDepth)
                     .arg(o.space.maxDepth);
        return std::nullopt;
    }
    if (strategy == Strategy::Evolution && o.sampleSize > o.population) {
        *error = u"parameter 'sample_size' (%1) is larger than 'population' (%2)"_s.arg(
                     o.sampleSize)
                     .arg(o.population);
        return std::nullopt;
    }
    return o;
}

std::optional<double> objectiveValue(const SearchOptions &options, const Figures &candidate,
                                     const Figures &reference, bool useEnergy, QString *error)
{
    if (options.objective == u"weighted"_s) {
        double cost = 0;
        if (useEnergy) {
            if (!candidate.energyJ || !reference.energyJ || *reference.energyJ <= 0) {
                *error = u"objective 'weighted': the energy of a candidate or of the reference "
                         "is missing"_s;
                return std::nullopt;
            }
            cost = *candidate.energyJ / *reference.energyJ;
        } else {
            if (!candidate.macs) {
                *error = u"objective 'weighted' without energy needs MACs, unknown here"_s;
                return std::nullopt;
            }
            // Without reference MACs (a TorchScript baseline), cost is in millions of MACs.
            cost = *candidate.macs / (reference.macs && *reference.macs > 0 ? *reference.macs
                                                                            : 1e6);
        }
        return candidate.accuracy - options.lambda * cost;
    }
    if (options.budget <= 0)
        return candidate.accuracy;
    std::optional<double> figure;
    if (options.budgetMetric == u"params"_s)
        figure = candidate.params;
    else if (options.budgetMetric == u"macs"_s)
        figure = candidate.macs;
    else
        figure = candidate.energyJ;
    if (!figure) {
        *error = u"budget_metric '%1': the figure is not available for this candidate"_s.arg(
            options.budgetMetric);
        return std::nullopt;
    }
    return *figure <= options.budget ? candidate.accuracy : -(*figure / options.budget);
}

bool runSearch(TechniqueContext &context, const SearchOptions &options, QString *error)
{
    if (!context.model || !context.data) {
        *error = u"nas: the context has no model or no data"_s;
        return false;
    }
    if (context.data->validation.size() == 0) {
        *error = u"nas scores candidates on the validation split, which is empty: set the "
                 "plan's dataset.validationFraction above 0 (e.g. 0.1)"_s;
        return false;
    }
    SearchSpace::Options spaceOptions = options.space;
    spaceOptions.inputShape = context.data->train.sampleShape();
    spaceOptions.numClasses = context.data->train.numClasses;
    std::optional<SearchSpace> space = SearchSpace::create(spaceOptions, error);
    if (!space)
        return false;
    try {
        return Search(context, options, *space).run(error);
    } catch (const std::exception &e) {
        *error = u"nas search failed: "_s + exceptionText(e);
        return false;
    }
}

bool SearchTechnique::configure(const QJsonObject &params, QString *error)
{
    m_options = SearchOptions::fromParams(params, m_strategy, error);
    return m_options.has_value();
}

bool SearchTechnique::apply(TechniqueContext &context, QString *error)
{
    if (!m_options) {
        *error = u"nas: apply() before a successful configure()"_s;
        return false;
    }
    return runSearch(context, *m_options, error);
}

} // namespace jb::nas
