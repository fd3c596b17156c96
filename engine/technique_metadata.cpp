// SPDX-License-Identifier: GPL-3.0-or-later
#include "technique_metadata.h"

#include "plan_json.h"
#include "technique_api.h"

#include <QJsonArray>
#include <QRegularExpression>

using namespace Qt::StringLiterals;

namespace jb {

namespace {

using planjson::formatValue;

// Plugin ids appear in plans, file names and database rows: keep them boring.
constexpr qsizetype kMaxIdLength = 64;

void checkPattern(planjson::ObjectReader &r, const QString &key, const QString &value,
                  const QRegularExpression &pattern, const QString &expected)
{
    if (!pattern.match(value).hasMatch())
        r.error(key, formatValue(value) + u" is not valid, expected "_s + expected);
}

} // namespace

const QStringList &techniqueFamilies()
{
    static const QStringList families{u"pruning"_s, u"quantization"_s, u"distillation"_s,
                                      u"nas"_s,     u"architecture"_s, u"data-selection"_s,
                                      u"other"_s};
    return families;
}

QJsonObject TechniqueMetadata::toJson() const
{
    QJsonObject o{{u"id"_s, id},
                  {u"name"_s, name},
                  {u"family"_s, family},
                  {u"version"_s, version},
                  {u"apiVersion"_s, apiVersion},
                  {u"description"_s, description},
                  {u"parameters"_s, parameters.toJson()}};
    if (!citation.isEmpty())
        o.insert(u"citation"_s, citation);
    return o;
}

QString pluginRejectionName(PluginRejection reason)
{
    switch (reason) {
    case PluginRejection::NotAPlugin:
        return u"not-a-plugin"_s;
    case PluginRejection::WrongIid:
        return u"wrong-iid"_s;
    case PluginRejection::BadMetadata:
        return u"bad-metadata"_s;
    case PluginRejection::WrongApiVersion:
        return u"wrong-api-version"_s;
    case PluginRejection::DuplicateId:
        return u"duplicate-id"_s;
    case PluginRejection::InsecurePermissions:
        return u"insecure-permissions"_s;
    case PluginRejection::LoadFailed:
        return u"load-failed"_s;
    case PluginRejection::NoFactory:
        return u"no-factory"_s;
    }
    return u"unknown"_s;
}

std::optional<TechniqueMetadata>
parseTechniqueMetadata(const QJsonObject &metadata, QStringList *errors, PluginRejection *rejection)
{
    QStringList local;
    QStringList *errs = errors ? errors : &local;
    const qsizetype errorsBefore = errs->size();
    if (rejection)
        *rejection = PluginRejection::BadMetadata;

    planjson::ObjectReader r(metadata, QString(), errs);
    TechniqueMetadata m;

    // apiVersion first: another version may lay out everything else differently, so its
    // other "errors" would only be noise.
    if (const auto api = r.integer(u"apiVersion"_s, std::nullopt, {})) {
        m.apiVersion = int(*api);
        if (*api != TechniqueApiVersion) {
            errs->append(u"apiVersion: %1, but this JouleBench loads plugins of API version %2 "
                         "only; rebuild the plugin against this JouleBench's engine/technique.h "
                         "(and set \"apiVersion\": %2)"_s.arg(*api)
                             .arg(TechniqueApiVersion));
            if (rejection)
                *rejection = PluginRejection::WrongApiVersion;
            return std::nullopt;
        }
    }

    static const QRegularExpression idPattern(u"^[a-z][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)*$"_s);
    if (const auto id = r.string(u"id"_s, std::nullopt)) {
        m.id = *id;
        if (m.id.size() > kMaxIdLength)
            r.error(u"id"_s, u"%1 has %2 characters, expected at most %3"_s.arg(formatValue(m.id))
                                 .arg(m.id.size())
                                 .arg(kMaxIdLength));
        else
            checkPattern(r, u"id"_s, m.id, idPattern,
                         u"lower-case segments of a-z, 0-9, _ and - joined by dots, starting "
                         "with a letter, e.g. \"prune.magnitude\""_s);
    }
    // (ObjectReader::string() refuses blank strings.)
    if (const auto name = r.string(u"name"_s, std::nullopt))
        m.name = *name;
    if (const auto family = r.choice(u"family"_s, std::nullopt, techniqueFamilies()))
        m.family = *family;

    static const QRegularExpression versionPattern(
        u"^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))?([-+][0-9A-Za-z.+-]+)?$"_s);
    if (const auto version = r.string(u"version"_s, std::nullopt)) {
        m.version = *version;
        checkPattern(r, u"version"_s, m.version, versionPattern,
                     u"MAJOR.MINOR or MAJOR.MINOR.PATCH with an optional -suffix, e.g. "
                     "\"1.0.0\""_s);
    }
    if (const auto description = r.string(u"description"_s, std::nullopt))
        m.description = *description;
    m.citation = r.string(u"citation"_s, QString(), true).value_or(QString());

    r.declare(u"parameters"_s);
    if (const auto schema = ParamSchema::fromMetadata(metadata, errs))
        m.parameters = *schema;

    // "x-..." keys are free for a plugin's own use; anything else unknown is most likely a typo.
    for (auto it = metadata.begin(); it != metadata.end(); ++it) {
        if (it.key().startsWith(u"x-"_s))
            r.declare(it.key());
    }
    r.finish();

    if (errs->size() != errorsBefore)
        return std::nullopt;
    return m;
}

PluginMetaDataCheck checkPluginMetaData(const QJsonObject &loaderMetaData)
{
    PluginMetaDataCheck check;
    if (loaderMetaData.isEmpty()) {
        check.rejection = PluginRejection::NotAPlugin;
        check.errors.append(u"not a Qt plugin: the file carries no plugin metadata (a plain "
                            "library, or a plugin whose Q_PLUGIN_METADATA FILE was not a valid "
                            "JSON object, which moc ignores with only a warning)"_s);
        return check;
    }
    const QJsonValue iid = loaderMetaData.value(u"IID"_s);
    if (iid.toString() != QLatin1StringView(TechniqueIid)) {
        check.rejection = PluginRejection::WrongIid;
        check.errors.append(
            u"interface id %1, expected \"%2\": not a JouleBench technique plugin, or one built "
            "for another version of the technique interface (declare "
            "Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE ...))"_s.arg(
                formatValue(iid), QLatin1StringView(TechniqueIid)));
        return check;
    }
    const QJsonValue md = loaderMetaData.value(u"MetaData"_s);
    if (!md.isObject()) {
        check.rejection = PluginRejection::BadMetadata;
        check.errors.append(u"no metadata object: Q_PLUGIN_METADATA needs FILE \"<plugin>.json\" "
                            "with the technique's id, name, family, version, apiVersion, "
                            "description and parameters (see docs/plugins.md)"_s);
        return check;
    }
    check.metadata = parseTechniqueMetadata(md.toObject(), &check.errors, &check.rejection);
    return check;
}

} // namespace jb
