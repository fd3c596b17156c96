// SPDX-License-Identifier: GPL-3.0-or-later
// gui_screenshots OUTDIR: renders the documentation screenshots offscreen (QWidget::grab):
// the main window with the default plan, the run monitor replaying the recorded JSONL stream,
// and the results views of the fixture database. Not a test; run by hand:
//   QT_QPA_PLATFORM=offscreen build/bin/gui_screenshots docs/screenshots
#include "gui/main_window.h"
#include "gui/plan_designer.h"
#include "gui/results_browser.h"
#include "gui/run_monitor.h"
#include "gui/variant_chain_editor.h"
#include "gui_fixtures.h"

#include <QApplication>
#include <QDir>
#include <QTabWidget>
#include <QTemporaryDir>

using namespace jb;
using namespace jb::gui;

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("JouleBench-screenshots"));
    QApplication::setApplicationName(QStringLiteral("joulebench"));
    const QString out = argc > 1 ? QString::fromLocal8Bit(argv[1]) : QStringLiteral(".");
    QDir().mkpath(out);
    QTemporaryDir tmp;
    const QString db = tmp.filePath(QStringLiteral("fixture.sqlite"));
    const qint64 exp = test::buildFixtureDatabase(db, 600);

    MainWindow w;
    w.resize(1500, 950);
    w.show();
    QTest::qWait(1500); // the backends probe (joulebench-cli) answers asynchronously
    w.designer()->setTechniques(test::techniqueFixture()); // no plugins built yet: the fixture
    w.designer()->chainEditor()->addStep(QStringLiteral("prune.magnitude"));
    QTest::qWait(200);
    w.grab().save(out + QStringLiteral("/designer.png"));

    w.tabs()->setCurrentWidget(w.monitor());
    QFile f(test::dataPath(QStringLiteral("run_stream.jsonl")));
    f.open(QIODevice::ReadOnly);
    const QByteArray all = f.readAll();
    w.monitor()->feed(all.left(int(all.size() * 0.7))); // mid-experiment
    QTest::qWait(300);
    w.grab().save(out + QStringLiteral("/monitor.png"));

    QString error;
    w.openDatabase(db);
    w.results()->selectExperiment(exp, &error);
    w.tabs()->setCurrentWidget(w.results());
    const QList<QPair<ResultsBrowser::View, QString>> views{
        {ResultsBrowser::View::Energy, QStringLiteral("results-energy")},
        {ResultsBrowser::View::Pareto, QStringLiteral("results-pareto")},
        {ResultsBrowser::View::Proxy, QStringLiteral("results-proxy")},
        {ResultsBrowser::View::BreakEven, QStringLiteral("results-breakeven")},
        {ResultsBrowser::View::Overlay, QStringLiteral("results-overlay")}};
    for (const auto &[view, name] : views) {
        w.results()->showView(view);
        QTest::qWait(200);
        w.grab().save(out + QLatin1Char('/') + name + QStringLiteral(".png"));
    }
    return 0;
}
