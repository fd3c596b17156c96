// SPDX-License-Identifier: GPL-3.0-or-later
#include "plan_json.h"

#include <QJsonDocument>
#include <QJsonParseError>
#include <QLocale>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace Qt::StringLiterals;

namespace jb::planjson {

namespace {

// Integers above 2^53 do not survive a trip through a JSON double.
constexpr double kMaxSafeInteger = 9007199254740992.0;

QString quoted(const QString &s)
{
    return u'"' + s + u'"';
}

QString joinQuoted(const QStringList &items)
{
    QStringList q;
    q.reserve(items.size());
    for (const QString &s : items)
        q.append(quoted(s));
    return q.join(u", "_s);
}

} // namespace

int editDistance(const QString &a0, const QString &b0)
{
    const QString a = a0.toLower();
    const QString b = b0.toLower();
    std::vector<int> prev(size_t(b.size()) + 1), cur(size_t(b.size()) + 1);
    for (qsizetype j = 0; j <= b.size(); ++j)
        prev[size_t(j)] = int(j);
    for (qsizetype i = 1; i <= a.size(); ++i) {
        cur[0] = int(i);
        for (qsizetype j = 1; j <= b.size(); ++j) {
            const int subst = prev[size_t(j - 1)] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[size_t(j)] = std::min({prev[size_t(j)] + 1, cur[size_t(j - 1)] + 1, subst});
        }
        std::swap(prev, cur);
    }
    return prev[size_t(b.size())];
}

QString closestMatch(const QString &word, const QStringList &candidates)
{
    QString best;
    int bestDistance = std::numeric_limits<int>::max();
    for (const QString &c : candidates) {
        const int d = editDistance(word, c);
        if (d < bestDistance) {
            bestDistance = d;
            best = c;
        }
    }
    // A replaced word is no typo ("y" for "x"), hence distance < length.
    const int limit = std::max(1, std::min(3, int(word.size()) / 3));
    return (!best.isEmpty() && bestDistance <= limit && bestDistance < word.size()) ? best
                                                                                    : QString();
}

QString didYouMean(const QString &word, const QStringList &candidates)
{
    const QString m = closestMatch(word, candidates);
    return m.isEmpty() ? QString() : u" (did you mean "_s + quoted(m) + u"?)"_s;
}

QString formatDouble(double value)
{
    QString s = QString::number(value, 'g', QLocale::FloatingPointShortest);
    if (std::isfinite(value) && !s.contains(u'.') && !s.contains(u'e'))
        s += u".0"_s;
    return s;
}

QString formatValue(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null:
        return u"null"_s;
    case QJsonValue::Bool:
        return value.toBool() ? u"true"_s : u"false"_s;
    case QJsonValue::Double: {
        const double d = value.toDouble();
        if (std::floor(d) == d && std::fabs(d) <= kMaxSafeInteger)
            return QString::number(qint64(d));
        return QString::number(d, 'g', QLocale::FloatingPointShortest);
    }
    case QJsonValue::String: {
        QString s = value.toString();
        if (s.size() > 60)
            s = s.left(57) + u"..."_s;
        return quoted(s);
    }
    case QJsonValue::Array:
    case QJsonValue::Object: {
        const QJsonDocument doc =
            value.isArray() ? QJsonDocument(value.toArray()) : QJsonDocument(value.toObject());
        QString s = QString::fromUtf8(doc.toJson(QJsonDocument::Compact));
        if (s.size() > 60)
            s = s.left(57) + u"..."_s;
        return s;
    }
    case QJsonValue::Undefined:
        break;
    }
    return u"(nothing)"_s;
}

QString describeType(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null:
        return u"JSON null"_s;
    case QJsonValue::Bool:
        return u"a boolean"_s;
    case QJsonValue::Double:
        return u"a number"_s;
    case QJsonValue::String:
        return u"a string"_s;
    case QJsonValue::Array:
        return u"an array"_s;
    case QJsonValue::Object:
        return u"an object"_s;
    case QJsonValue::Undefined:
        break;
    }
    return u"missing"_s;
}

QString childPath(const QString &parent, const QString &key)
{
    return parent.isEmpty() ? key : parent + u'.' + key;
}

QString indexPath(const QString &parent, qsizetype index)
{
    return parent + u'[' + QString::number(index) + u']';
}

QStringList duplicateKeys(const QByteArray &json)
{
    // A small scanner over text Qt has already accepted as JSON: it only has to track
    // strings, nesting and which strings are keys.
    struct Frame
    {
        bool isObject = false;
        bool expectKey = false;
        qsizetype index = 0;
        QString path;
        QString lastKey;
        QSet<QString> keys;
    };
    std::vector<Frame> stack;
    QStringList found;

    auto valuePath = [&]() -> QString {
        if (stack.empty())
            return QString();
        const Frame &f = stack.back();
        return f.isObject ? childPath(f.path, f.lastKey) : indexPath(f.path, f.index);
    };

    for (qsizetype i = 0; i < json.size(); ++i) {
        const char c = json[i];
        if (c == '"') {
            qsizetype j = i + 1;
            while (j < json.size() && json[j] != '"')
                j += (json[j] == '\\') ? 2 : 1;
            if (!stack.empty() && stack.back().isObject && stack.back().expectKey) {
                Frame &f = stack.back();
                f.lastKey = QString::fromUtf8(json.mid(i + 1, j - i - 1));
                f.expectKey = false;
                if (f.keys.contains(f.lastKey))
                    found.append(childPath(f.path, f.lastKey));
                else
                    f.keys.insert(f.lastKey);
            }
            i = j;
        } else if (c == '{' || c == '[') {
            Frame f;
            f.isObject = (c == '{');
            f.expectKey = f.isObject;
            f.path = valuePath();
            stack.push_back(std::move(f));
        } else if (c == '}' || c == ']') {
            if (!stack.empty())
                stack.pop_back();
        } else if (c == ',' && !stack.empty()) {
            if (stack.back().isObject)
                stack.back().expectKey = true;
            else
                ++stack.back().index;
        }
    }
    return found;
}

std::optional<QJsonObject> parseObject(const QByteArray &json, const QString &what,
                                       QStringList *errors)
{
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &pe);
    if (pe.error != QJsonParseError::NoError) {
        const QByteArray before = json.left(pe.offset);
        const qsizetype line = before.count('\n') + 1;
        const qsizetype column = pe.offset - (before.lastIndexOf('\n') + 1) + 1;
        errors->append(
            u"%1:%2:%3: invalid JSON: %4"_s.arg(what).arg(line).arg(column).arg(pe.errorString()));
        return std::nullopt;
    }
    if (!doc.isObject()) {
        errors->append(u"%1: expected a JSON object at the top level, found %2"_s.arg(
            what, doc.isArray() ? u"an array"_s : u"something else"_s));
        return std::nullopt;
    }
    for (const QString &path : duplicateKeys(json))
        errors->append(path + u": key appears more than once; keep one (a JSON reader would "
                              "silently use only the last)"_s);
    return doc.object();
}

QString describeRange(const NumberRange &range, bool integer)
{
    auto fmt = [integer](double v) {
        return integer ? QString::number(qint64(v)) : formatDouble(v);
    };
    if (range.min && range.max && !range.minExclusive)
        return u"allowed range "_s + fmt(*range.min) + u" to "_s + fmt(*range.max);
    QStringList parts;
    if (range.min)
        parts.append((range.minExclusive ? u"above "_s : u"at least "_s) + fmt(*range.min));
    if (range.max)
        parts.append(u"at most "_s + fmt(*range.max));
    return parts.join(u" and "_s);
}

namespace {

// Shared by checkInteger/checkNumber: the range part of the message.
bool checkRange(double v, const QString &shown, const QString &path, const NumberRange &range,
                bool integer, QStringList *errors)
{
    auto fmt = [integer](double b) {
        return integer ? QString::number(qint64(b)) : formatDouble(b);
    };
    const QString text = describeRange(range, integer);
    const QString hint =
        text.startsWith(u"allowed"_s) ? u" ("_s + text + u')' : u" (expected "_s + text + u')';
    if (range.min && (range.minExclusive ? v <= *range.min : v < *range.min)) {
        errors->append(path + u": "_s + shown +
                       (range.minExclusive ? u" is not above "_s : u" is below "_s) +
                       fmt(*range.min) + hint);
        return false;
    }
    if (range.max && v > *range.max) {
        errors->append(path + u": "_s + shown + u" is above "_s + fmt(*range.max) + hint);
        return false;
    }
    return true;
}

QString withRange(const QString &what, const NumberRange &range, bool integer)
{
    const QString r = describeRange(range, integer);
    return r.isEmpty() ? what : what + u" ("_s + r + u')';
}

} // namespace

std::optional<qint64> checkInteger(const QJsonValue &value, const QString &path,
                                   const NumberRange &range, QStringList *errors)
{
    if (!value.isDouble()) {
        errors->append(path + u": "_s + formatValue(value) + u" is "_s + describeType(value) +
                       u", expected an integer"_s);
        return std::nullopt;
    }
    const double d = value.toDouble();
    if (std::floor(d) != d || std::fabs(d) > kMaxSafeInteger) {
        errors->append(path + u": "_s + formatValue(value) + u" is not an integer"_s);
        return std::nullopt;
    }
    if (!checkRange(d, QString::number(qint64(d)), path, range, true, errors))
        return std::nullopt;
    return qint64(d);
}

std::optional<double> checkNumber(const QJsonValue &value, const QString &path,
                                  const NumberRange &range, QStringList *errors)
{
    if (!value.isDouble()) {
        errors->append(path + u": "_s + formatValue(value) + u" is "_s + describeType(value) +
                       u", expected a number"_s);
        return std::nullopt;
    }
    const double d = value.toDouble();
    if (!checkRange(d, formatDouble(d), path, range, false, errors))
        return std::nullopt;
    return d;
}

ObjectReader::ObjectReader(const QJsonObject &object, const QString &path, QStringList *errors)
    : m_object(object), m_path(path), m_errors(errors)
{
}

QJsonValue ObjectReader::value(const QString &key)
{
    declare(key);
    return m_object.value(key);
}

void ObjectReader::error(const QString &key, const QString &message)
{
    m_errors->append(pathOf(key) + u": "_s + message);
}

bool ObjectReader::fetch(const QString &key, bool required, const QString &expected,
                         QJsonValue *out)
{
    declare(key);
    if (!m_object.contains(key)) {
        if (required)
            error(key, u"missing, expected "_s + expected);
        return false;
    }
    *out = m_object.value(key);
    return true;
}

std::optional<qint64> ObjectReader::integer(const QString &key, std::optional<qint64> fallback,
                                            const NumberRange &range)
{
    QJsonValue v;
    if (!fetch(key, !fallback, withRange(u"an integer"_s, range, true), &v))
        return fallback;
    return checkInteger(v, pathOf(key), range, m_errors);
}

std::optional<double> ObjectReader::number(const QString &key, std::optional<double> fallback,
                                           const NumberRange &range)
{
    QJsonValue v;
    if (!fetch(key, !fallback, withRange(u"a number"_s, range, false), &v))
        return fallback;
    return checkNumber(v, pathOf(key), range, m_errors);
}

std::optional<bool> ObjectReader::boolean(const QString &key, std::optional<bool> fallback)
{
    QJsonValue v;
    if (!fetch(key, !fallback, u"true or false"_s, &v))
        return fallback;
    if (!v.isBool()) {
        error(key, formatValue(v) + u" is "_s + describeType(v) + u", expected true or false"_s);
        return std::nullopt;
    }
    return v.toBool();
}

std::optional<QString> ObjectReader::string(const QString &key, std::optional<QString> fallback,
                                            bool allowEmpty)
{
    const QString expected = allowEmpty ? u"a string"_s : u"a non-empty string"_s;
    QJsonValue v;
    if (!fetch(key, !fallback, expected, &v))
        return fallback;
    if (!v.isString()) {
        error(key, formatValue(v) + u" is "_s + describeType(v) + u", expected "_s + expected);
        return std::nullopt;
    }
    if (!allowEmpty && v.toString().trimmed().isEmpty()) {
        error(key, formatValue(v) + u" is empty, expected "_s + expected);
        return std::nullopt;
    }
    return v.toString();
}

std::optional<QString> ObjectReader::choice(const QString &key, std::optional<QString> fallback,
                                            const QStringList &choices)
{
    const QString expected = u"one of "_s + joinQuoted(choices);
    QJsonValue v;
    if (!fetch(key, !fallback, expected, &v))
        return fallback;
    if (!v.isString()) {
        error(key, formatValue(v) + u" is "_s + describeType(v) + u", expected "_s + expected);
        return std::nullopt;
    }
    if (!choices.contains(v.toString())) {
        error(key, formatValue(v) + u" is not "_s + expected + didYouMean(v.toString(), choices));
        return std::nullopt;
    }
    return v.toString();
}

std::optional<QJsonObject> ObjectReader::object(const QString &key, bool required)
{
    QJsonValue v;
    if (!fetch(key, required, u"an object"_s, &v))
        return required ? std::nullopt : std::optional<QJsonObject>(QJsonObject());
    if (!v.isObject()) {
        error(key, formatValue(v) + u" is "_s + describeType(v) + u", expected an object"_s);
        return std::nullopt;
    }
    return v.toObject();
}

std::optional<QJsonArray> ObjectReader::array(const QString &key, bool required)
{
    QJsonValue v;
    if (!fetch(key, required, u"an array"_s, &v))
        return std::nullopt;
    if (!v.isArray()) {
        error(key, formatValue(v) + u" is "_s + describeType(v) + u", expected an array"_s);
        return std::nullopt;
    }
    return v.toArray();
}

void ObjectReader::finish()
{
    for (auto it = m_object.constBegin(); it != m_object.constEnd(); ++it) {
        if (m_known.contains(it.key()))
            continue;
        const QString hint = didYouMean(it.key(), m_known);
        QStringList known = m_known;
        known.removeDuplicates();
        known.sort();
        error(it.key(), hint.isEmpty() ? u"unknown key; expected one of: "_s + known.join(u", "_s)
                                       : u"unknown key"_s + hint);
    }
}

} // namespace jb::planjson
