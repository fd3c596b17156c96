// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "plan.h"
#include "technique_metadata.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

QT_BEGIN_NAMESPACE
class QPluginLoader;
QT_END_NAMESPACE

namespace jb {

class Technique;
class TechniqueFactory;

/// One folder the registry loads plugins from, and why it is searched.
struct PluginSearchPath
{
    QString dir;
    /// "built-in" (next to the executable), "user" (the user's data folder), "environment"
    /// (JOULEBENCH_PLUGIN_PATH), "command line" (--plugin-dir), or a caller's own word.
    QString origin;

    bool operator==(const PluginSearchPath &) const = default;
};

/// A technique plugin whose metadata passed validation.
struct TechniquePluginInfo
{
    TechniqueMetadata metadata;
    QString file;   ///< absolute path of the library
    QString origin; ///< the origin of the search path it was found in

    /// {"id", "name", "family", "version", "apiVersion", "description", "citation",
    /// "parameters", "file", "origin"}, for `plugins --json`.
    QJsonObject toJson() const;
};

/// A plugin file (or a whole folder) the registry refused, and why.
struct RejectedPlugin
{
    QString file;   ///< the library, or the folder for a refused folder
    QString origin; ///< the origin of its search path
    PluginRejection reason = PluginRejection::BadMetadata;
    QString message; ///< "<file>: <every problem, separated by "; ">", names the fix
    QString id;      ///< the plugin's id when its metadata could be read far enough

    /// {"file", "origin", "reason" (pluginRejectionName), "message", "id"}.
    QJsonObject toJson() const;
};

/// Finds, validates and instantiates technique plugins (Qt plugins implementing
/// jb::TechniqueFactory, interface id JB_TECHNIQUE_IID). See docs/plugins.md.
///
/// scan() reads every library's metadata with QPluginLoader::metaData() (which does not load
/// the library), checks interface id, apiVersion and metadata (checkPluginMetaData()), refuses
/// folders and files another user could change (owned by someone other than this user or root,
/// writable by every user, or by a group other than the owner's private group; the message
/// names the path and the chmod/chown that fixes it), and refuses a second file with an id
/// already seen (the first search path wins; there is no silent shadowing). No plugin code runs during scan().
/// A plugin library is loaded and its factory instantiated lazily, on its first create(), or
/// for all plugins at once by loadAll(). Libraries are never unloaded (techniques created from
/// them may still be alive).
///
/// Threads: construct, setSearchPaths(), scan() and loadAll() on the main thread while no other
/// thread uses the registry. After that every const method and create() may be called from any
/// thread, concurrently (an internal mutex guards the lazy loading).
class TechniqueRegistry
{
public:
    TechniqueRegistry();
    ~TechniqueRegistry();
    TechniqueRegistry(const TechniqueRegistry &) = delete;
    TechniqueRegistry &operator=(const TechniqueRegistry &) = delete;

    /// The documented folders, in search order:
    /// 1. `<executable dir>/../lib/joulebench/plugins` ("built-in"; where the build and the
    ///    install put the plugins; needs a QCoreApplication),
    /// 2. `<generic data location>/joulebench/plugins`, e.g. ~/.local/share/joulebench/plugins
    ///    ("user"; one folder shared by joulebench and joulebench-cli),
    /// 3. each entry of the JOULEBENCH_PLUGIN_PATH environment variable, separated by ':'
    ///    ("environment").
    /// Folders given with --plugin-dir come after these ("command line").
    static QList<PluginSearchPath> standardSearchPaths();
    /// The user's plugin folder (2. above).
    static QString userPluginDir();
    /// standardSearchPaths() followed by `commandLineDirs` (origin "command line"): what every
    /// command with a --plugin-dir option searches.
    static QList<PluginSearchPath> searchPathsWith(const QStringList &commandLineDirs);

    /// Replaces the folders to search (only these; nothing else is ever loaded). Folders that
    /// do not exist are skipped at scan(); the same folder given twice is searched once.
    void setSearchPaths(const QList<PluginSearchPath> &paths);
    QList<PluginSearchPath> searchPaths() const;

    /// Finds and validates every plugin in the search paths, replacing the previous result
    /// (pointers from schemaFor() become invalid). Files are visited folder by folder in search
    /// order, by file name within a folder; only files QLibrary::isLibrary() accepts are read.
    void scan();

    /// Loads every accepted plugin library and instantiates its factory, so that a library
    /// which cannot be loaded (an undefined symbol, a missing dependency) or is no
    /// TechniqueFactory is reported now rather than at its first create(). Such plugins move
    /// to rejected() (reason LoadFailed or NoFactory). Returns true when all loaded.
    bool loadAll();

    /// The accepted plugins, in scan order (without those that failed to load).
    QList<TechniquePluginInfo> plugins() const;
    /// The refused files and folders, in scan order, then those that failed to load.
    QList<RejectedPlugin> rejected() const;
    /// Ids of the accepted plugins, sorted.
    QStringList ids() const;
    std::optional<TechniquePluginInfo> plugin(const QString &id) const;
    /// The parameter schema of an accepted plugin, or nullptr for an unknown id. Valid until
    /// the next scan().
    const ParamSchema *schemaFor(const QString &id) const;

    /// `base` with schemaFor and pluginIds filled from this registry, for Plan::parse and
    /// friends. The context refers to this registry: keep the registry alive while it is used.
    PlanContext planContext(PlanContext base = {}) const;

    /// A fresh, configured technique for one run: checks `params` against the plugin's schema
    /// (ParamSchema::validate: defaults filled, unknown/mistyped/out-of-range values are
    /// errors named "params.<name>"), loads the library on first use, asks the factory for a
    /// new instance and calls Technique::configure() with the filled params. Returns nullptr
    /// with *error ("technique plugin \"<id>\" (<file>): ...") on any failure; for an id that
    /// scan() refused, the error is the refusal. `filledParams`,
    /// when given, receives the params with defaults (what the run should record).
    std::unique_ptr<Technique> create(const QString &id, const QJsonObject &params, QString *error,
                                      QJsonObject *filledParams = nullptr);

private:
    struct Entry;

    Entry *findLocked(const QString &id) const;
    bool ensureLoadedLocked(Entry &entry);

    QList<PluginSearchPath> m_searchPaths;
    std::vector<std::unique_ptr<Entry>> m_entries;
    QList<RejectedPlugin> m_rejected;
    mutable std::mutex m_mutex;
};

} // namespace jb
