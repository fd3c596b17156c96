// SPDX-License-Identifier: GPL-3.0-or-later
// data.el2n: scores every training row by EL2N or GraNd after k epochs of training, averaged
// over scoring seeds, keeps the hardest fraction (or a share stratified over score bins) and
// trains on that subset (docs/techniques/data-selection.md).
#include "plugins/data_common/selection.h"
#include "plugins/data_common/selection_run.h"

#include "engine/technique.h"

#include <QObject>
#include <QtPlugin>

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

/// Runs on the runner's worker thread; one instance per run.
class El2nTechnique final : public data::SelectionTechnique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        m_kind = params.value(u"score"_s).toString() == u"grand"_s ? data::ScoreKind::Grand
                                                                   : data::ScoreKind::El2n;
        m_scoreEpochs = params.value(u"score_epochs"_s).toInt();
        m_seeds = params.value(u"score_seeds"_s).toInt();
        m_separate = params.value(u"score_run"_s).toString() == u"separate"_s;
        m_ratio = params.value(u"ratio"_s).toDouble();
        m_stratified = params.value(u"keep"_s).toString() == u"stratified"_s;
        m_bins = params.value(u"bins"_s).toInt();
        m_seedOffset = quint64(params.value(u"seed_offset"_s).toInteger());
        if (!m_separate && m_seeds > 1) {
            *error = u"params.score_seeds: %1 scoring seeds need score_run \"separate\" (with "
                     "\"same\" the scores come from the run itself); set score_seeds to 1 or "
                     "score_run to \"separate\""_s.arg(m_seeds);
            return false;
        }
        return true;
    }

    bool train(TechniqueContext &context, QString *error) override
    {
        if (!checkContext(context, u"data.el2n"_s, error))
            return false;
        const int epochs = context.training.epochs;
        if (!m_separate && !checkScoreEpochs(m_scoreEpochs, epochs, error))
            return false;
        data::SelectionRun run(context, u"data.el2n"_s);
        const int64_t n = run.trainRows();
        std::vector<int64_t> all(static_cast<size_t>(n));
        std::iota(all.begin(), all.end(), 0);
        std::vector<int64_t> subset;
        QString selectionError;

        if (m_separate) {
            run.beginScoring();
            std::optional<std::vector<double>> scores = separateScores(context, error);
            if (!scores)
                return false;
            run.endScoring(n * m_seeds);
            subset = select(context, *scores);
        }
        TrainOptions o = data::selectionTrainOptions(context, u"data.el2n"_s);
        o.epochSubset = [&](int epoch) -> std::vector<int64_t> {
            if (!m_separate && epoch == m_scoreEpochs) {
                run.beginScoring();
                const auto scores =
                    data::scoreRows(*context.model, context.data->train, m_kind,
                                    context.training.batchSize, context.feedback, &selectionError);
                if (!scores) // the trainer sees the cancellation at its next batch
                    return selectionError == u"cancelled"_s ? all : std::vector<int64_t>();
                run.endScoring(n);
                subset = select(context, *scores);
            }
            const std::vector<int64_t> &rows = subset.empty() ? all : subset;
            run.recordEpoch(epoch, epochs, rows);
            return rows;
        };
        if (!run.train(o, selectionError, error))
            return false;
        run.finish();
        return true;
    }

private:
    /// Mean score per row over m_seeds scoring runs of m_scoreEpochs epochs from fresh weights.
    std::optional<std::vector<double>> separateScores(TechniqueContext &context, QString *error)
    {
        const Dataset &train = context.data->train;
        std::vector<double> sum(size_t(train.size()), 0.0);
        for (int s = 0; s < m_seeds; ++s) {
            QString note;
            std::unique_ptr<Model> model = data::scoringModel(context, s, &note, error);
            if (!model)
                return std::nullopt;
            if (!note.isEmpty() && context.log)
                context.log(note, {});
            if (m_scoreEpochs > 0) {
                TrainOptions o = data::selectionTrainOptions(
                    context, u"data.el2n: scoring run %1/%2"_s.arg(s + 1).arg(m_seeds));
                o.epochs = m_scoreEpochs;
                o.seed = context.training.seed + 1000 * quint64(s + 1);
                Trainer trainer(o);
                const auto r = trainer.train(*model, train, context.feedback, error);
                if (!r)
                    return std::nullopt;
                if (r->canceled) {
                    *error = u"cancelled"_s;
                    return std::nullopt;
                }
            }
            const auto scores = data::scoreRows(*model, train, m_kind, context.training.batchSize,
                                                context.feedback, error);
            if (!scores)
                return std::nullopt;
            for (size_t i = 0; i < sum.size(); ++i)
                sum[i] += (*scores)[i];
        }
        for (double &v : sum)
            v /= double(m_seeds);
        return sum;
    }

    std::vector<int64_t> select(TechniqueContext &context, const std::vector<double> &scores)
    {
        const int64_t k = data::subsetCount(int64_t(scores.size()), m_ratio);
        const quint64 seed = context.seed + m_seedOffset;
        std::vector<int64_t> rows = m_stratified ? data::binStratifiedRows(scores, k, m_bins, seed)
                                                 : data::hardestRows(scores, k);
        const double all = std::accumulate(scores.begin(), scores.end(), 0.0);
        double kept = 0;
        for (int64_t r : rows)
            kept += scores[size_t(r)];
        const QString name = m_kind == data::ScoreKind::Grand ? u"GraNd"_s : u"EL2N"_s;
        if (context.log)
            context.log(
                u"%1 scores: mean %2 over all rows, %3 over the %4 kept rows (%5)"_s.arg(name)
                    .arg(all / double(scores.size()), 0, 'g', 4)
                    .arg(rows.empty() ? 0.0 : kept / double(rows.size()), 0, 'g', 4)
                    .arg(qint64(rows.size()))
                    .arg(m_stratified ? u"stratified over %1 score bins"_s.arg(m_bins)
                                      : u"hardest"_s),
                QJsonObject{{u"score"_s, name},
                            {u"mean_all"_s, all / double(scores.size())},
                            {u"kept"_s, qint64(rows.size())}});
        if (context.metric)
            context.metric(u"mean_score_kept"_s, rows.empty() ? 0.0 : kept / double(rows.size()),
                           name);
        return rows;
    }

    data::ScoreKind m_kind = data::ScoreKind::El2n;
    int m_scoreEpochs = 1;
    int m_seeds = 1;
    bool m_separate = true;
    double m_ratio = 0.5;
    bool m_stratified = false;
    int m_bins = 10;
    quint64 m_seedOffset = 0;
};

} // namespace

class El2nPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "el2n.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override { return std::make_unique<El2nTechnique>(); }
};

} // namespace jb::plugins

#include "el2n.moc"
