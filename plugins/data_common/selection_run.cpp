// SPDX-License-Identifier: GPL-3.0-or-later
#include "selection_run.h"

#include "selection.h"

#include "engine/spec_model.h"
#include "engine/trainer.h"

#include <QJsonObject>

#include <torch/torch.h>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace jb::data {

namespace {

/// Restores the model's train/eval mode when the scoring pass ends (also on exceptions).
class ModeGuard
{
public:
    explicit ModeGuard(Model &model) : m_model(model), m_was(model.isTraining()) {}
    ~ModeGuard() { m_model.setTraining(m_was); }
    ModeGuard(const ModeGuard &) = delete;
    ModeGuard &operator=(const ModeGuard &) = delete;

private:
    Model &m_model;
    bool m_was;
};

torch::Tensor batchOf(const Dataset &data, int64_t begin, int64_t len, const Model &model)
{
    torch::Tensor x = data.inputs.narrow(0, begin, len).to(model.device());
    return x.scalar_type() == model.computeDtype() ? x : x.to(model.computeDtype());
}

} // namespace

std::optional<std::vector<double>> scoreRows(Model &model, const Dataset &data, ScoreKind kind,
                                             int64_t batchSize, Feedback *feedback, QString *error)
{
    const int64_t n = data.size();
    std::vector<double> out;
    out.reserve(size_t(n));
    try {
        ModeGuard mode(model);
        model.setTraining(false);
        const std::vector<torch::Tensor> params = model.parameters();
        const int64_t step = kind == ScoreKind::Grand ? 1 : std::max<int64_t>(batchSize, 1);
        for (int64_t begin = 0; begin < n; begin += step) {
            if (feedback && feedback->isCanceled()) {
                *error = u"cancelled"_s;
                return std::nullopt;
            }
            const int64_t len = std::min(step, n - begin);
            const torch::Tensor x = batchOf(data, begin, len, model);
            const torch::Tensor y = data.targets.narrow(0, begin, len).to(model.device());
            if (kind == ScoreKind::Grand) {
                const torch::Tensor loss = torch::cross_entropy_loss(model.forward(x), y);
                const std::vector<torch::Tensor> grads =
                    torch::autograd::grad({loss}, params, {}, false, false, true);
                double squares = 0;
                for (const torch::Tensor &g : grads)
                    if (g.defined())
                        squares += g.to(torch::kDouble).pow(2).sum().item<double>();
                out.push_back(std::sqrt(squares));
                if (feedback && begin % 1000 == 0)
                    feedback->setProgress(double(begin) / double(n),
                                          u"scoring (GraNd): row %1/%2"_s.arg(begin).arg(n));
                continue;
            }
            torch::NoGradGuard noGrad;
            const torch::Tensor logits = model.forward(x);
            const torch::Tensor s = kind == ScoreKind::El2n
                                        ? el2nScores(logits, y)
                                        : torch::cross_entropy_loss(logits.to(torch::kDouble), y,
                                                                    {}, at::Reduction::None)
                                              .to(torch::kCPU);
            const torch::Tensor c = s.to(torch::kDouble).contiguous();
            out.insert(out.end(), c.data_ptr<double>(), c.data_ptr<double>() + len);
        }
    } catch (const std::exception &e) {
        *error = u"scoring the training rows failed: "_s + exceptionText(e);
        return std::nullopt;
    }
    return out;
}

SelectionRun::SelectionRun(TechniqueContext &context, QString technique)
    : m_context(context), m_technique(std::move(technique)),
      m_rows(context.data ? context.data->train.size() : 0), m_used(size_t(m_rows), 0)
{
}

void SelectionRun::beginScoring()
{
    if (m_context.beginPhase)
        m_context.beginPhase(u"train:score"_s);
    m_scoring.start();
}

void SelectionRun::endScoring(int64_t rowsScored)
{
    m_scoringSeconds += double(m_scoring.nsecsElapsed()) / 1e9;
    m_scored += rowsScored;
    if (m_context.beginPhase)
        m_context.beginPhase(u"train:fit"_s);
}

void SelectionRun::recordEpoch(int epoch, int epochs, const std::vector<int64_t> &rows)
{
    for (int64_t r : rows)
        if (r >= 0 && r < m_rows)
            m_used[size_t(r)] = 1;
    const double ratio = m_rows > 0 ? double(rows.size()) / double(m_rows) : 0.0;
    if (m_context.log)
        m_context.log(u"epoch %1/%2: training on %3 of %4 rows (%5 %)"_s.arg(epoch + 1)
                          .arg(epochs)
                          .arg(qint64(rows.size()))
                          .arg(m_rows)
                          .arg(100.0 * ratio, 0, 'f', 1),
                      QJsonObject{{u"epoch"_s, epoch + 1},
                                  {u"rows"_s, qint64(rows.size())},
                                  {u"of"_s, qint64(m_rows)},
                                  {u"ratio"_s, ratio}});
}

bool SelectionRun::train(const TrainOptions &options, const QString &selectionError, QString *error)
{
    if (!m_context.model || !m_context.data) {
        *error = u"%1: no model or data to train"_s.arg(m_technique);
        return false;
    }
    Trainer trainer(options);
    QString trainError;
    const std::optional<TrainResult> r =
        trainer.train(*m_context.model, m_context.data->train, m_context.feedback, &trainError);
    if (!r) {
        *error = selectionError.isEmpty() ? trainError : selectionError;
        return false;
    }
    if (r->canceled) {
        *error = u"cancelled"_s;
        return false;
    }
    m_samplesSeen = r->samplesSeen;
    m_epochs = int(r->epochs.size());
    return true;
}

void SelectionRun::finish()
{
    if (!m_context.metric)
        return;
    const double full = double(m_epochs) * double(m_rows);
    m_context.metric(u"samples_seen"_s, double(m_samplesSeen), u"samples"_s);
    m_context.metric(u"fraction_seen"_s, full > 0 ? double(m_samplesSeen) / full : 0.0,
                     u"fraction"_s);
    m_context.metric(u"distinct_fraction"_s,
                     m_rows > 0 ? double(std::count(m_used.begin(), m_used.end(), uint8_t(1))) /
                                      double(m_rows)
                                : 0.0,
                     u"fraction"_s);
    m_context.metric(u"scoring_seconds"_s, m_scoringSeconds, u"s"_s);
    m_context.metric(u"scoring_samples"_s, double(m_scored), u"samples"_s);
}

bool SelectionTechnique::apply(TechniqueContext &context, QString *error)
{
    Q_UNUSED(context);
    Q_UNUSED(error);
    return true; // the selection happened in train(); the trained model is kept
}

bool SelectionTechnique::checkContext(const TechniqueContext &context, const QString &technique,
                                      QString *error)
{
    if (context.data && context.model)
        return true;
    *error = u"%1: no model or training data"_s.arg(technique);
    return false;
}

bool SelectionTechnique::checkScoreEpochs(int scoreEpochs, int epochs, QString *error)
{
    if (scoreEpochs < epochs)
        return true;
    *error = u"params.score_epochs (%1) must be below the plan's training epochs (%2) with "
             "score_run \"same\": the subset trains the remaining epochs"_s.arg(scoreEpochs)
                 .arg(epochs);
    return false;
}

std::unique_ptr<Model> scoringModel(const TechniqueContext &context, int index, QString *note,
                                    QString *error)
{
    if (!context.model) {
        *error = u"no model to score with"_s;
        return nullptr;
    }
    if (index > 0 && context.model->spec()) {
        std::unique_ptr<Model> m =
            SpecModel::create(*context.model->spec(), context.seed + 1000 * quint64(index), error);
        if (m)
            m->to(context.model->device());
        return m;
    }
    if (index > 0 && note)
        *note = u"model '%1' has no architecture spec: every scoring run starts from the same "
                "initial weights, only the batch order differs"_s.arg(context.model->name());
    return context.model->clone(error);
}

TrainOptions selectionTrainOptions(const TechniqueContext &context, const QString &label)
{
    TrainOptions o = context.training;
    o.label = label;
    return o;
}

} // namespace jb::data
