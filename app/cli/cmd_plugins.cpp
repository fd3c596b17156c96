// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli plugins: the technique plugins found in the plugin folders, with their
// parameters, and every refused plugin file or folder with the reason. `plugins new` and
// `plugins check` (for plugin authors) live in cmd_plugins_new.cpp and cmd_plugins_check.cpp.
#include "cmd_plugins_tools.h"
#include "command.h"

#include "engine/plan_json.h"
#include "engine/technique_registry.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>

using namespace jb;
using namespace jb::cli;
using namespace Qt::StringLiterals;

namespace {

QString defaultText(const ParamSpec &spec)
{
    return spec.isRequired() ? u"required"_s
                             : u"default "_s + planjson::formatValue(spec.defaultValue);
}

QString pluginText(const TechniquePluginInfo &p, bool describe)
{
    const TechniqueMetadata &m = p.metadata;
    QString text = u"%1  %2  %3  %4\n"_s.arg(m.id, m.family, m.version, m.name);
    text += u"    file: %1 (%2)\n"_s.arg(p.file, p.origin);
    if (describe) {
        text += u"    %1\n"_s.arg(m.description);
        if (!m.citation.isEmpty())
            text += u"    citation: %1\n"_s.arg(m.citation);
    }
    if (m.parameters.isEmpty())
        text += u"    (no parameters)\n"_s;
    qsizetype nameWidth = 0;
    for (const ParamSpec &s : m.parameters.specs())
        nameWidth = std::max(nameWidth, s.name.size());
    for (const ParamSpec &s : m.parameters.specs()) {
        text += u"    %1  %2  %3  %4\n"_s.arg(s.name, -int(nameWidth))
                    .arg(paramTypeName(s.type), -6)
                    .arg(defaultText(s), -16)
                    .arg(s.expectation());
        if (describe && !s.help.isEmpty())
            text += u"      %1\n"_s.arg(s.help);
    }
    return text;
}

int runPlugins(const QStringList &args)
{
    if (args.size() > 1 && args.at(1) == u"new"_s)
        return runPluginsNew(QStringList{args.first() + u" new"_s} + args.mid(2));
    if (args.size() > 1 && args.at(1) == u"check"_s)
        return runPluginsCheck(QStringList{args.first() + u" check"_s} + args.mid(2));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Lists the technique plugins and their parameters, and every plugin file or folder that "
        "was refused, with the reason. Plugins are searched in: <executable dir>/../lib/"
        "joulebench/plugins, %1, the folders in JOULEBENCH_PLUGIN_PATH (separated by ':') and "
        "each --plugin-dir. See docs/plugins.md.\n\nFor plugin authors (docs/plugin-authoring.md):"
        "\n  plugins new <id> [--family F] [--out DIR]   a new plugin folder from the template"
        "\n  plugins check <file.so>                     validate and run a built plugin"
        "\n(each with --help)."_s.arg(TechniqueRegistry::userPluginDir()));
    const QCommandLineOption pluginDir(u"plugin-dir"_s,
                                       u"Also search this folder (may be repeated)."_s, u"dir"_s);
    const QCommandLineOption json(u"json"_s, u"Print JSON."_s);
    const QCommandLineOption describe(u"describe"_s,
                                      u"Show only this plugin, with description, citation and "
                                      "parameter help."_s,
                                      u"id"_s);
    const QCommandLineOption noLoad(u"no-load"_s,
                                    u"Only read metadata; do not load the libraries (a library "
                                    "that cannot be loaded is then not detected)."_s);
    const QCommandLineOption strict(u"strict"_s,
                                    u"Exit with status 1 when any plugin or folder was refused."_s);
    parser.addOptions({pluginDir, json, describe, noLoad, strict});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;

    const QStringList dirs = parser.values(pluginDir);
    for (const QString &dir : dirs) {
        if (!QFileInfo(dir).isDir()) {
            printError(u"--plugin-dir '%1': no such folder"_s.arg(dir));
            return ExitUsage;
        }
    }

    // The registry logs what it finds and refuses (for the other commands); here the listing
    // below says it all. QT_LOGGING_RULES still overrides this.
    QLoggingCategory::setFilterRules(
        u"joulebench.engine.debug=false\njoulebench.engine.warning=false"_s);
    TechniqueRegistry registry;
    registry.setSearchPaths(TechniqueRegistry::searchPathsWith(dirs));
    registry.scan();
    if (!parser.isSet(noLoad))
        registry.loadAll();

    QList<TechniquePluginInfo> plugins = registry.plugins();
    const QList<RejectedPlugin> rejected = registry.rejected();
    if (parser.isSet(describe)) {
        const auto one = registry.plugin(parser.value(describe));
        if (!one) {
            printError(u"no technique plugin \"%1\"%2; loaded: %3"_s.arg(
                parser.value(describe),
                planjson::didYouMean(parser.value(describe), registry.ids()),
                registry.ids().isEmpty() ? u"none"_s : registry.ids().join(u", "_s)));
            return ExitFailure;
        }
        plugins = {*one};
    }
    std::sort(plugins.begin(), plugins.end(),
              [](const auto &a, const auto &b) { return a.metadata.id < b.metadata.id; });

    if (parser.isSet(json)) {
        QJsonArray pluginArray, rejectedArray, pathArray;
        for (const TechniquePluginInfo &p : std::as_const(plugins))
            pluginArray.append(p.toJson());
        for (const RejectedPlugin &r : rejected)
            rejectedArray.append(r.toJson());
        for (const PluginSearchPath &sp : registry.searchPaths())
            pathArray.append(QJsonObject{{u"dir"_s, sp.dir},
                                         {u"origin"_s, sp.origin},
                                         {u"exists"_s, QFileInfo(sp.dir).isDir()}});
        printOut(QString::fromUtf8(QJsonDocument(QJsonObject{{u"plugins"_s, pluginArray},
                                                             {u"rejected"_s, rejectedArray},
                                                             {u"searchPaths"_s, pathArray}})
                                       .toJson(QJsonDocument::Indented)));
    } else {
        QString text = u"Technique plugins: %1 loaded, %2 refused\n"_s.arg(plugins.size())
                           .arg(rejected.size());
        for (const TechniquePluginInfo &p : std::as_const(plugins))
            text += u"\n"_s + pluginText(p, parser.isSet(describe));
        if (!rejected.isEmpty()) {
            text += u"\nRefused:\n"_s;
            for (const RejectedPlugin &r : rejected)
                text += u"  [%1] %2\n"_s.arg(pluginRejectionName(r.reason), r.message);
        }
        text += u"\nSearched:\n"_s;
        for (const PluginSearchPath &sp : registry.searchPaths())
            text += u"  %1 (%2)%3\n"_s.arg(
                sp.dir, sp.origin, QFileInfo(sp.dir).isDir() ? QString() : u" - does not exist"_s);
        printOut(text.trimmed());
    }
    return parser.isSet(strict) && !rejected.isEmpty() ? ExitFailure : ExitOk;
}

} // namespace

JB_CLI_COMMAND(plugins, "plugins",
               "List technique plugins, their parameters and refused plugins; new, check",
               runPlugins);
