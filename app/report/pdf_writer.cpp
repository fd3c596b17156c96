// SPDX-License-Identifier: GPL-3.0-or-later
// The PDF format: the report's HTML (charts as document resources) laid out by QTextDocument
// and printed with QPdfWriter on A4.
#include "report_document.h"

#include <QBuffer>
#include <QDateTime>
#include <QFile>
#include <QImage>
#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QRegularExpression>
#include <QTextDocument>
#include <QUrl>

using namespace Qt::StringLiterals;

namespace jb::report {

namespace {

/// QPdfWriter stamps the current time as /CreationDate. Reports must be reproducible, so the
/// stamp is replaced by `date` (the experiment's creation) in the same number of bytes, which
/// keeps the cross-reference offsets valid.
bool fixCreationDate(QByteArray *pdf, const QDateTime &date)
{
    static const QRegularExpression re(u"/CreationDate \\(D:([^)]*)\\)"_s);
    const QString text = QString::fromLatin1(*pdf);
    const QRegularExpressionMatch m = re.match(text);
    if (!m.hasMatch())
        return true; // nothing stamped
    const QString old = m.captured(1);
    QString stamp = date.toUTC().toString(u"yyyyMMddHHmmss"_s) + u"Z"_s;
    if (stamp.size() > old.size())
        stamp = stamp.left(old.size());
    stamp = stamp.leftJustified(old.size(), u' ');
    const QByteArray replacement = stamp.toLatin1();
    pdf->replace(m.capturedStart(1), old.size(), replacement);
    return true;
}

} // namespace

bool writePdf(const Document &doc, const QString &path, const QString &creationDate, QString *error)
{
    QByteArray bytes;
    {
        QBuffer buffer(&bytes);
        buffer.open(QIODevice::WriteOnly);
        QPdfWriter writer(&buffer);
        writer.setPageSize(QPageSize(QPageSize::A4));
        // QTextDocument::print() adds 2 cm margins of its own (and the page numbers).
        writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout::Millimeter);
        // Lay out at 96 dpi, as the HTML's pixel sizes (1 px borders, image widths) assume;
        // the chart images keep their own resolution.
        writer.setResolution(96);
        writer.setTitle(doc.title);
        writer.setCreator(u"JouleBench %1"_s.arg(QStringLiteral(JOULEBENCH_VERSION)));
        QTextDocument text;
        text.setDocumentMargin(0);
        QFont font(u"DejaVu Sans"_s);
        font.setPointSizeF(8.5);
        text.setDefaultFont(font);
        for (const Chart &c : doc.charts)
            text.addResource(QTextDocument::ImageResource, QUrl(pdfImageName(c)),
                             QImage::fromData(c.png, "PNG"));
        text.setHtml(QString::fromUtf8(renderHtml(doc, false)));
        text.print(&writer);
    }
    fixCreationDate(&bytes, QDateTime::fromString(creationDate, Qt::ISODateWithMs));
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size()) {
        *error =
            u"%1: could not be written (%2); check that the folder exists and is writable"_s.arg(
                path, f.errorString());
        return false;
    }
    return true;
}

} // namespace jb::report
