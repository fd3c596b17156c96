// SPDX-License-Identifier: GPL-3.0-or-later
// The NAS search space and search loop without the runner: mutations keep specs valid and
// buildable, sampling is deterministic for a seed, regularized evolution removes the oldest
// member, the Pareto front of a hand-made set, the objectives, parameter errors, and a whole
// tiny search through nas::SearchTechnique on synthetic data (seeded, no energy hook).
#include "plugins/nas_common/nas_search.h"
#include "plugins/nas_common/search_space.h"
#include "plugins/pruning_common/pruning_test_support.h"

#include "engine/spec_model.h"

#include <QJsonArray>
#include <QtTest>

#include <torch/torch.h>

using namespace jb;
using namespace jb::nas;
using namespace Qt::StringLiterals;

namespace {

SearchSpace space(std::vector<int64_t> input, int pools = 2)
{
    SearchSpace::Options o;
    o.inputShape = std::move(input);
    o.minDepth = 1;
    o.maxDepth = 5;
    o.widths = {4, 8, 12};
    o.kernels = {3, 5, 7};
    o.pools = pools;
    QString error;
    const auto s = SearchSpace::create(o, &error);
    if (!s)
        qFatal("%s", qPrintable(error));
    return *s;
}

/// The parameters of the plugins' metadata, for a tiny search.
QJsonObject tinyParams()
{
    return QJsonObject{{u"candidates"_s, 4},
                       {u"population"_s, 2},
                       {u"sample_size"_s, 2},
                       {u"epochs_per_candidate"_s, 1},
                       {u"train_subset"_s, 64},
                       {u"validation_subset"_s, 0},
                       {u"min_depth"_s, 1},
                       {u"max_depth"_s, 2},
                       {u"widths"_s, u"4,8"_s},
                       {u"kernels"_s, u"3"_s},
                       {u"depthwise"_s, true},
                       {u"pools"_s, 2},
                       {u"energy_batch_size"_s, 8},
                       {u"energy_batches"_s, 2},
                       {u"objective"_s, u"weighted"_s},
                       {u"lambda"_s, 0.1},
                       {u"budget_metric"_s, u"macs"_s},
                       {u"budget"_s, 0.0},
                       {u"final_epochs"_s, 1}};
}

/// Runs one search on `data`; returns the "search done" log data (empty on failure).
QJsonObject search(Strategy strategy, const DatasetSplits *data, test::Recorded *rec,
                   std::unique_ptr<Model> *out = nullptr)
{
    SearchTechnique technique(strategy);
    QString error;
    if (!technique.configure(tinyParams(), &error)) {
        qWarning("%s", qPrintable(error));
        return {};
    }
    TechniqueContext c = test::recordingContext(test::zooModel(u"mlp"_s), data, nullptr, rec, 11);
    if (!technique.apply(c, &error)) {
        qWarning("%s", qPrintable(error));
        return {};
    }
    if (out)
        *out = std::move(c.model);
    for (const auto &[message, json] : rec->logs)
        if (message.startsWith(u"search done"_s))
            return json;
    return {};
}

} // namespace

class TestNasSearch : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(1); }

    // Hundreds of chained random mutations from random starts, for grey 28x28 and colour 32x32
    // input: every child is in the space, differs from its parent by one change, validates,
    // and (every 20th) builds a model whose forward pass gives [N, classes].
    void mutationKeepsSpecsValidAndBuildable_data()
    {
        QTest::addColumn<int>("channels");
        QTest::addColumn<int>("side");
        QTest::addColumn<int>("pools");
        QTest::newRow("28x28x1") << 1 << 28 << 2;
        QTest::newRow("32x32x3") << 3 << 32 << 3;
    }
    void mutationKeepsSpecsValidAndBuildable()
    {
        QFETCH(int, channels);
        QFETCH(int, side);
        QFETCH(int, pools);
        const std::vector<int64_t> input{channels, side, side};
        const SearchSpace s = space(input, pools);
        std::mt19937_64 rng(3);
        Candidate c = s.sample(rng);
        int depthChanges = 0;
        for (int i = 0; i < 400; ++i) {
            if (i % 50 == 0)
                c = s.sample(rng);
            QString what;
            const Candidate child = s.mutate(c, rng, &what);
            QVERIFY2(!(child == c), qPrintable(what));
            QVERIFY(s.contains(child));
            const int dDepth = int(child.blocks.size()) - int(c.blocks.size());
            QVERIFY(std::abs(dDepth) <= 1);
            if (dDepth == 0) { // exactly one field of one block changed
                int changed = 0;
                for (size_t b = 0; b < c.blocks.size(); ++b)
                    changed += (c.blocks[b].width != child.blocks[b].width) +
                               (c.blocks[b].kernel != child.blocks[b].kernel) +
                               (c.blocks[b].depthwise != child.blocks[b].depthwise);
                QCOMPARE(changed, 1);
            } else {
                ++depthChanges;
            }
            QString error;
            const std::optional<ArchSpec> spec = s.build(child, &error);
            QVERIFY2(spec, qPrintable(error));
            QVERIFY2(spec->validate(&error), qPrintable(error));
            if (i % 20 == 0) {
                auto model = SpecModel::create(*spec, uint64_t(i), &error);
                QVERIFY2(model, qPrintable(error));
                std::vector<int64_t> batch{2};
                batch.insert(batch.end(), input.begin(), input.end());
                const torch::Tensor y = model->forward(torch::randn(batch));
                QCOMPARE(y.sizes().vec(), (std::vector<int64_t>{2, 10}));
            }
            c = child;
        }
        QVERIFY(depthChanges > 10); // blocks were added and removed too
    }

    void samplingIsDeterministicForASeed()
    {
        const SearchSpace s = space({1, 28, 28});
        QCOMPARE(s.sample(uint64_t(42)).key(), s.sample(uint64_t(42)).key());
        std::mt19937_64 a(9), b(9), other(10);
        bool differs = false;
        for (int i = 0; i < 20; ++i) {
            const Candidate x = s.sample(a);
            QCOMPARE(s.sample(b).key(), x.key());
            differs = differs || !(s.sample(other) == x);
            QVERIFY(s.contains(x));
        }
        QVERIFY(differs);
        std::mt19937_64 m1(5), m2(5);
        const Candidate parent = s.sample(uint64_t(1));
        QCOMPARE(s.mutate(parent, m1).key(), s.mutate(parent, m2).key());
    }

    // Population 3: the first three are random; the fourth is a mutation of the tournament
    // winner, and adding it removes the OLDEST member although it is the fittest.
    void agingRemovesTheOldest()
    {
        RegularizedEvolution evo(space({1, 28, 28}), 3, 50, 7);
        const double fitness[] = {0.9, 0.1, 0.2};
        QList<Candidate> added;
        for (int id = 0; id < 3; ++id) {
            int parent = 0;
            const Candidate c = evo.next(&parent);
            QCOMPARE(parent, -1); // population filling: random
            QVERIFY(!evo.add(id, c, fitness[id]));
            added.append(c);
        }
        int parent = -1;
        QString what;
        const Candidate child = evo.next(&parent, &what);
        QCOMPARE(parent, 0); // the fittest won the (large) tournament
        QVERIFY2(!(child == added[0]), qPrintable(what));
        QCOMPARE(evo.add(3, child, 0.5), std::optional<int>(0)); // the oldest leaves
        QList<int> ids;
        for (const Member &m : evo.population())
            ids.append(m.id);
        QCOMPARE(ids, (QList<int>{1, 2, 3}));
        evo.next(&parent);
        QCOMPARE(parent, 3); // the fittest of those left
        QCOMPARE(evo.add(4, child, 0.0), std::optional<int>(1));
    }

    void paretoFrontOfAHandMadeSet()
    {
        //                         A     B     C     D     E     F
        const std::vector<double> acc{0.90, 0.80, 0.85, 0.80, 0.95, 0.70};
        const std::vector<double> cost{10, 5, 12, 5, 20, 5};
        // C is dominated by A, F by B; B and D are equal (both stay); E is the most accurate.
        QCOMPARE(paretoFront(acc, cost), (std::vector<bool>{true, true, false, true, true, false}));
        QCOMPARE(paretoFront({0.5}, {1}), std::vector<bool>{true});
        QVERIFY(paretoFront({}, {}).empty());
    }

    void objectives()
    {
        SearchOptions o;
        const Figures reference{0.9, 1000, 2e6, 2e-3};
        Figures cheap{0.8, 100, 1e6, 1e-3};
        QString error;
        o.objective = u"weighted"_s;
        o.lambda = 0.2;
        QCOMPARE(*objectiveValue(o, cheap, reference, true, &error), 0.8 - 0.2 * 0.5);
        QCOMPARE(*objectiveValue(o, cheap, reference, false, &error), 0.8 - 0.2 * 0.5);
        cheap.energyJ.reset();
        QVERIFY(!objectiveValue(o, cheap, reference, true, &error)); // never invented
        QVERIFY(error.contains(u"energy"_s));
        o.objective = u"accuracy_under_budget"_s;
        o.budgetMetric = u"params"_s;
        o.budget = 500;
        const Figures within{0.7, 400, 1e6, std::nullopt};
        const Figures over{0.95, 1000, 1e6, std::nullopt};
        QCOMPARE(*objectiveValue(o, within, reference, false, &error), 0.7);
        QVERIFY(*objectiveValue(o, over, reference, false, &error) < 0); // below any within
        o.budgetMetric = u"energy"_s;
        QVERIFY(!objectiveValue(o, within, reference, false, &error));
        o.budget = 0; // no budget: plain accuracy
        QCOMPARE(*objectiveValue(o, over, reference, false, &error), 0.95);
    }

    void parameterErrorsNameTheParameter()
    {
        QString error;
        QVERIFY(!SearchSpace::parseList(u"8,x"_s, u"widths"_s, &error));
        QVERIFY(error.contains(u"'widths'"_s));
        QVERIFY(!SearchSpace::parseList(u"8,8"_s, u"widths"_s, &error));
        QJsonObject p = tinyParams();
        p.insert(u"kernels"_s, u"3,4"_s);
        SearchTechnique t(Strategy::Random);
        QVERIFY(t.configure(p, &error)); // parsed; the space is checked against the data
        test::Recorded rec;
        const DatasetSplits data = test::syntheticSplits(64);
        TechniqueContext c = test::recordingContext(test::zooModel(u"mlp"_s), &data, nullptr, &rec);
        QVERIFY(!t.apply(c, &error));
        QVERIFY2(error.contains(u"'kernels'"_s), qPrintable(error));
        p = tinyParams();
        p.insert(u"sample_size"_s, 5);
        QVERIFY(!SearchTechnique(Strategy::Evolution).configure(p, &error));
        QVERIFY(error.contains(u"'sample_size'"_s));
        p = tinyParams();
        p.insert(u"pools"_s, 6);
        SearchTechnique deep(Strategy::Random);
        QVERIFY(deep.configure(p, &error));
        QVERIFY(!deep.apply(c, &error));
        QVERIFY2(error.contains(u"'pools'"_s), qPrintable(error));
    }

    // A whole tiny search per strategy on synthetic data, twice: the same candidates and
    // validation accuracies for the same seed; without the energy hook every energy is absent
    // (null), the front is over MACs, and the final model is the chosen candidate.
    void tinySearchIsSeededAndHonestWithoutEnergy_data()
    {
        QTest::addColumn<int>("strategy");
        QTest::newRow("random") << int(Strategy::Random);
        QTest::newRow("evolution") << int(Strategy::Evolution);
    }
    void tinySearchIsSeededAndHonestWithoutEnergy()
    {
        QFETCH(int, strategy);
        const DatasetSplits data = test::syntheticSplits(128);
        test::Recorded first, second;
        std::unique_ptr<Model> model;
        const QJsonObject a = search(Strategy(strategy), &data, &first, &model);
        const QJsonObject b = search(Strategy(strategy), &data, &second);
        QVERIFY(!a.isEmpty() && !b.isEmpty());
        QCOMPARE(first.phases, (QStringList{u"prepare:search"_s, u"prepare:final_train"_s}));
        const QJsonArray ca = a.value(u"candidates"_s).toArray();
        const QJsonArray cb = b.value(u"candidates"_s).toArray();
        QCOMPARE(ca.size(), 4);
        QCOMPARE(cb.size(), 4);
        QCOMPARE(a.value(u"cost_axis"_s).toString(), u"macs"_s);
        QVERIFY(a.value(u"energy_kind"_s).isNull());
        int onFront = 0;
        for (qsizetype i = 0; i < ca.size(); ++i) {
            const QJsonObject x = ca.at(i).toObject();
            const QJsonObject y = cb.at(i).toObject();
            QCOMPARE(x.value(u"key"_s).toString(), y.value(u"key"_s).toString());
            QCOMPARE(x.value(u"val_accuracy"_s).toDouble(), y.value(u"val_accuracy"_s).toDouble());
            QVERIFY(x.value(u"energy_per_inference_j"_s).isNull());
            QVERIFY(x.value(u"spec"_s).toObject().contains(u"layers"_s));
            QVERIFY(x.value(u"macs"_s).toDouble() > 0);
            onFront += x.value(u"on_front"_s).toBool() ? 1 : 0;
        }
        QCOMPARE(double(onFront), first.metrics.at(u"nas_front_size"_s));
        QVERIFY(onFront >= 1);
        QCOMPARE(first.metrics.at(u"nas_candidates"_s), 4.0);
        QVERIFY(!first.metrics.contains(u"nas_chosen_energy_per_inference_j"_s));
        QVERIFY(!first.metrics.contains(u"nas_chosen_energy_per_inference_j_estimate"_s));
        const int best = a.value(u"best"_s).toInt();
        const QString bestKey = ca.at(best).toObject().value(u"key"_s).toString();
        QVERIFY(model);
        QCOMPARE(model->name(), u"nas-"_s + bestKey);
        if (Strategy(strategy) == Strategy::Evolution) // after P = 2 random ones, mutations
            QVERIFY(ca.at(2).toObject().value(u"parent"_s).toInt() >= 0);
    }
};

QTEST_GUILESS_MAIN(TestNasSearch)
#include "tst_nas_search.moc"
