// SPDX-License-Identifier: GPL-3.0-or-later
#include "technique_registry.h"

#include "engine_log.h"
#include "plan_json.h"
#include "technique.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <QLibrary>
#include <QPluginLoader>
#include <QSet>
#include <QStandardPaths>
#include <QThread>

#include <algorithm>
#include <exception>

#ifdef Q_OS_UNIX
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

using namespace Qt::StringLiterals;

namespace jb {

struct TechniqueRegistry::Entry
{
    TechniquePluginInfo info;
    std::unique_ptr<QPluginLoader> loader;
    TechniqueFactory *factory = nullptr; ///< owned by the plugin's root object (never deleted)
    bool failed = false;                 ///< load() or the factory cast failed
    RejectedPlugin failure;              ///< when failed
};

namespace {

QString quoted(const QString &path)
{
    return u"'"_s + path + u"'"_s;
}

#ifdef Q_OS_UNIX
QString userName(uid_t uid)
{
    const passwd *pw = ::getpwuid(uid);
    return pw ? QString::fromLocal8Bit(pw->pw_name) : u"uid %1"_s.arg(uid);
}

/// True for a user-private group (Debian's USERGROUPS): named like the owner, no other
/// members. Write access for such a group gives nobody else access.
bool isPrivateGroup(gid_t gid, uid_t owner)
{
    const group *gr = ::getgrgid(gid);
    const passwd *pw = ::getpwuid(owner);
    return gr && pw && std::strcmp(gr->gr_name, pw->pw_name) == 0 &&
           (!gr->gr_mem || !gr->gr_mem[0]);
}
#endif

/// Non-empty when another user could place or replace code at `path` (file or folder,
/// symlinks followed): it is owned by someone other than this user or root, or writable by
/// every user, or writable by a group that is not the owner's private group.
QString permissionProblem(const QString &path, bool folder)
{
#ifdef Q_OS_UNIX
    struct stat st
    {
    };
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return QString(); // vanished meanwhile; the caller's next step reports it
    const QString what = u"%1 %2"_s.arg(folder ? u"folder"_s : u"file"_s, quoted(path));
    const QString mode = QString::number(st.st_mode & 07777, 8).rightJustified(4, u'0');
    if (st.st_uid != ::geteuid() && st.st_uid != 0) {
        return u"%1 is owned by user '%2', neither you ('%3') nor root, so that user could "
               "replace plugin code; not loaded. Fix: chown %3 %4 (or remove it)"_s
            .arg(what, userName(st.st_uid), userName(::geteuid()), quoted(path));
    }
    const bool groupWrites = (st.st_mode & S_IWGRP) && !isPrivateGroup(st.st_gid, st.st_uid);
    if (st.st_mode & S_IWOTH) {
        return u"%1 is writable by every user (mode %2), so anyone could place or replace "
               "plugin code there; not loaded. Fix: chmod %3 %4"_s
            .arg(what, mode, groupWrites ? u"go-w"_s : u"o-w"_s, quoted(path));
    }
    if (groupWrites) {
        const group *gr = ::getgrgid(st.st_gid);
        return u"%1 is writable by group '%2' (mode %3), so its members could place or replace "
               "plugin code there; not loaded. Fix: chmod go-w %4"_s
            .arg(what,
                 gr ? QString::fromLocal8Bit(gr->gr_name) : QString::number(st.st_gid), mode,
                 quoted(path));
    }
#else
    Q_UNUSED(path);
    Q_UNUSED(folder);
#endif
    return QString();
}

RejectedPlugin makeRejection(const QString &file, const QString &origin, PluginRejection reason,
                             const QStringList &problems, const QString &id = QString())
{
    RejectedPlugin r;
    r.file = file;
    r.origin = origin;
    r.reason = reason;
    r.id = id;
    r.message = file + u": "_s + problems.join(u"; "_s);
    return r;
}

} // namespace

QJsonObject TechniquePluginInfo::toJson() const
{
    QJsonObject o = metadata.toJson();
    o.insert(u"citation"_s, metadata.citation);
    o.insert(u"file"_s, file);
    o.insert(u"origin"_s, origin);
    return o;
}

QJsonObject RejectedPlugin::toJson() const
{
    return QJsonObject{{u"file"_s, file},
                       {u"origin"_s, origin},
                       {u"reason"_s, pluginRejectionName(reason)},
                       {u"message"_s, message},
                       {u"id"_s, id}};
}

TechniqueRegistry::TechniqueRegistry() = default;
TechniqueRegistry::~TechniqueRegistry() = default; // QPluginLoader's destructor does not unload

QString TechniqueRegistry::userPluginDir()
{
    // Not AppDataLocation: it contains the application name, which differs between joulebench
    // and joulebench-cli, and both must see the same plugins.
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) +
           u"/joulebench/plugins"_s;
}

QList<PluginSearchPath> TechniqueRegistry::standardSearchPaths()
{
    QList<PluginSearchPath> paths;
    if (QCoreApplication::instance()) {
        paths.append({QDir::cleanPath(QCoreApplication::applicationDirPath() +
                                      u"/../lib/joulebench/plugins"_s),
                      u"built-in"_s});
    }
    paths.append({userPluginDir(), u"user"_s});
    const QString env = qEnvironmentVariable("JOULEBENCH_PLUGIN_PATH");
    for (const QString &dir : env.split(QDir::listSeparator(), Qt::SkipEmptyParts))
        paths.append({QDir::cleanPath(dir), u"environment"_s});
    return paths;
}

QList<PluginSearchPath> TechniqueRegistry::searchPathsWith(const QStringList &commandLineDirs)
{
    QList<PluginSearchPath> paths = standardSearchPaths();
    for (const QString &dir : commandLineDirs)
        paths.append({QDir::cleanPath(QDir(dir).absolutePath()), u"command line"_s});
    return paths;
}

void TechniqueRegistry::setSearchPaths(const QList<PluginSearchPath> &paths)
{
    std::lock_guard lock(m_mutex);
    m_searchPaths = paths;
}

QList<PluginSearchPath> TechniqueRegistry::searchPaths() const
{
    std::lock_guard lock(m_mutex);
    return m_searchPaths;
}

void TechniqueRegistry::scan()
{
    std::lock_guard lock(m_mutex);
    m_entries.clear();
    m_rejected.clear();

    QHash<QString, const Entry *> byId;
    QSet<QString> visited;
    for (const PluginSearchPath &sp : std::as_const(m_searchPaths)) {
        const QFileInfo dirInfo(sp.dir);
        if (!dirInfo.isDir()) {
            qCDebug(lcEngine) << "plugin folder" << sp.dir << "(" << sp.origin
                              << ") does not exist; skipped";
            continue;
        }
        const QString dir = dirInfo.canonicalFilePath();
        if (visited.contains(dir))
            continue;
        visited.insert(dir);

        if (const QString problem = permissionProblem(dir, true); !problem.isEmpty()) {
            m_rejected.append(
                makeRejection(dir, sp.origin, PluginRejection::InsecurePermissions, {problem}));
            qCWarning(lcEngine).noquote() << m_rejected.last().message;
            continue;
        }

        const QFileInfoList files =
            QDir(dir).entryInfoList(QDir::Files | QDir::NoDotAndDotDot, QDir::Name);
        for (const QFileInfo &fi : files) {
            if (!QLibrary::isLibrary(fi.fileName()))
                continue;
            const QString file = fi.absoluteFilePath();
            auto reject = [&](PluginRejection reason, const QStringList &problems,
                              const QString &id = QString()) {
                m_rejected.append(makeRejection(file, sp.origin, reason, problems, id));
                qCWarning(lcEngine).noquote()
                    << "technique plugin refused:" << m_rejected.last().message;
            };

            // A symlink is judged by its target and the target's folder too.
            QString problem = permissionProblem(file, false);
            if (problem.isEmpty() && fi.isSymLink()) {
                const QString target = fi.canonicalFilePath();
                if (!target.isEmpty())
                    problem = permissionProblem(QFileInfo(target).absolutePath(), true);
            }
            if (!problem.isEmpty()) {
                reject(PluginRejection::InsecurePermissions, {problem});
                continue;
            }

            // metaData() reads the file; it does not load the library or run any plugin code.
            auto loader = std::make_unique<QPluginLoader>(file);
            const QJsonObject raw = loader->metaData();
            PluginMetaDataCheck check = checkPluginMetaData(raw);
            if (!check.metadata) {
                if (check.rejection == PluginRejection::NotAPlugin) {
                    const QString qtWhy = loader->errorString();
                    if (!qtWhy.isEmpty() && qtWhy != u"Unknown error"_s)
                        check.errors.append(u"Qt says: "_s + qtWhy);
                }
                reject(check.rejection, check.errors,
                       raw.value(u"MetaData"_s).toObject().value(u"id"_s).toString());
                continue;
            }
            const QString id = check.metadata->id;
            if (const Entry *first = byId.value(id)) {
                reject(PluginRejection::DuplicateId,
                       {u"duplicate id \"%1\": already provided by %2 (%3); remove or rename "
                        "one of the two"_s.arg(id, first->info.file, first->info.origin)},
                       id);
                continue;
            }
            auto entry = std::make_unique<Entry>();
            entry->info = {*std::move(check.metadata), file, sp.origin};
            entry->loader = std::move(loader);
            qCDebug(lcEngine) << "technique plugin" << id << "found in" << file;
            byId.insert(id, entry.get());
            m_entries.push_back(std::move(entry));
        }
    }
}

bool TechniqueRegistry::ensureLoadedLocked(Entry &entry)
{
    if (entry.factory)
        return true;
    if (entry.failed)
        return false;
    const TechniquePluginInfo &info = entry.info;
    auto fail = [&](PluginRejection reason, const QString &why) {
        entry.failed = true;
        entry.failure = makeRejection(info.file, info.origin, reason, {why}, info.metadata.id);
        qCWarning(lcEngine).noquote() << "technique plugin failed:" << entry.failure.message;
        return false;
    };
    // Resolve every symbol now: a missing one is a load error here, not a crash mid-run.
    entry.loader->setLoadHints(QLibrary::ResolveAllSymbolsHint);
    if (!entry.loader->load())
        return fail(PluginRejection::LoadFailed,
                    u"cannot load the library: %1. Rebuild the plugin against this JouleBench, "
                    "or install what it links to"_s.arg(entry.loader->errorString()));
    QObject *root = entry.loader->instance();
    if (!root)
        return fail(PluginRejection::LoadFailed, u"the library loaded but gave no plugin "
                                                 "object: %1"_s.arg(entry.loader->errorString()));
    auto *factory = qobject_cast<TechniqueFactory *>(root);
    if (!factory)
        return fail(PluginRejection::NoFactory,
                    u"its plugin class %1 does not implement jb::TechniqueFactory (add "
                    "Q_INTERFACES(jb::TechniqueFactory) and derive from it)"_s.arg(
                        QString::fromLatin1(root->metaObject()->className())));
    // instance() may run on a worker thread; the object must not stay bound to it.
    if (QCoreApplication *app = QCoreApplication::instance();
        app && root->thread() == QThread::currentThread() && app->thread() != root->thread())
        root->moveToThread(app->thread());
    entry.factory = factory;
    qCDebug(lcEngine) << "technique plugin" << info.metadata.id << "loaded from" << info.file;
    return true;
}

bool TechniqueRegistry::loadAll()
{
    std::lock_guard lock(m_mutex);
    bool all = true;
    for (const auto &entry : m_entries) {
        if (!ensureLoadedLocked(*entry))
            all = false;
    }
    return all;
}

QList<TechniquePluginInfo> TechniqueRegistry::plugins() const
{
    std::lock_guard lock(m_mutex);
    QList<TechniquePluginInfo> list;
    for (const auto &entry : m_entries) {
        if (!entry->failed)
            list.append(entry->info);
    }
    return list;
}

QList<RejectedPlugin> TechniqueRegistry::rejected() const
{
    std::lock_guard lock(m_mutex);
    QList<RejectedPlugin> list = m_rejected;
    for (const auto &entry : m_entries) {
        if (entry->failed)
            list.append(entry->failure);
    }
    return list;
}

QStringList TechniqueRegistry::ids() const
{
    std::lock_guard lock(m_mutex);
    QStringList list;
    for (const auto &entry : m_entries) {
        if (!entry->failed)
            list.append(entry->info.metadata.id);
    }
    list.sort();
    return list;
}

TechniqueRegistry::Entry *TechniqueRegistry::findLocked(const QString &id) const
{
    for (const auto &entry : m_entries) {
        if (entry->info.metadata.id == id)
            return entry.get();
    }
    return nullptr;
}

std::optional<TechniquePluginInfo> TechniqueRegistry::plugin(const QString &id) const
{
    std::lock_guard lock(m_mutex);
    const Entry *entry = findLocked(id);
    if (!entry || entry->failed)
        return std::nullopt;
    return entry->info;
}

const ParamSchema *TechniqueRegistry::schemaFor(const QString &id) const
{
    std::lock_guard lock(m_mutex);
    const Entry *entry = findLocked(id);
    if (!entry || entry->failed)
        return nullptr;
    return &entry->info.metadata.parameters;
}

PlanContext TechniqueRegistry::planContext(PlanContext base) const
{
    base.schemaFor = [this](const QString &id) { return schemaFor(id); };
    base.pluginIds = ids();
    return base;
}

std::unique_ptr<Technique> TechniqueRegistry::create(const QString &id, const QJsonObject &params,
                                                     QString *error, QJsonObject *filledParams)
{
    QString localError;
    QString *err = error ? error : &localError;
    TechniqueFactory *factory = nullptr;
    QString prefix;
    QJsonObject filled;
    {
        std::lock_guard lock(m_mutex);
        Entry *entry = findLocked(id);
        if (!entry) {
            for (const RejectedPlugin &r : std::as_const(m_rejected)) {
                if (!r.id.isEmpty() && r.id == id) {
                    *err = u"technique plugin \"%1\" was refused (%2): %3"_s.arg(
                        id, pluginRejectionName(r.reason), r.message);
                    return nullptr;
                }
            }
            QStringList known;
            for (const auto &e : m_entries) {
                if (!e->failed)
                    known.append(e->info.metadata.id);
            }
            known.sort();
            *err = u"unknown technique plugin \"%1\"%2; loaded: %3"_s.arg(
                id, planjson::didYouMean(id, known),
                known.isEmpty() ? u"none (see 'joulebench-cli plugins')"_s : known.join(u", "_s));
            return nullptr;
        }
        prefix = u"technique plugin \"%1\" (%2): "_s.arg(id, entry->info.file);
        if (entry->failed) {
            *err = prefix + u"not usable: "_s + entry->failure.message;
            return nullptr;
        }
        // Parameters first: a typo in a plan must not depend on whether the library loads.
        QStringList problems;
        if (!entry->info.metadata.parameters.validate(params, u"params"_s, &filled, &problems,
                                                      id)) {
            *err = prefix + problems.join(u"; "_s);
            return nullptr;
        }
        if (!ensureLoadedLocked(*entry)) {
            *err = prefix + u"not usable: "_s + entry->failure.message;
            return nullptr;
        }
        factory = entry->factory;
    }

    std::unique_ptr<Technique> technique;
    try {
        technique = factory->create();
        if (!technique) {
            *err = prefix + u"its factory returned no technique"_s;
            return nullptr;
        }
        QString why;
        if (!technique->configure(filled, &why)) {
            *err =
                prefix + u"configure: "_s + (why.isEmpty() ? u"failed without saying why"_s : why);
            return nullptr;
        }
    } catch (const std::exception &e) {
        *err = prefix + u"exception while creating the technique: "_s + exceptionText(e);
        return nullptr;
    } catch (...) {
        *err = prefix + u"unknown exception while creating the technique"_s;
        return nullptr;
    }
    if (filledParams)
        *filledParams = filled;
    return technique;
}

} // namespace jb
