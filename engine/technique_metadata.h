// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "param_schema.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <optional>

namespace jb {

/// The technique families a plugin's "family" may name, in display order: pruning,
/// quantization, distillation, nas, architecture, data-selection, other.
const QStringList &techniqueFamilies();

/// The validated JSON metadata of one technique plugin (the object given to
/// `Q_PLUGIN_METADATA(... FILE "x.json")`). Format: docs/plugins.md.
///
/// Threads: a value type.
struct TechniqueMetadata
{
    QString id;          ///< "prune.magnitude": lower-case segments [a-z0-9_-] joined by dots
    QString name;        ///< human-readable, "Magnitude pruning"
    QString family;      ///< one of techniqueFamilies()
    QString version;     ///< the plugin's own version, "MAJOR.MINOR[.PATCH][-suffix]"
    int apiVersion = 0;  ///< must equal TechniqueApiVersion
    QString description; ///< one or two sentences
    QString citation;    ///< the paper the method comes from; may be empty
    ParamSchema parameters;

    /// The metadata JSON form (keys as in the file; "parameters" typed).
    QJsonObject toJson() const;

    bool operator==(const TechniqueMetadata &) const = default;
};

/// Why a plugin file or folder was refused. The names (pluginRejectionName) are stable: tests,
/// `plugins --json` and scripts compare them.
enum class PluginRejection {
    NotAPlugin,          ///< "not-a-plugin": no Qt plugin metadata in the file
    WrongIid,            ///< "wrong-iid": another interface or another interface version
    BadMetadata,         ///< "bad-metadata": missing/mistyped field, bad id, bad parameters
    WrongApiVersion,     ///< "wrong-api-version": metadata apiVersion != TechniqueApiVersion
    DuplicateId,         ///< "duplicate-id": an earlier file already provides the id
    InsecurePermissions, ///< "insecure-permissions": file or folder writable by every user
    LoadFailed,          ///< "load-failed": the library could not be loaded (missing symbol...)
    NoFactory,           ///< "no-factory": the plugin object is not a jb::TechniqueFactory
};

/// "not-a-plugin", "wrong-iid", ...
QString pluginRejectionName(PluginRejection reason);

/// Checks the metadata object of a technique plugin (the "MetaData" member of what
/// QPluginLoader::metaData() returns). Pure function of its input (safe to fuzz).
///
/// Checks, in this order, and appends every problem to *errors as "key: what is wrong, fix":
/// apiVersion (an integer; a different value sets *rejection to WrongApiVersion and stops, as
/// the rest of the format may differ between versions), then id, name, family, version,
/// description, citation, parameters (ParamSchema::fromMetadata, "parameters[i].key: ..."),
/// and unknown keys (anything not listed above and not starting with "x-").
/// Returns nullopt and sets *rejection (BadMetadata or WrongApiVersion) on any problem.
std::optional<TechniqueMetadata> parseTechniqueMetadata(const QJsonObject &metadata,
                                                        QStringList *errors,
                                                        PluginRejection *rejection = nullptr);

/// Result of checking a whole QPluginLoader::metaData() object.
struct PluginMetaDataCheck
{
    std::optional<TechniqueMetadata> metadata;                ///< set when the plugin is acceptable
    PluginRejection rejection = PluginRejection::BadMetadata; ///< when metadata is not set
    QStringList errors;                                       ///< when metadata is not set
};

/// Checks what QPluginLoader::metaData() returned for a file: `{"IID": ..., "className": ...,
/// "MetaData": {...}}`. Empty -> NotAPlugin; IID != TechniqueIid -> WrongIid; no "MetaData"
/// object -> BadMetadata; then parseTechniqueMetadata(). Pure function of its input.
PluginMetaDataCheck checkPluginMetaData(const QJsonObject &loaderMetaData);

} // namespace jb
