// SPDX-License-Identifier: GPL-3.0-or-later
// The results browser's "Export report…" writes the same report as the library and the CLI,
// and says which suffixes it knows.
#include "report_fixture.h"

#include "gui/results_browser.h"
#include "report/report.h"

#include <QPushButton>
#include <QTemporaryDir>
#include <QTest>

using namespace jb;
using namespace jb::test;

class TstReportGui : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void exportFromResultsBrowser()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(u"fixture.sqlite"_s);
        const qint64 experiment = buildFixture(path);

        gui::ResultsBrowser browser;
        QVERIFY(browser.findChild<QPushButton *>(u"exportReport"_s));
        QString error;
        QVERIFY(!browser.exportReport(dir.filePath(u"none.html"_s), &error));
        QVERIFY2(error.contains(u"no experiment selected"_s), qPrintable(error));
        QVERIFY2(browser.openDatabase(path, &error), qPrintable(error));
        QVERIFY2(browser.selectExperiment(experiment, &error), qPrintable(error));
        for (const QString &suffix : {u"html"_s, u"md"_s, u"csv"_s, u"pdf"_s})
            QVERIFY2(browser.exportReport(dir.filePath(u"gui."_s + suffix), &error),
                     qPrintable(error));
        QVERIFY(!browser.exportReport(dir.filePath(u"x.docx"_s), &error));
        QVERIFY2(error.contains(u"use .html, .pdf, .md or .csv"_s), qPrintable(error));

        db::Store store;
        QVERIFY2(store.open(path, db::Store::OpenMode::ReadOnly, &error), qPrintable(error));
        for (const auto &[format, suffix] : QList<std::pair<report::Format, QString>>{
                 {report::Format::Html, u"html"_s}, {report::Format::Csv, u"csv"_s}}) {
            QVERIFY2(report::writeReport(store, experiment, format,
                                         dir.filePath(u"lib."_s + suffix), &error),
                     qPrintable(error));
            QCOMPARE(readAll(dir.filePath(u"gui."_s + suffix)),
                     readAll(dir.filePath(u"lib."_s + suffix)));
        }
        QVERIFY(readAll(dir.filePath(u"gui.pdf"_s)).startsWith("%PDF-"));
        QVERIFY(readAll(dir.filePath(u"gui-energy-package-0.png"_s)).startsWith("\x89PNG"));
    }
};

QTEST_MAIN(TstReportGui)
#include "tst_report_gui.moc"
