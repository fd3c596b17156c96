// SPDX-License-Identifier: GPL-3.0-or-later
#include "report.h"

#include "report_document.h"

#include "database/store.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

using namespace Qt::StringLiterals;

namespace jb::report {

namespace {

bool writeFile(const QString &path, const QByteArray &bytes, QString *error)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size()) {
        *error =
            u"%1: could not be written (%2); check that the folder exists and is writable"_s.arg(
                path, f.errorString());
        return false;
    }
    return true;
}

} // namespace

std::optional<Format> formatFromName(const QString &name)
{
    const QString n = name.trimmed().toLower();
    if (n == u"html"_s)
        return Format::Html;
    if (n == u"pdf"_s)
        return Format::Pdf;
    if (n == u"md"_s || n == u"markdown"_s)
        return Format::Markdown;
    if (n == u"csv"_s)
        return Format::Csv;
    return std::nullopt;
}

QString formatName(Format format)
{
    switch (format) {
    case Format::Html:
        return u"html"_s;
    case Format::Pdf:
        return u"pdf"_s;
    case Format::Markdown:
        return u"md"_s;
    case Format::Csv:
        return u"csv"_s;
    }
    return QString();
}

bool writeReport(const db::Store &store, qint64 experimentId, Format format, const QString &outPath,
                 QString *error, const Options &options)
{
    if (outPath.isEmpty()) {
        *error = u"no output file given for the report"_s;
        return false;
    }
    if (format == Format::Csv) {
        const auto c = store.comparison(experimentId, error);
        return c && writeFile(outPath, renderCsv(*c), error);
    }
    const std::optional<Document> doc = buildDocument(store, experimentId, options, true, error);
    if (!doc)
        return false;
    switch (format) {
    case Format::Html:
        return writeFile(outPath, renderHtml(*doc), error);
    case Format::Markdown: {
        const QFileInfo info(outPath);
        const QString prefix = info.completeBaseName() + u'-';
        for (const Chart &c : doc->charts)
            if (!writeFile(info.dir().filePath(prefix + c.id + u".png"_s), c.png, error))
                return false;
        return writeFile(outPath, renderMarkdown(*doc, prefix), error);
    }
    case Format::Pdf: {
        const auto experiment = store.experiment(experimentId, error);
        return experiment && writePdf(*doc, outPath, experiment->created, error);
    }
    case Format::Csv:
        break;
    }
    return false;
}

} // namespace jb::report
