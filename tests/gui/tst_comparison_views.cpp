// SPDX-License-Identifier: GPL-3.0-or-later
// Comparison views built from a fixture database (Store API): series counts and values.
#include "gui/chart_export.h"
#include "gui/comparison_charts.h"
#include "gui/results_browser.h"
#include "gui_fixtures.h"

#include <QTemporaryDir>
#include <QTreeWidget>

#include "gui/qcp.h"

using namespace jb;
using namespace jb::gui;

class TestComparisonViews : public QObject
{
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_db;
    qint64 m_exp = 0;

private Q_SLOTS:
    void initTestCase()
    {
        m_db = m_dir.filePath(QStringLiteral("fixture.sqlite"));
        m_exp = test::buildFixtureDatabase(m_db);
    }

    void browserListsRunsWithStatus()
    {
        ResultsBrowser b;
        QString error;
        QVERIFY2(b.openDatabase(m_db, &error), qPrintable(error));
        QCOMPARE(b.tree()->topLevelItemCount(), 1);
        QCOMPARE(b.tree()->topLevelItem(0)->childCount(), 9);
        QCOMPARE(b.tree()->topLevelItem(0)->child(0)->text(3), QStringLiteral("completed"));
    }

    void chartsShowTheStoredFigures()
    {
        ResultsBrowser b;
        QString error;
        QVERIFY(b.openDatabase(m_db, &error));
        QVERIFY2(b.selectExperiment(m_exp, &error), qPrintable(error));
        const ComparisonData &d = *b.data();
        QCOMPARE(d.variants.size(), 3);
        QCOMPARE(d.variants.at(0).label, QStringLiteral("baseline"));
        QVERIFY(d.variants.at(0).baseline);
        QCOMPARE(d.phases, (QStringList{QStringLiteral("train"), QStringLiteral("prepare"),
                                        QStringLiteral("evaluate"), QStringLiteral("inference:b64")}));
        QCOMPARE(d.batchSize, 64);
        QVERIFY(!d.estimate);

        // Energy bars: one bar series per variant, each with CI error bars (3 repetitions).
        QCustomPlot *bars = b.plot(ResultsBrowser::View::Energy);
        int barSeries = 0, errorSeries = 0;
        for (int i = 0; i < bars->plottableCount(); ++i) {
            if (auto *s = qobject_cast<QCPBars *>(bars->plottable(i))) {
                ++barSeries;
                QCOMPARE(s->data()->size(), 4);
            }
            errorSeries += qobject_cast<QCPErrorBars *>(bars->plottable(i)) ? 1 : 0;
        }
        QCOMPARE(barSeries, 3);
        QCOMPARE(errorSeries, 3);
        // prune-50 prepare: net 40, 41, 42 -> mean 41; train of the baseline 100..102 -> 101.
        auto *prune = qobject_cast<QCPBars *>(bars->plottable(2)); // bars, error, bars, ...
        QVERIFY(prune);
        QCOMPARE(prune->data()->at(1)->value, 41.0);
        QCOMPARE(d.variants.at(0).phaseNet.at(0).mean, 101.0);
        QVERIFY(d.variants.at(0).phaseNet.at(0).lower && *d.variants.at(0).phaseNet.at(0).lower >= 100.0);
        // Gross = net + 5 W x duration (train 10 s).
        QCOMPARE(d.variants.at(0).phaseGross.at(0).mean, 151.0);

        // Pareto: all three are on the front (less energy, less accuracy each).
        QCOMPARE(d.paretoFront().size(), 3);
        QCOMPARE(d.variants.at(1).accuracyPct.mean, 89.5);
        QCustomPlot *pareto = b.plot(ResultsBrowser::View::Pareto);
        QCOMPARE(pareto->graphCount(), 4); // 3 points + the front

        // Break-even of prune-50: cost 41 J, saving (0.00301 - 0.00201) J per inference.
        const std::optional<double> n = d.breakEvenInferences(1);
        QVERIFY(n);
        QVERIFY(qAbs(*n - 41.0 / 0.001) < 1e-6 * 41000);
        QCOMPARE(b.plot(ResultsBrowser::View::BreakEven)->graphCount(), 3);

        // Proxy vs measured: MACs and energy per inference are perfectly rank-correlated.
        double r = 0, rho = 0;
        QCustomPlot scratch;
        QCOMPARE(ComparisonCharts::proxyVsMeasured(&scratch, d, true, &r, &rho), 3);
        QCOMPARE(rho, 1.0);
        QVERIFY(r > 0.95 && r <= 1.0);

        // Overlay: one run per variant, each as a band (2 graphs) and a mean line.
        QCOMPARE(b.plot(ResultsBrowser::View::Overlay)->graphCount(), 9);
        QVERIFY(b.plot(ResultsBrowser::View::Overlay)->graph(2)->dataCount() > 10);

        const QString csv = b.tableCsv();
        QCOMPARE(csv.count(u'\n'), 4);
        QVERIFY(csv.startsWith(QStringLiteral("variant,n,flags,accuracy %")));
        QVERIFY(csv.contains(QStringLiteral("prune-50,3,,89.5,")));
    }

    void zoomingTheOverlayRefinesTheDetail()
    {
        // 20,000 samples per run (2,000 s at 10 Hz): more than the 1,500 buckets drawn at once.
        const QString path = m_dir.filePath(QStringLiteral("long.sqlite"));
        test::buildFixtureDatabase(path, 20000);
        db::Store store;
        QString error;
        QVERIFY2(store.open(path, db::Store::OpenMode::ReadOnly, &error), qPrintable(error));
        const QList<qint64> runs{1};
        QCustomPlot plot;
        QCOMPARE(ComparisonCharts::powerOverlay(&plot, store, runs, QStringLiteral("package-0"),
                                                QStringLiteral("train"), 1500, &error),
                 1);
        QCPGraph *mean = plot.graph(2);
        const QCPRange full = plot.xAxis->range();
        const auto pointsIn = [&](const QCPRange &r) {
            int n = 0;
            for (auto it = mean->data()->constBegin(); it != mean->data()->constEnd(); ++it)
                n += r.contains(it->key);
            return n;
        };
        const QCPRange window(full.lower + 0.45 * full.size(), full.lower + 0.55 * full.size());
        const int coarse = pointsIn(window);
        QVERIFY2(coarse < 200, qPrintable(QString::number(coarse))); // ~10 % of 1,500 buckets
        plot.xAxis->setRange(window);
        QVERIFY2(ComparisonCharts::refineOverlay(&plot, store, runs, QStringLiteral("package-0"),
                                                 QStringLiteral("train"), 1500, &error),
                 qPrintable(error));
        const int fine = pointsIn(window);
        // The 200 s window holds ~2,000 sample intervals: now drawn at up to 1,500 buckets.
        QVERIFY2(fine > 5 * coarse, qPrintable(QStringLiteral("coarse %1, fine %2").arg(coarse).arg(fine)));
        QCOMPARE(plot.xAxis->range().lower, window.lower); // the view stays where the user zoomed
    }

    void chartsSaveAsPngSvgAndPdf()
    {
        ResultsBrowser b;
        QString error;
        QVERIFY2(b.openDatabase(m_db, &error), qPrintable(error));
        QCustomPlot *plot = b.plot(ResultsBrowser::View::Energy);
        const QList<QPair<QString, QByteArray>> formats{{QStringLiteral("png"), "\x89PNG"},
                                                        {QStringLiteral("svg"), "<?xml"},
                                                        {QStringLiteral("pdf"), "%PDF"}};
        for (const auto &[suffix, magic] : formats) {
            const QString path = m_dir.filePath(QStringLiteral("chart.") + suffix);
            QVERIFY2(ChartExport::save(plot, path, &error), qPrintable(error));
            QFile f(path);
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QByteArray bytes = f.readAll();
            QVERIFY2(bytes.startsWith(magic), qPrintable(suffix));
            if (suffix == QLatin1String("svg")) // vector output, legend text included
                QVERIFY2(bytes.contains("<svg") && bytes.contains("<text") &&
                             bytes.contains("<polyline"),
                         bytes.mid(400, 1200).constData());
        }
        QVERIFY(!ChartExport::save(plot, m_dir.filePath(QStringLiteral("chart.bmp")), &error));
        QVERIFY2(error.contains(QStringLiteral("use .png, .svg or .pdf")), qPrintable(error));
    }

    void grossToggleRedraws()
    {
        ResultsBrowser b;
        QString error;
        QVERIFY(b.openDatabase(m_db, &error));
        QVERIFY(b.selectExperiment(m_exp, &error));
        b.setNet(false);
        auto *base = qobject_cast<QCPBars *>(b.plot(ResultsBrowser::View::Energy)->plottable(0));
        QCOMPARE(base->data()->at(0)->value, 151.0);
    }
};

QTEST_MAIN(TestComparisonViews)
#include "tst_comparison_views.moc"
