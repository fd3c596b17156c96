// SPDX-License-Identifier: GPL-3.0-or-later
#include "param_schema.h"

#include "plan_json.h"

#include <QRegularExpression>
#include <QSet>

using namespace Qt::StringLiterals;

namespace jb {

using planjson::describeType;
using planjson::formatValue;
using planjson::NumberRange;

namespace {

const QStringList &typeNames()
{
    static const QStringList names{u"int"_s, u"double"_s, u"bool"_s, u"choice"_s, u"string"_s};
    return names;
}

QString joinQuoted(const QStringList &items)
{
    QStringList q;
    for (const QString &s : items)
        q.append(u'"' + s + u'"');
    return q.join(u", "_s);
}

NumberRange rangeOf(const ParamSpec &spec)
{
    return NumberRange{spec.min, spec.max, false};
}

/// Checks one value against a spec; returns it in typed form or nullopt (error appended).
std::optional<QJsonValue> checkValue(const ParamSpec &spec, const QJsonValue &v,
                                     const QString &path, QStringList *errors)
{
    auto typeError = [&] {
        errors->append(path + u": "_s + formatValue(v) + u" is "_s + describeType(v) +
                       u", expected "_s + spec.expectation());
    };
    switch (spec.type) {
    case ParamType::Int:
        if (const auto i = planjson::checkInteger(v, path, rangeOf(spec), errors))
            return QJsonValue(*i);
        return std::nullopt;
    case ParamType::Double:
        if (const auto d = planjson::checkNumber(v, path, rangeOf(spec), errors))
            return QJsonValue(*d);
        return std::nullopt;
    case ParamType::Bool:
        if (!v.isBool()) {
            typeError();
            return std::nullopt;
        }
        return v;
    case ParamType::String:
        if (!v.isString()) {
            typeError();
            return std::nullopt;
        }
        return v;
    case ParamType::Choice:
        if (!v.isString()) {
            typeError();
            return std::nullopt;
        }
        if (!spec.choices.contains(v.toString())) {
            errors->append(path + u": "_s + formatValue(v) + u" is not "_s + spec.expectation() +
                           planjson::didYouMean(v.toString(), spec.choices));
            return std::nullopt;
        }
        return v;
    }
    return std::nullopt;
}

std::optional<ParamSpec> readSpec(const QJsonObject &o, const QString &path, QStringList *errors)
{
    const qsizetype errorsBefore = errors->size();
    planjson::ObjectReader r(o, path, errors);
    ParamSpec spec;

    static const QRegularExpression identifier(u"^[A-Za-z_][A-Za-z0-9_]*$"_s);
    if (const auto name = r.string(u"name"_s, std::nullopt)) {
        spec.name = *name;
        if (!identifier.match(spec.name).hasMatch())
            r.error(u"name"_s, formatValue(spec.name) +
                                   u" is not an identifier, expected letters, digits and _ "
                                   "(not starting with a digit)"_s);
    }
    const auto typeName = r.choice(u"type"_s, std::nullopt, typeNames());
    if (typeName)
        spec.type = *paramTypeFromName(*typeName);
    spec.help = r.string(u"help"_s, QString(), true).value_or(QString());

    const bool numeric = spec.type == ParamType::Int || spec.type == ParamType::Double;
    for (const QString &key : {u"min"_s, u"max"_s}) {
        if (!r.contains(key)) {
            r.declare(key);
            continue;
        }
        if (typeName && !numeric) {
            r.value(key);
            r.error(key,
                    u"only int and double parameters have a range, this one is "_s + *typeName);
            continue;
        }
        const QJsonValue v = r.value(key);
        std::optional<double> bound;
        if (spec.type == ParamType::Int) {
            if (const auto i = planjson::checkInteger(v, r.pathOf(key), {}, errors))
                bound = double(*i);
        } else {
            bound = planjson::checkNumber(v, r.pathOf(key), {}, errors);
        }
        (key == u"min"_s ? spec.min : spec.max) = bound;
    }
    if (spec.min && spec.max && *spec.min > *spec.max)
        r.error(u"max"_s, formatValue(*spec.max) + u" is below min "_s + formatValue(*spec.min) +
                              u", expected max >= min"_s);

    if (r.contains(u"choices"_s) || spec.type == ParamType::Choice) {
        const auto choices = r.array(u"choices"_s, typeName && spec.type == ParamType::Choice);
        if (choices && typeName && spec.type != ParamType::Choice) {
            r.error(u"choices"_s,
                    u"only choice parameters have choices, this one is "_s + *typeName);
        } else if (choices) {
            if (choices->isEmpty())
                r.error(u"choices"_s, u"[] is empty, expected at least one string"_s);
            for (qsizetype i = 0; i < choices->size(); ++i) {
                const QJsonValue c = choices->at(i);
                const QString cp = planjson::indexPath(r.pathOf(u"choices"_s), i);
                if (!c.isString() || c.toString().isEmpty())
                    errors->append(cp + u": "_s + formatValue(c) + u" is "_s + describeType(c) +
                                   u", expected a non-empty string"_s);
                else if (spec.choices.contains(c.toString()))
                    errors->append(cp + u": "_s + formatValue(c) + u" is listed twice"_s);
                else
                    spec.choices.append(c.toString());
            }
        }
    } else {
        r.declare(u"choices"_s);
    }

    if (r.contains(u"default"_s)) {
        const QJsonValue v = r.value(u"default"_s);
        // A default is only checked against a spec that is itself sound.
        if (errors->size() == errorsBefore) {
            if (const auto typed = checkValue(spec, v, r.pathOf(u"default"_s), errors))
                spec.defaultValue = *typed;
        }
    } else {
        r.declare(u"default"_s);
    }
    r.finish();
    if (errors->size() != errorsBefore)
        return std::nullopt;
    return spec;
}

} // namespace

QString paramTypeName(ParamType type)
{
    return typeNames().at(int(type));
}

std::optional<ParamType> paramTypeFromName(const QString &name)
{
    const qsizetype i = typeNames().indexOf(name);
    if (i < 0)
        return std::nullopt;
    return ParamType(i);
}

QJsonObject ParamSpec::toJson() const
{
    QJsonObject o;
    o.insert(u"name"_s, name);
    o.insert(u"type"_s, paramTypeName(type));
    if (!defaultValue.isUndefined())
        o.insert(u"default"_s, defaultValue);
    auto bound = [this](double b) {
        return type == ParamType::Int ? QJsonValue(qint64(b)) : QJsonValue(b);
    };
    if (min)
        o.insert(u"min"_s, bound(*min));
    if (max)
        o.insert(u"max"_s, bound(*max));
    if (type == ParamType::Choice)
        o.insert(u"choices"_s, QJsonArray::fromStringList(choices));
    if (!help.isEmpty())
        o.insert(u"help"_s, help);
    return o;
}

QString ParamSpec::expectation() const
{
    const QString range = planjson::describeRange(rangeOf(*this), type == ParamType::Int);
    const QString suffix = range.isEmpty() ? QString() : u" ("_s + range + u')';
    switch (type) {
    case ParamType::Int:
        return u"an integer"_s + suffix;
    case ParamType::Double:
        return u"a number"_s + suffix;
    case ParamType::Bool:
        return u"true or false"_s;
    case ParamType::String:
        return u"a string"_s;
    case ParamType::Choice:
        return u"one of "_s + joinQuoted(choices);
    }
    return QString();
}

std::optional<ParamSchema> ParamSchema::fromMetadata(const QJsonObject &metadata,
                                                     QStringList *errors)
{
    const QJsonValue v = metadata.value(u"parameters"_s);
    if (v.isUndefined())
        return ParamSchema();
    if (!v.isArray()) {
        errors->append(u"parameters: "_s + formatValue(v) + u" is "_s + describeType(v) +
                       u", expected an array of parameter objects"_s);
        return std::nullopt;
    }
    return fromJson(v.toArray(), errors);
}

std::optional<ParamSchema> ParamSchema::fromJson(const QJsonArray &parameters, QStringList *errors,
                                                 const QString &path)
{
    const qsizetype errorsBefore = errors->size();
    QList<ParamSpec> specs;
    QSet<QString> seen;
    for (qsizetype i = 0; i < parameters.size(); ++i) {
        const QString p = planjson::indexPath(path, i);
        const QJsonValue v = parameters.at(i);
        if (!v.isObject()) {
            errors->append(p + u": "_s + formatValue(v) + u" is "_s + describeType(v) +
                           u", expected an object with name, type, default, ..."_s);
            continue;
        }
        auto spec = readSpec(v.toObject(), p, errors);
        if (!spec)
            continue;
        if (seen.contains(spec->name)) {
            errors->append(p + u".name: \""_s + spec->name +
                           u"\" is declared twice, expected unique parameter names"_s);
            continue;
        }
        seen.insert(spec->name);
        specs.append(*spec);
    }
    if (errors->size() != errorsBefore)
        return std::nullopt;
    return ParamSchema(std::move(specs));
}

QJsonArray ParamSchema::toJson() const
{
    QJsonArray a;
    for (const ParamSpec &s : m_specs)
        a.append(s.toJson());
    return a;
}

QStringList ParamSchema::names() const
{
    QStringList n;
    for (const ParamSpec &s : m_specs)
        n.append(s.name);
    return n;
}

const ParamSpec *ParamSchema::find(const QString &name) const
{
    for (const ParamSpec &s : m_specs) {
        if (s.name == name)
            return &s;
    }
    return nullptr;
}

QJsonObject ParamSchema::defaults() const
{
    QJsonObject o;
    for (const ParamSpec &s : m_specs) {
        if (!s.isRequired())
            o.insert(s.name, s.defaultValue);
    }
    return o;
}

bool ParamSchema::validate(const QJsonObject &params, const QString &path, QJsonObject *filled,
                           QStringList *errors, const QString &owner) const
{
    const qsizetype errorsBefore = errors->size();
    const QString of = owner.isEmpty() ? QString() : u" of "_s + owner;
    QJsonObject out;
    for (auto it = params.constBegin(); it != params.constEnd(); ++it) {
        if (find(it.key()))
            continue;
        const QString p = planjson::childPath(path, it.key());
        if (m_specs.isEmpty()) {
            errors->append(p + u": unknown parameter"_s + of + u", which takes no parameters"_s);
            continue;
        }
        const QString hint = planjson::didYouMean(it.key(), names());
        errors->append(p + u": unknown parameter"_s + of +
                       (hint.isEmpty() ? u"; known: "_s + names().join(u", "_s) : hint));
    }
    for (const ParamSpec &spec : m_specs) {
        const QString p = planjson::childPath(path, spec.name);
        if (!params.contains(spec.name)) {
            if (spec.isRequired())
                errors->append(p + u": missing, expected "_s + spec.expectation() +
                               u" (a required parameter"_s + of + u')');
            else
                out.insert(spec.name, spec.defaultValue);
            continue;
        }
        if (const auto typed = checkValue(spec, params.value(spec.name), p, errors))
            out.insert(spec.name, *typed);
    }
    if (filled)
        *filled = out;
    return errors->size() == errorsBefore;
}

} // namespace jb
