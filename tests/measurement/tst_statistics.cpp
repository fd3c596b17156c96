// SPDX-License-Identifier: GPL-3.0-or-later
// Statistics helpers against values computed by hand.
#include "measurement/statistics.h"

#include <QtTest>

#include <cmath>

using namespace jb;

class TestStatistics : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void meanAndSampleStandardDeviation()
    {
        const std::vector<double> v{12, 15, 11, 14, 13};
        QCOMPARE(stats::mean(v), 13.0);
        // squares of deviations 1+4+4+1+0 = 10, / (5-1) = 2.5
        QCOMPARE(stats::standardDeviation(v), std::sqrt(2.5));
        const QList<double> q{2.0, 4.0};
        QCOMPARE(stats::mean(q), 3.0);
        QCOMPARE(stats::standardDeviation(q), std::sqrt(2.0));
        QVERIFY(std::isnan(stats::mean(std::vector<double>{})));
        QVERIFY(std::isnan(stats::standardDeviation(QList<double>{1.0})));
    }

    void quantilesInterpolateLinearly()
    {
        const std::vector<double> s{1, 2, 3, 4};
        QCOMPARE(stats::quantileSorted(s, 0.0), 1.0);
        QCOMPARE(stats::quantileSorted(s, 1.0), 4.0);
        QCOMPARE(stats::quantileSorted(s, 0.5), 2.5);     // h = 1.5
        QCOMPARE(stats::quantileSorted(s, 0.3), 1.9);     // h = 0.9
        QCOMPARE(stats::quantileSorted(s, 0.025), 1.075); // h = 0.075
        QCOMPARE(stats::quantileSorted(s, 0.975), 3.925); // h = 2.925
    }

    void idleBaselineAndNetEnergy()
    {
        const double idle = stats::idlePowerW(50.0, 10.0);
        QCOMPARE(idle, 5.0);
        QCOMPARE(stats::netEnergyJ(200.0, idle, 20.0), 100.0);
        QVERIFY(std::isnan(stats::idlePowerW(1.0, 0.0)));
    }

    void bootstrapOfConstantAndTwoPointData()
    {
        QString error;
        const auto c = stats::bootstrapMeanCi(std::vector<double>{7, 7, 7}, &error);
        QVERIFY2(c, qPrintable(error));
        QCOMPARE(c->lower, 7.0);
        QCOMPARE(c->upper, 7.0);
        QCOMPARE(c->estimate, 7.0);
        QCOMPARE(c->resamples, stats::kDefaultResamples);
        QCOMPARE(c->level, 0.95);
        // {0, 10}: resample means 0, 5, 10 with probability 1/4, 1/2, 1/4, so the 2.5 % and
        // 97.5 % quantiles are 0 and 10.
        const auto two = stats::bootstrapMeanCi(std::vector<double>{0, 10}, &error);
        QCOMPARE(two->lower, 0.0);
        QCOMPARE(two->upper, 10.0);
        QCOMPARE(two->estimate, 5.0);
    }

    void bootstrapOfBinaryDataMatchesTheBinomial()
    {
        // Five 0s and five 1s: a resample mean is Binomial(10, 1/2) / 10. P(X <= 1) = 1.07 %,
        // P(X <= 2) = 5.47 %, P(X <= 7) = 94.53 %, P(X <= 8) = 98.93 %: the 2.5 % and 97.5 %
        // quantiles are 0.2 and 0.8.
        const QList<double> v{0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
        QString error;
        const auto ci = stats::bootstrapMeanCi(stats::view(v), &error, 42);
        QVERIFY2(ci, qPrintable(error));
        QCOMPARE(ci->lower, 0.2);
        QCOMPARE(ci->upper, 0.8);
    }

    void bootstrapIsSeededAndNearTheNormalApproximation()
    {
        std::vector<double> v;
        for (int i = 1; i <= 10; ++i)
            v.push_back(i);
        QString error;
        const auto a = stats::bootstrapMeanCi(v, &error, 1);
        const auto b = stats::bootstrapMeanCi(v, &error, 1);
        QCOMPARE(a->lower, b->lower);
        QCOMPARE(a->upper, b->upper);
        // Another seed gives other bounds (on data whose resample means rarely coincide; for
        // 1..10 they lie on a 0.1 grid and often would).
        std::vector<double> roots;
        for (int i = 1; i <= 10; ++i)
            roots.push_back(std::sqrt(i));
        const auto r1 = stats::bootstrapMeanCi(roots, &error, 1);
        const auto r2 = stats::bootstrapMeanCi(roots, &error, 2);
        QVERIFY(r1->lower != r2->lower && r1->upper != r2->upper);
        // Bootstrap SE = population sd / sqrt(n) = 2.8723 / 3.1623 = 0.9083; 1.96 x = 1.78.
        QVERIFY2(std::abs(a->lower - (5.5 - 1.78)) < 0.15, qPrintable(QString::number(a->lower)));
        QVERIFY2(std::abs(a->upper - (5.5 + 1.78)) < 0.15, qPrintable(QString::number(a->upper)));
        const auto narrow = stats::bootstrapMeanCi(v, &error, 1, 2000, 0.5);
        QCOMPARE(narrow->resamples, 2000);
        QVERIFY(narrow->upper - narrow->lower < a->upper - a->lower);
    }

    void bootstrapErrors()
    {
        QString error;
        QVERIFY(!stats::bootstrapMeanCi(std::vector<double>{}, &error));
        QVERIFY(error.contains(QStringLiteral("empty")));
        QVERIFY(!stats::bootstrapMeanCi(std::vector<double>{1}, &error, 1, 0));
        QVERIFY(!stats::bootstrapMeanCi(std::vector<double>{1}, &error, 1, 10, 1.0));
        QVERIFY(error.contains(QStringLiteral("outside (0, 1)")));
    }

    void pairedDifference()
    {
        // Every pair differs by exactly -1 J although the runs vary by 3 J: the paired CI is
        // exactly [-1, -1].
        const std::vector<double> base{10, 12, 11, 13};
        const std::vector<double> variant{9, 11, 10, 12};
        QString error;
        const auto d = stats::pairedDifferenceCi(base, variant, &error);
        QVERIFY2(d, qPrintable(error));
        QCOMPARE(d->estimate, -1.0);
        QCOMPARE(d->lower, -1.0);
        QCOMPARE(d->upper, -1.0);
        // Pairing is by index: the reversed variant gives differences {2, -2, 0, -4}, mean -1.
        const std::vector<double> reversed{12, 10, 11, 9};
        const auto r = stats::pairedDifferenceCi(base, reversed, &error);
        QCOMPARE(r->estimate, -1.0);
        QVERIFY(r->lower < -2.0 && r->upper > 0.0);
        QVERIFY(!stats::pairedDifferenceCi(base, std::vector<double>{1, 2}, &error));
        QVERIFY(error.contains(QStringLiteral("got 2 and 4")));
    }
};

QTEST_GUILESS_MAIN(TestStatistics)
#include "tst_statistics.moc"
