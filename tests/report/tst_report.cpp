// SPDX-License-Identifier: GPL-3.0-or-later
// Comparison reports (app/report): golden files for HTML, Markdown and CSV from a fixture
// database built here from fixed numbers, byte-identical reports of the same database,
// escaping of user text, no script or remote resource, estimate markers, the methods
// statement, the PDF, and `joulebench-cli report`.
//
// Regenerate the goldens after an intended change:
//   JB_UPDATE_GOLDEN=1 build/bin/tst_report   (then review `git diff tests/data/report`)
#include "report_fixture.h"

#include "report/report.h"
#include "report/report_document.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace jb;
using namespace Qt::StringLiterals;

using namespace jb::test;

namespace {

/// The path of the temporary database and the chart pixels depend on the machine (fonts), so
/// the goldens hold placeholders for them; determinism of the PNG bytes is tested separately.
QByteArray normalised(QByteArray text, const QString &dbPath)
{
    text.replace(dbPath.toUtf8(), "@DB@");
    static const QRegularExpression png(u"data:image/png;base64,[A-Za-z0-9+/=]+"_s);
    return QString::fromUtf8(text).replace(png, u"data:image/png;base64,@PNG@"_s).toUtf8();
}

void compareGolden(const QByteArray &actual, const QString &name)
{
    const QString golden = QStringLiteral(JB_TEST_DATA_DIR "/report/") + name;
    if (qEnvironmentVariableIsSet("JB_UPDATE_GOLDEN")) {
        QDir().mkpath(QFileInfo(golden).path());
        QFile f(golden);
        QVERIFY2(f.open(QIODevice::WriteOnly | QIODevice::Truncate), qPrintable(golden));
        f.write(actual);
        qInfo("updated %s", qPrintable(golden));
        return;
    }
    const QByteArray expected = readAll(golden);
    QVERIFY2(!expected.isEmpty(),
             qPrintable(golden + u" is missing; run with JB_UPDATE_GOLDEN=1"_s));
    if (actual != expected) {
        const QList<QByteArray> a = actual.split('\n'), e = expected.split('\n');
        for (qsizetype i = 0; i < std::max(a.size(), e.size()); ++i)
            if (a.value(i) != e.value(i))
                QFAIL(qPrintable(
                    u"%1 differs at line %2:\n  expected: %3\n  actual:   %4\n"
                    "(JB_UPDATE_GOLDEN=1 regenerates it after an intended change)"_s.arg(name)
                        .arg(i + 1)
                        .arg(QString::fromUtf8(e.value(i).left(300)),
                             QString::fromUtf8(a.value(i).left(300)))));
    }
}

} // namespace

class TstReport : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_db;
    qint64 m_experiment = 0;
    db::Store m_store;

    QString out(const QString &name) const { return m_dir.filePath(name); }
    QByteArray write(report::Format format, const QString &name)
    {
        QString error;
        if (!report::writeReport(m_store, m_experiment, format, out(name), &error))
            qWarning("%s", qPrintable(error));
        return readAll(out(name));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath(u"fixture.sqlite"_s);
        m_experiment = buildFixture(m_db);
        QString error;
        QVERIFY2(m_store.open(m_db, db::Store::OpenMode::ReadOnly, &error), qPrintable(error));
    }

    void formatNames()
    {
        QCOMPARE(report::formatFromName(u"HTML"_s), report::Format::Html);
        QCOMPARE(report::formatFromName(u"markdown"_s), report::Format::Markdown);
        QCOMPARE(report::formatFromName(u"md"_s), report::Format::Markdown);
        QCOMPARE(report::formatFromName(u"pdf"_s), report::Format::Pdf);
        QCOMPARE(report::formatFromName(u"csv"_s), report::Format::Csv);
        QVERIFY(!report::formatFromName(u"docx"_s));
    }

    void goldenHtml()
    {
        const QByteArray html = write(report::Format::Html, u"r.html"_s);
        QVERIFY(html.startsWith("<!DOCTYPE html>"));
        compareGolden(normalised(html, m_db), u"fixture.html"_s);
    }

    void goldenMarkdown()
    {
        const QByteArray md = write(report::Format::Markdown, u"r.md"_s);
        QVERIFY(md.startsWith("# JouleBench report"));
        compareGolden(normalised(md, m_db), u"fixture.md"_s);
        // The images are beside it, one per chart linked.
        static const QRegularExpression link(u"!\\[[^\\]]*\\]\\(([^)]+)\\)"_s);
        int images = 0;
        for (const auto &m : link.globalMatch(QString::fromUtf8(md))) {
            const QByteArray png = readAll(out(m.captured(1)));
            QVERIFY2(png.startsWith("\x89PNG"), qPrintable(m.captured(1)));
            ++images;
        }
        QCOMPARE(images, 8); // energy, pareto, break-even per domain; proxy and power once
    }

    void goldenCsv()
    {
        const QByteArray csv = write(report::Format::Csv, u"r.csv"_s);
        compareGolden(normalised(csv, m_db), u"fixture.csv"_s);
        const QList<QByteArray> lines = csv.trimmed().split('\n');
        // Header, then per repetition the baseline's 4 phases, the variant's 5 and one "run"
        // row each; the failed run has only its "run" row.
        QCOMPARE(lines.size(), 1 + 2 * (5 + 4 + 2) + 1);
        const QList<QByteArray> header = lines.first().split(',');
        QVERIFY(header.contains("cpu kind"));
        QVERIFY(header.contains("package-0 net_j"));
        QVERIFY(header.contains("energy_per_inference_j/cpu [estimate]"));
        QVERIFY(header.contains("macs [proxy]"));
        const qsizetype kind = header.indexOf("cpu kind"), net = header.indexOf("package-0 net_j"),
                        phase = header.indexOf("phase");
        // Run 1 (baseline, repetition 0): train net 100 J measured, the cpu domain an estimate.
        const QList<QByteArray> train = lines.at(2).split(',');
        QCOMPARE(train.at(phase), QByteArray("train"));
        QCOMPARE(train.at(net), QByteArray("100"));
        QCOMPARE(train.at(kind), QByteArray("estimate"));
        // The hostile label is quoted, not split.
        QVERIFY(csv.contains("\"<script>alert(1)</script> & \"\"quotes\"\" 'single'\""));
    }

    void sameDatabaseSameBytes()
    {
        // The same file name in two folders (Markdown names its images after the file).
        QDir(m_dir.path()).mkpath(u"a"_s);
        QDir(m_dir.path()).mkpath(u"b"_s);
        for (const auto &[format, ext] :
             QList<std::pair<report::Format, QString>>{{report::Format::Html, u"html"_s},
                                                       {report::Format::Markdown, u"md"_s},
                                                       {report::Format::Csv, u"csv"_s},
                                                       {report::Format::Pdf, u"pdf"_s}}) {
            const QByteArray a = write(format, u"a/r."_s + ext);
            const QByteArray b = write(format, u"b/r."_s + ext);
            QVERIFY2(!a.isEmpty(), qPrintable(ext));
            QVERIFY2(a == b,
                     qPrintable(ext + u" differs between two reports of the same database"_s));
        }
        const QStringList images =
            QDir(out(u"a"_s)).entryList({u"*.png"_s}, QDir::Files, QDir::Name);
        QCOMPARE(images.size(), 8);
        for (const QString &png : images)
            QVERIFY2(readAll(out(u"a/"_s + png)) == readAll(out(u"b/"_s + png)), qPrintable(png));
    }

    void userTextEscapedNoScriptNoRemote()
    {
        const QString html = QString::fromUtf8(write(report::Format::Html, u"e.html"_s));
        QVERIFY(!html.contains(u"<script"_s, Qt::CaseInsensitive));
        QVERIFY(!html.contains(u"<b>boom"_s));
        QVERIFY(html.contains(u"&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; "
                              "&#39;single&#39;"_s));
        QVERIFY(html.contains(u"&lt;b&gt;boom&lt;/b&gt; &amp; gone"_s));
        QVERIFY(!html.contains(u"http://"_s));
        QVERIFY(!html.contains(u"https://"_s));
        static const QRegularExpression attr(u"(?:src|href)\\s*=\\s*\"([^\"]*)\""_s);
        int sources = 0;
        for (const auto &m : attr.globalMatch(html)) {
            QVERIFY2(m.captured(1).startsWith(u"data:image/png;base64,"_s),
                     qPrintable(m.captured(1).left(80)));
            ++sources;
        }
        QCOMPARE(sources, 8);
        const QString md = QString::fromUtf8(write(report::Format::Markdown, u"e.md"_s));
        QVERIFY(!md.contains(u"<script"_s, Qt::CaseInsensitive));
        QVERIFY(!md.contains(u"<b>"_s));
    }

    void estimatesMarked()
    {
        QString error;
        const auto doc = report::buildDocument(m_store, m_experiment, {}, true, &error);
        QVERIFY2(doc, qPrintable(error));
        QVERIFY(doc->anyEstimate);
        int estimateTables = 0;
        for (const report::Table &t : doc->tables) {
            const bool cpu = t.title.contains(u"domain cpu"_s);
            QCOMPARE(t.estimate, cpu);
            if (!cpu)
                continue;
            ++estimateTables;
            QVERIFY(t.title.contains(u"ESTIMATE"_s));
            QVERIFY(t.header.contains(u"kind"_s));
            bool markedColumn = false;
            for (const QString &h : t.header)
                markedColumn = markedColumn || h.endsWith(u"(estimate)"_s);
            QVERIFY2(markedColumn, qPrintable(t.title));
            for (const QStringList &row : t.rows)
                QCOMPARE(row.at(t.header.indexOf(u"kind"_s)), u"estimate"_s);
        }
        QCOMPARE(estimateTables, 2);
        int estimateCharts = 0;
        for (const report::Chart &c : doc->charts) {
            QCOMPARE(c.estimate, c.id.endsWith(u"-cpu"_s));
            // The single proxy and power charts use the measured domain.
            if (c.id.startsWith(u"proxy"_s) || c.id.startsWith(u"power"_s))
                QVERIFY2(c.id.endsWith(u"-package-0"_s), qPrintable(c.id));
            if (c.estimate) {
                QVERIFY(c.title.contains(u"(estimate)"_s));
                ++estimateCharts;
            }
        }
        QCOMPARE(estimateCharts, 3);
        const QString html = QString::fromUtf8(report::renderHtml(*doc));
        QVERIFY(html.contains(u"class=\"legend\""_s));
        QCOMPARE(html.count(u"<span class=\"marker\">estimate</span>"_s), 1 + 2 + 3);
    }

    void methodsStatement()
    {
        QString error;
        const auto doc = report::buildDocument(m_store, m_experiment, {}, false, &error);
        QVERIFY2(doc, qPrintable(error));
        const QString m = doc->methods.join(u'\n');
        for (const QString &needle :
             {u"host node-7: CPU Fixture CPU 3000 (4 physical cores, 8 logical CPUs"_s,
              u"Debian GNU/Linux 12"_s,
              u"Linux 6.1.0"_s,
              u"16 GiB memory"_s,
              u"governor performance"_s,
              u"RAPL (powercap) [rapl-powercap, kind measured"_s,
              u"[estimate, kind estimate"_s,
              u"package-0 (measured, meter rapl-powercap)"_s,
              u"cpu (estimate, meter estimate)"_s,
              u"10 Hz (plan setting; achieved 9.80 Hz"_s,
              u"idle window of 2 s"_s,
              u"E_net = E_gross - P_idle x t"_s,
              u"run 2 times"_s,
              u"interleaved"_s,
              u"batch sizes 64 with 100 measured batches"_s,
              u"percentile-bootstrap"_s,
              u"10000 resamples"_s,
              u"4 of 5 runs completed"_s,
              u"project revision abc123def456"_s,
              u"libtorch 1.13.0"_s,
              u"Qt 6.4.2"_s,
              u"prune.magnitude(sparsity=0.5)"_s,
              u"Accuracy budget: 1 points"_s,
              u"Meter warnings recorded when the meters were chosen: nvml: not present"_s})
            QVERIFY2(m.contains(needle), qPrintable(u"missing: "_s + needle + u"\n"_s + m));
        QVERIFY(!doc->flags.isEmpty());
        QCOMPARE(doc->flags.first().flag, u"background-load"_s);
        QVERIFY(doc->flags.first().meaning.contains(u"other processes"_s));
        QVERIFY(doc->rawData.join(u' ').contains(m_db));
    }

    void pdf()
    {
        const QByteArray pdf = write(report::Format::Pdf, u"r.pdf"_s);
        QVERIFY(pdf.startsWith("%PDF-"));
        QVERIFY(pdf.size() > 20000); // text and 8 chart images
        QVERIFY(pdf.contains("/CreationDate (D:20260102030405Z"));
    }

    void errors()
    {
        QString error;
        QVERIFY(!report::writeReport(m_store, 999, report::Format::Html, out(u"x.html"_s), &error));
        QVERIFY(!error.isEmpty());
        error.clear();
        QVERIFY(!report::writeReport(m_store, m_experiment, report::Format::Csv,
                                     m_dir.filePath(u"no/such/folder/x.csv"_s), &error));
        QVERIFY2(error.contains(u"no/such/folder/x.csv"_s), qPrintable(error));
    }

    void cli()
    {
        const QString cliPath = QStringLiteral(JB_BUILD_DIR "/bin/joulebench-cli");
        QProcess p;
        p.start(cliPath, {u"report"_s, u"--db"_s, m_db, u"--experiment"_s, u"last"_s, u"--format"_s,
                          u"html"_s, u"--out"_s, out(u"cli.html"_s)});
        QVERIFY2(p.waitForFinished(60000), qPrintable(cliPath + u": "_s + p.errorString()));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        QCOMPARE(readAll(out(u"cli.html"_s)), write(report::Format::Html, u"lib.html"_s));
        p.start(cliPath, {u"report"_s, u"--db"_s, m_db, u"--format"_s, u"docx"_s, u"--out"_s,
                          out(u"x.docx"_s)});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 2);
        QVERIFY(p.readAllStandardError().contains("--format must be html, pdf, md or csv"));
    }
};

QTEST_MAIN(TstReport)
#include "tst_report.moc"
