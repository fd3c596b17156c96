// SPDX-License-Identifier: GPL-3.0-or-later
#include "cli_tables.h"

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace jb::cli {

TextTable::TextTable(QStringList header, QList<bool> numeric)
    : m_header(std::move(header)), m_numeric(std::move(numeric))
{
}

void TextTable::addRow(QStringList cells)
{
    while (cells.size() < m_header.size())
        cells.append(QString());
    m_rows.append(std::move(cells));
}

QString TextTable::render(int indent) const
{
    QList<qsizetype> width;
    for (const QString &h : m_header)
        width.append(h.size());
    for (const QStringList &row : m_rows)
        for (qsizetype c = 0; c < row.size() && c < width.size(); ++c)
            width[c] = std::max(width[c], row.at(c).size());
    const QString pad(indent, u' ');
    auto line = [&](const QStringList &cells) -> QString {
        QString out = pad;
        for (qsizetype c = 0; c < width.size(); ++c) {
            const QString cell = cells.value(c);
            const bool right = m_numeric.value(c, false);
            out += right ? cell.rightJustified(width[c]) : cell.leftJustified(width[c]);
            if (c + 1 < width.size())
                out += u"  "_s;
        }
        while (out.endsWith(u' '))
            out.chop(1);
        return out + u'\n';
    };
    QString out = line(m_header);
    QStringList rule;
    for (qsizetype w : width)
        rule.append(QString(w, u'-'));
    out += line(rule);
    for (const QStringList &row : m_rows)
        out += line(row);
    return out;
}

QString formatNumber(double value, int significant)
{
    if (!std::isfinite(value))
        return u"n/a"_s;
    if (value == 0)
        return u"0"_s;
    const double mag = std::fabs(value);
    if (mag >= 1e6 || mag < 1e-4)
        return QString::number(value, 'e', std::max(0, significant - 1));
    const int digits = static_cast<int>(std::floor(std::log10(mag))) + 1;
    const int decimals = std::max(0, significant - digits);
    return QString::number(value, 'f', decimals);
}

QString formatMeanCi(const FigureStats &s, int significant, double scale)
{
    if (s.n == 0)
        return u"-"_s;
    QString text = formatNumber(s.mean * scale, significant);
    if (s.ci && s.ci->lower != s.ci->upper) // identical values: the interval says nothing
        text += u" [%1, %2]"_s.arg(formatNumber(s.ci->lower * scale, significant),
                                    formatNumber(s.ci->upper * scale, significant));
    return text;
}

QString formatDelta(const std::optional<PairedDelta> &d, int significant, double scale)
{
    if (!d || d->pairs == 0 || !std::isfinite(d->mean))
        return u"-"_s;
    QString text = formatNumber(d->mean * scale, significant);
    if (d->mean > 0)
        text.prepend(u'+');
    if (d->ci)
        text += u" [%1, %2]"_s.arg(formatNumber(d->ci->lower * scale, significant),
                                    formatNumber(d->ci->upper * scale, significant));
    return text;
}

QString kindLabel(db::ValueKind kind)
{
    return db::valueKindName(kind);
}

} // namespace jb::cli
