// SPDX-License-Identifier: GPL-3.0-or-later
// The pure parts of data selection: subset sizes and ratio schedules, seeded draws (same seed,
// same rows; other seed, other rows), class-stratified draws, top-k and score-bin selection,
// EL2N on hand-made logits, forgetting events on a hand-made correctness sequence.
#include "plugins/data_common/selection.h"

#include <QtTest>

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <set>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

/// 1000 labels in 5 unequal classes: class c has 100 + 50 c rows.
torch::Tensor unequalLabels()
{
    std::vector<int64_t> y;
    for (int64_t c = 0; c < 5; ++c)
        for (int64_t i = 0; i < 100 + 50 * c; ++i)
            y.push_back(c);
    return torch::tensor(y, torch::TensorOptions(torch::kLong)); // 100,150,200,250,300 = 1000
}

std::map<int64_t, int64_t> classCounts(const torch::Tensor &y, const std::vector<int64_t> &rows)
{
    std::map<int64_t, int64_t> out;
    for (int64_t r : rows)
        ++out[y[r].item<int64_t>()];
    return out;
}

bool sortedDistinctInRange(const std::vector<int64_t> &rows, int64_t n)
{
    for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i] < 0 || rows[i] >= n)
            return false;
        if (i > 0 && rows[i] <= rows[i - 1])
            return false;
    }
    return true;
}

} // namespace

class TestDataSelection : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void subsetCountsRoundAndClamp()
    {
        QCOMPARE(data::subsetCount(60000, 0.5), 30000);
        QCOMPARE(data::subsetCount(7, 0.5), 4); // 3.5 rounds up
        QCOMPARE(data::subsetCount(10, 0.001), 1);
        QCOMPARE(data::subsetCount(10, 1.0), 10);
        QCOMPARE(data::subsetCount(0, 0.5), 0);
    }

    void ratioSchedules()
    {
        QString error;
        auto constant = data::RatioSchedule::fromParams({{u"ratio"_s, 0.4}}, &error);
        QVERIFY2(constant, qPrintable(error));
        QCOMPARE(constant->at(0, 5), 0.4);
        QCOMPARE(constant->at(4, 5), 0.4);
        auto linear = data::RatioSchedule::fromParams(
            {{u"ratio"_s, 0.8}, {u"ratio_schedule"_s, u"linear"_s}, {u"ratio_end"_s, 0.2}}, &error);
        QVERIFY2(linear, qPrintable(error));
        QCOMPARE(linear->at(0, 4), 0.8);
        QVERIFY(std::fabs(linear->at(1, 4) - 0.6) < 1e-12);
        QVERIFY(std::fabs(linear->at(2, 4) - 0.4) < 1e-12);
        QCOMPARE(linear->at(3, 4), 0.2);
        QCOMPARE(linear->at(0, 1), 0.8); // one epoch: the start ratio
        QCOMPARE(data::subsetCount(1000, linear->at(1, 4)), 600);
        QVERIFY(!data::RatioSchedule::fromParams(
            {{u"ratio"_s, 0.2}, {u"ratio_schedule"_s, u"linear"_s}, {u"ratio_end"_s, 0.5}},
            &error));
        QVERIFY2(error.contains(u"params.ratio_end"_s), qPrintable(error));
    }

    void randomRowsAreSeeded()
    {
        const auto a = data::randomRows(1000, 300, 7);
        const auto b = data::randomRows(1000, 300, 7);
        const auto c = data::randomRows(1000, 300, 8);
        QCOMPARE(int64_t(a.size()), 300);
        QVERIFY(sortedDistinctInRange(a, 1000));
        QVERIFY(a == b);
        QVERIFY(a != c);
        // Not a prefix or a stride: spread over the whole range.
        QVERIFY(a.front() < 50 && a.back() > 950);
        QCOMPARE(int64_t(data::randomRows(10, 10, 1).size()), 10);
    }

    void stratifiedKeepsClassShares()
    {
        const torch::Tensor y = unequalLabels();
        const auto rows = data::stratifiedRandomRows(y, 500, 3);
        QCOMPARE(int64_t(rows.size()), 500);
        QVERIFY(sortedDistinctInRange(rows, 1000));
        const auto counts = classCounts(y, rows);
        QCOMPARE(counts.at(0), 50);
        QCOMPARE(counts.at(1), 75);
        QCOMPARE(counts.at(2), 100);
        QCOMPARE(counts.at(3), 125);
        QCOMPARE(counts.at(4), 150);
        QVERIFY(rows == data::stratifiedRandomRows(y, 500, 3));
        QVERIFY(rows != data::stratifiedRandomRows(y, 500, 4));
        // 333 of 1000: shares 33.3, 49.95, 66.6, 83.25, 99.9 -> largest remainders get the rest.
        const auto odd = classCounts(y, data::stratifiedRandomRows(y, 333, 3));
        int64_t total = 0;
        for (const auto &[c, k] : odd) {
            total += k;
            const double exact = 333.0 * (100 + 50 * c) / 1000.0;
            QVERIFY(std::fabs(double(k) - exact) < 1.0);
        }
        QCOMPARE(total, 333);
    }

    void hardestRowsTakeTheHighestScores()
    {
        const std::vector<double> s{0.1, 0.9, 0.5, 0.9, 0.0, 0.7};
        QCOMPARE(data::hardestRows(s, 3), (std::vector<int64_t>{1, 3, 5}));
        QCOMPARE(data::hardestRows(s, 1), (std::vector<int64_t>{1})); // tie: lower row first
        QCOMPARE(data::hardestRows(s, 10).size(), size_t(6));
    }

    void binStratifiedCoversTheScoreRange()
    {
        // 900 easy rows (score ~0), 90 medium (~0.5), 10 hard (~1): hardest-first would take
        // only hard and medium rows; the stratified share takes from every bin.
        std::vector<double> s;
        for (int i = 0; i < 900; ++i)
            s.push_back(0.01 * (i % 10) / 10.0);
        for (int i = 0; i < 90; ++i)
            s.push_back(0.5 + 0.001 * i);
        for (int i = 0; i < 10; ++i)
            s.push_back(0.99 + 0.001 * i);
        const auto rows = data::binStratifiedRows(s, 150, 3, 11);
        QCOMPARE(int64_t(rows.size()), 150);
        QVERIFY(sortedDistinctInRange(rows, 1000));
        int easy = 0, medium = 0, hard = 0;
        for (int64_t r : rows)
            (r < 900 ? easy : r < 990 ? medium : hard) += 1;
        // Budget 150 over 3 bins: the hard bin has only 10 -> 10, then 70 and 70.
        QCOMPARE(hard, 10);
        QCOMPARE(medium, 70);
        QCOMPARE(easy, 70);
        QVERIFY(rows == data::binStratifiedRows(s, 150, 3, 11));
        QVERIFY(rows != data::binStratifiedRows(s, 150, 3, 12));
        QCOMPARE(int64_t(data::binStratifiedRows(s, 1000, 7, 1).size()), 1000);
    }

    void el2nOfHandMadeLogits()
    {
        // Row 0: logits (0, 0) -> p = (0.5, 0.5), target 0 -> ||(-0.5, 0.5)|| = sqrt(0.5).
        // Row 1: logits (ln 3, 0) -> p = (0.75, 0.25), target 1 -> ||(0.75, -0.75)||.
        // Row 2: a confident right answer -> ~0.
        const torch::Tensor logits =
            torch::tensor({0.0, 0.0, std::log(3.0), 0.0, 20.0, -20.0}).reshape({3, 2});
        const torch::Tensor targets = torch::tensor({0, 1, 0}, torch::kLong);
        const torch::Tensor s = data::el2nScores(logits.to(torch::kFloat), targets);
        QCOMPARE(s.size(0), 3);
        QVERIFY(std::fabs(s[0].item<double>() - std::sqrt(0.5)) < 1e-6);
        QVERIFY(std::fabs(s[1].item<double>() - 0.75 * std::sqrt(2.0)) < 1e-6);
        QVERIFY(s[2].item<double>() < 1e-6);
    }

    void forgettingEventsOfAHandMadeSequence()
    {
        data::ForgettingCounter c(4);
        auto present = [&](std::vector<int64_t> rows, std::vector<int> correct) {
            c.record(torch::tensor(rows, torch::kLong),
                     torch::tensor(std::vector<int64_t>(correct.begin(), correct.end()))
                         .to(torch::kBool));
        };
        // row 0: 1 0 1 0 -> 2 events; row 1: 0 1 1 1 -> 0 (learned, unforgettable);
        // row 2: 0 0 0 0 -> never learned; row 3: 1 1 0 (presented 3 times) -> 1 event.
        present({0, 1, 2, 3}, {1, 0, 0, 1});
        present({3, 2, 1, 0}, {1, 0, 1, 0});
        present({0, 1}, {1, 1});
        present({2, 3}, {0, 0});
        present({0, 1, 2}, {0, 1, 0});
        QCOMPARE(c.events(0), 2);
        QCOMPARE(c.events(1), 0);
        QCOMPARE(c.events(2), 0);
        QCOMPARE(c.events(3), 1);
        QCOMPARE(c.presentations(3), 3);
        QVERIFY(!c.learned(2));
        QCOMPARE(c.unforgettable(), 1);
        QCOMPARE(c.neverLearned(), 1);
        // Never learned ranks above the most-forgotten row: max events (2) + 1.
        QCOMPARE(c.scores(), (std::vector<double>{2, 0, 3, 1}));
        QCOMPARE(data::hardestRows(c.scores(), 2), (std::vector<int64_t>{0, 2}));
    }
};

QTEST_GUILESS_MAIN(TestDataSelection)
#include "tst_data_selection.moc"
