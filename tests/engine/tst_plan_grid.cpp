// SPDX-License-Identifier: GPL-3.0-or-later
// Grid expansion: size, interleaved (ABAB) and seeded shuffled order, configuration keys that
// identify a measurement across repetitions, shards and resumes, and shards that partition.
#include "engine/plan_grid.h"

#include <QJsonDocument>
#include <QSet>
#include <QtTest>

using namespace Qt::StringLiterals;
using jb::GridEntry;
using jb::Plan;
using jb::PlanOrder;
using jb::ShardSpec;

namespace {

Plan planFrom(const QByteArray &text)
{
    QStringList errors;
    const auto p = Plan::fromJsonText(text, &errors);
    if (!p)
        qFatal("test plan: %s", qPrintable(errors.join(u'\n')));
    return *p;
}

// Baseline + two variants (A = baseline, B, C), one backend, three repetitions.
Plan threeVariants()
{
    return planFrom(R"({"version": 1, "name": "g", "dataset": {"name": "mnist"},
        "model": {"zoo": "mlp"}, "repetitions": 3,
        "variants": [{"label": "A", "chain": []},
                     {"label": "B", "chain": [{"plugin": "prune.magnitude",
                                               "params": {"sparsity": 0.5}}]},
                     {"label": "C", "chain": [{"plugin": "quant.dynamic_int8"}]}]})");
}

Plan loadFixture(const QString &name)
{
    QStringList errors;
    const auto p = Plan::load(QStringLiteral(JB_TEST_DATA_DIR "/plans/") + name, &errors);
    if (!p)
        qFatal("fixture %s: %s", qPrintable(name), qPrintable(errors.join(u'\n')));
    return *p;
}

QString labels(const QList<GridEntry> &grid)
{
    QString s;
    for (const GridEntry &e : grid)
        s += e.label + (e.backend > 0 ? QString::number(e.backend) : QString());
    return s;
}

} // namespace

class TestPlanGrid : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void interleavedOrderAlternatesVariants()
    {
        const QList<GridEntry> grid = jb::expandGrid(threeVariants());
        QCOMPARE(grid.size(), 3 * 1 * 3);
        QCOMPARE(labels(grid), u"ABCABCABC"_s);
        for (qsizetype i = 0; i < grid.size(); ++i) {
            QCOMPARE(grid.at(i).index, i);
            QCOMPARE(grid.at(i).repetition, i / 3);
            QCOMPARE(grid.at(i).backendId, u"cpu"_s);
        }
        QVERIFY(grid.at(0).baseline);
        QVERIFY(!grid.at(1).baseline);
    }

    void backendsAreOuterVariantsInner()
    {
        Plan p = threeVariants();
        p.backends = {u"cpu:1"_s, u"cpu:2"_s};
        p.repetitions = 2;
        const QList<GridEntry> grid = jb::expandGrid(p);
        QCOMPARE(grid.size(), 3 * 2 * 2);
        // Label plus backend index: the baseline and its variants run back to back per backend.
        QCOMPARE(labels(grid), u"ABCA1B1C1ABCA1B1C1"_s);
        QCOMPARE(grid.at(3).backendId, u"cpu:2"_s);
    }

    void gridSizeIsVariantsTimesBackendsTimesRepetitions()
    {
        const Plan p = loadFixture(u"techniques.json"_s); // 3 variants, 2 backends, 4 reps
        QCOMPARE(jb::expandGrid(p).size(), 3 * 2 * 4);
        QCOMPARE(jb::expandGrid(loadFixture(u"tiny.json"_s)).size(), 1 * 1 * 2);
    }

    void shuffledOrderIsSeededAndBlocked()
    {
        Plan p = threeVariants();
        p.variants.append({u"D"_s, {{u"x.d"_s, {}}}});
        p.variants.append({u"E"_s, {{u"x.e"_s, {}}}});
        p.repetitions = 6;
        p.order = PlanOrder::Shuffled;
        p.seed = 1;
        const QList<GridEntry> a = jb::expandGrid(p);
        QCOMPARE(jb::expandGrid(p), a); // same seed, same order
        // Each round holds every cell once (blocked randomisation), and the rounds differ.
        QSet<QString> rounds;
        for (int r = 0; r < 6; ++r) {
            const QString round = labels(a.mid(r * 5, 5));
            QString sorted = round;
            std::sort(sorted.begin(), sorted.end());
            QCOMPARE(sorted, u"ABCDE"_s);
            rounds.insert(round);
        }
        QVERIFY(rounds.size() > 1);
        // The order is pinned: mt19937_64 and our own bounded draw are the same everywhere.
        QCOMPARE(labels(a), u"BEACDADCBEEBCADABEDCBADCEABCED"_s);
        p.seed = 2;
        QVERIFY(labels(jb::expandGrid(p)) != labels(a));
        // The config keys do not depend on the order.
        Plan interleaved = p;
        interleaved.order = PlanOrder::Interleaved;
        QSet<QString> k1, k2;
        for (const GridEntry &e : a)
            k1.insert(e.configKey);
        for (const GridEntry &e : jb::expandGrid(interleaved))
            k2.insert(e.configKey);
        QCOMPARE(k1, k2);
    }

    void configKeysIdentifyTheMeasurement()
    {
        const Plan p = threeVariants();
        const QList<GridEntry> grid = jb::expandGrid(p);
        // Repetitions of a cell share the key; cells differ.
        for (const GridEntry &e : grid)
            QCOMPARE(e.configKey, grid.at(e.variant).configKey);
        QCOMPARE(QSet<QString>({grid.at(0).configKey, grid.at(1).configKey, grid.at(2).configKey})
                     .size(),
                 3);
        QCOMPARE(grid.at(0).configKey.size(), 16);
        for (const GridEntry &e : grid)
            QCOMPARE(e.baselineKey, grid.at(0).configKey);

        // Things that do not change what is measured keep the key ...
        Plan q = p;
        q.name = u"renamed"_s;
        q.description = u"other"_s;
        q.repetitions = 7;
        q.accuracyBudget = 3.0;
        q.cacheBaseline = false;
        q.variants[1].label = u"B-renamed"_s;
        q.order = PlanOrder::Shuffled;
        q.seed = 99;
        q.dataset.seed = p.dataset.seed;
        q.training.seed = p.training.seed;
        QCOMPARE(jb::gridConfigKey(jb::gridEntryConfig(q, 1, 0)), grid.at(1).configKey);

        // ... and those that do change it.
        auto keyOf = [](const Plan &x, qsizetype v) {
            return jb::gridConfigKey(jb::gridEntryConfig(x, v, 0));
        };
        Plan r = p;
        r.variants[1].chain[0].params[u"sparsity"_s] = 0.6;
        QVERIFY(keyOf(r, 1) != grid.at(1).configKey);
        QCOMPARE(keyOf(r, 0), grid.at(0).configKey);
        r = p;
        r.backends = {u"cpu:2"_s};
        QVERIFY(keyOf(r, 0) != grid.at(0).configKey);
        r = p;
        r.training.epochs = 3;
        QVERIFY(keyOf(r, 0) != grid.at(0).configKey);
        r = p;
        r.inference.batchSizes = {1};
        QVERIFY(keyOf(r, 0) != grid.at(0).configKey);
        r = p;
        r.dataset.seed = 1;
        QVERIFY(keyOf(r, 0) != grid.at(0).configKey);
    }

    void configKeyIsStableAcrossVersions()
    {
        // A changed key would orphan every stored run on resume and merge: change it only
        // with a new "configVersion".
        const QList<GridEntry> grid = jb::expandGrid(loadFixture(u"tiny.json"_s));
        const QJsonObject config = jb::gridEntryConfig(loadFixture(u"tiny.json"_s), 0, 0);
        QCOMPARE(config.value(u"configVersion"_s).toInt(), 1);
        QCOMPARE(config.keys(),
                 (QStringList{u"backend"_s, u"chain"_s, u"configVersion"_s, u"dataset"_s,
                              u"inference"_s, u"measurement"_s, u"model"_s, u"training"_s}));
        QCOMPARE(grid.at(0).configKey, u"4bd428dcd267cdf9"_s);
        QCOMPARE(grid.at(1).configKey, grid.at(0).configKey);
    }

    void shardsPartitionTheGrid()
    {
        const QList<GridEntry> grid = jb::expandGrid(loadFixture(u"techniques.json"_s));
        QCOMPARE(grid.size(), 24);
        const qsizetype reps = jb::shardRepetitionCount(grid);
        QVERIFY(reps > 1);
        const qsizetype perRep = grid.size() / reps;
        for (int n = 1; n <= 30; ++n) {
            QList<qsizetype> all;
            qsizetype smallest = grid.size(), largest = 0;
            for (int i = 0; i < n; ++i) {
                const QList<GridEntry> shard = jb::shardOf(grid, {i, n});
                smallest = std::min(smallest, shard.size());
                largest = std::max(largest, shard.size());
                QSet<qint64> shardReps;
                for (qsizetype k = 0; k < shard.size(); ++k) {
                    all.append(shard.at(k).index);
                    shardReps.insert(shard.at(k).repetition);
                    QCOMPARE(shard.at(k), grid.at(shard.at(k).index)); // entries kept whole
                    if (k > 0) // the run order (and so the interleaving) is kept
                        QVERIFY(shard.at(k).index > shard.at(k - 1).index);
                }
                // whole repetitions: every variant beside its paired baseline
                QCOMPARE(shard.size(), shardReps.size() * perRep);
                QCOMPARE(shard.isEmpty(), i >= reps);
            }
            std::sort(all.begin(), all.end());
            QCOMPARE(all.size(), grid.size()); // disjoint ...
            for (qsizetype k = 0; k < all.size(); ++k)
                QCOMPARE(all.at(k), k); // ... and complete
            if (n <= reps)              // balanced to one repetition
                QVERIFY(largest - smallest <= perRep);
        }
        QCOMPARE(jb::shardOf(grid, {0, 1}), grid);
        QVERIFY(jb::shardOf(grid, {3, 2}).isEmpty()); // invalid spec: nothing, not everything
    }

    void shardSpecParsing()
    {
        QString error;
        QCOMPARE(jb::parseShardSpec(u"0/4"_s, &error), (ShardSpec{0, 4}));
        QCOMPARE(jb::parseShardSpec(u" 3 / 4 "_s, &error), (ShardSpec{3, 4}));
        QVERIFY(!jb::parseShardSpec(u"4/4"_s, &error));
        QCOMPARE(error, u"shard \"4/4\": the index 4 is not below the count 4, expected 0/4 to "
                        "3/4 (shards count from 0)"_s);
        QVERIFY(!jb::parseShardSpec(u"1/0"_s, &error));
        QCOMPARE(error, u"shard \"1/0\": the shard count is 0, expected at least 1"_s);
        QVERIFY(!jb::parseShardSpec(u"2of4"_s, &error));
        QCOMPARE(error, u"shard \"2of4\" is not I/N, expected e.g. 0/4 (shard 0 of 4; shards "
                        "count from 0)"_s);
        QVERIFY(!jb::parseShardSpec(u"-1/4"_s, &error));
    }
};

QTEST_GUILESS_MAIN(TestPlanGrid)
#include "tst_plan_grid.moc"
