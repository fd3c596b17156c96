// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli plugins new: a new technique plugin folder, made from the template compiled
// into the CLI (plugins/template as the resource :/template/) by renaming its id, classes,
// files, CMake targets and tests. The folder builds in the JouleBench tree (plugins/<folder>)
// and on its own against the installed SDK (docs/plugin-authoring.md).
#include "cmd_plugins_tools.h"
#include "command.h"

#include "engine/technique_metadata.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QVersionNumber>

using namespace jb;
using namespace jb::cli;
using namespace Qt::StringLiterals;

namespace {

/// What the template is called; every occurrence is renamed.
const QString kTemplateId = u"template.weight_noise"_s;
const QString kTemplateStem = u"weight_noise"_s;

/// Ids for new plugins: stricter than the metadata format (which also allows '-' and digits
/// first after a dot), since the id also names C++ classes, files and CMake targets.
bool validNewId(const QString &id)
{
    static const QRegularExpression pattern(u"^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$"_s);
    return pattern.match(id).hasMatch();
}

/// "demo.noise" -> "DemoNoise", "prune.lamp_v2" -> "PruneLampV2".
QString camelCase(const QString &slug)
{
    QString out;
    for (const QString &part : slug.split(u'_', Qt::SkipEmptyParts))
        out += part.left(1).toUpper() + part.mid(1);
    return out;
}

/// "demo.noise" -> "Demo noise".
QString displayName(const QString &id)
{
    QString name = id;
    name.replace(u'.', u' ').replace(u'_', u' ');
    return name.left(1).toUpper() + name.mid(1);
}

/// One textual replacement, and whether it must occur in a file (a template that no longer
/// contains it is a bug of this command, reported instead of producing a half-renamed plugin).
struct Rename
{
    QString from;
    QString to;
    QStringList requiredIn; ///< template file names that must contain `from`
};

/// JSON string contents, escaped the way the metadata file needs them.
QString jsonText(const QString &text)
{
    const QByteArray quoted = QJsonDocument(QJsonArray{text}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(quoted.mid(2, quoted.size() - 4)); // strip ["  "]
}

QString readmeFor(const QString &id, const QString &slug, const QString &folder)
{
    return uR"(# %1 — a JouleBench technique plugin

Made by `joulebench-cli plugins new` from JouleBench's plugin template (it adds seeded Gaussian
noise to the weights). Replace the technique in `%2.cpp`, its metadata and parameters
in `%2.json`, and the test in `tst_%2.cpp`. Guide: docs/plugin-authoring.md of JouleBench.

Build it against an installed JouleBench SDK (`cmake --install <JouleBench build> --prefix <P>`):

    cmake -S %3 -B %3/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=<P>
    cmake --build %3/build
    ctest --test-dir %3/build --output-on-failure
    <P>/bin/joulebench-cli plugins check %3/build/plugins/libjb_technique_%2.so
    <P>/bin/joulebench-cli plugins --plugin-dir %3/build/plugins

Run it in an experiment next to the baseline (`example-plan.json`), then compare:

    <P>/bin/joulebench-cli run --plan %3/example-plan.json --db /tmp/%2.db --plugin-dir %3/build/plugins
    <P>/bin/joulebench-cli compare --db /tmp/%2.db --experiment last

`cmake --install %3/build --prefix <P>` puts it next to the built-in plugins. Copied into
`plugins/` of a JouleBench source tree, the folder builds with the project instead.
)"_s.arg(id, slug, folder);
}

/// A small plan with the new plugin next to the baseline, for `joulebench-cli run`.
QString examplePlanFor(const QString &id)
{
    return uR"({
    "version": 1,
    "name": "%1-example",
    "description": "The plugin %1 with its default parameters next to the baseline, on a Fashion-MNIST subset: a first run of a few seconds, too short for meaningful energy figures (its phases are flagged short-phase); raise trainLimit, epochs and inference batches for real measurements. Made by joulebench-cli plugins new.",
    "dataset": { "name": "fashion-mnist", "trainLimit": 2000, "testLimit": 500 },
    "model": { "zoo": "mlp" },
    "training": { "epochs": 1, "batchSize": 64 },
    "variants": [
        { "label": "baseline", "chain": [] },
        { "label": "%1", "chain": [ { "plugin": "%1", "params": {} } ] }
    ],
    "repetitions": 2,
    "inference": { "batchSizes": [1, 64], "batches": 20, "warmupBatches": 2 },
    "measurement": { "idleBefore": 0.5 }
}
)"_s.arg(id);
}

} // namespace

namespace jb::cli {

int runPluginsNew(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Creates <out>/<folder> with a new technique plugin made from the template "
        "(template.weight_noise), renamed for <id>: metadata, classes, files, CMake target and "
        "tests. It builds against the installed JouleBench SDK (find_package(JouleBench)) or "
        "inside plugins/ of the source tree. See docs/plugin-authoring.md."_s);
    parser.addPositionalArgument(u"id"_s,
                                 u"The plugin id: lower-case words (letters, digits, '_', a "
                                 "letter first) joined by dots, at least two, e.g. demo.noise."_s);
    const QCommandLineOption family(
        u"family"_s, u"The technique family: %1 (default: other)."_s.arg(
                         techniqueFamilies().join(u", "_s)),
        u"family"_s, u"other"_s);
    const QCommandLineOption name(u"name"_s,
                                  u"The human-readable name (default: from the id, \"Demo "
                                  "noise\")."_s,
                                  u"name"_s);
    const QCommandLineOption out(u"out"_s,
                                 u"The folder to create the plugin folder in (default: the "
                                 "current folder). The plugin folder is named after the id, "
                                 "dots as '_' (demo_noise)."_s,
                                 u"dir"_s, u"."_s);
    parser.addOptions({family, name, out});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;

    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) {
        printError(u"plugins new: give exactly one plugin id, e.g. `joulebench-cli plugins new "
                   "demo.noise --out ~/src`"_s);
        return ExitUsage;
    }
    const QString id = positional.first();
    if (!validNewId(id)) {
        printError(u"plugins new: id \"%1\" is not valid: use lower-case words of letters, "
                   "digits and '_' (each starting with a letter) joined by dots, at least two, "
                   "e.g. \"demo.noise\" or \"prune.my_method\" (the id also names the C++ "
                   "classes, files and CMake target)"_s.arg(id));
        return ExitUsage;
    }
    if (id == kTemplateId) {
        printError(u"plugins new: \"%1\" is the template's own id; choose a new one"_s.arg(id));
        return ExitUsage;
    }
    const QString familyValue = parser.value(family);
    if (!techniqueFamilies().contains(familyValue)) {
        printError(u"plugins new: --family \"%1\" is not a technique family; use one of: %2"_s.arg(
            familyValue, techniqueFamilies().join(u", "_s)));
        return ExitUsage;
    }
    const QString nameValue = parser.isSet(name) ? parser.value(name) : displayName(id);

    const QString slug = QString(id).replace(u'.', u'_');
    const QString camel = camelCase(slug);
    const QDir outDir(parser.value(out));
    if (!outDir.exists()) {
        printError(u"plugins new: --out '%1': no such folder; create it first"_s.arg(
            parser.value(out)));
        return ExitUsage;
    }
    const QString folder = QDir::cleanPath(outDir.absoluteFilePath(slug));
    if (QFileInfo::exists(folder)) {
        printError(u"plugins new: '%1' already exists; nothing was written. Choose another "
                   "--out or id, or remove the folder"_s.arg(folder));
        return ExitFailure;
    }

    const QVersionNumber version = QVersionNumber::fromString(QStringLiteral(JOULEBENCH_VERSION));
    const QString sdkVersion = u"%1.%2"_s.arg(version.majorVersion()).arg(version.minorVersion());
    // Order matters: the longer names that contain the template's stem come first.
    const QString json = kTemplateStem + u".json"_s;
    const QString cpp = kTemplateStem + u".cpp"_s;
    const QString test = u"tst_"_s + kTemplateStem + u".cpp"_s;
    const QList<Rename> renames{
        {u"\"name\": \"Weight noise (template)\""_s, u"\"name\": \"%1\""_s.arg(jsonText(nameValue)),
         {json}},
        {u"\"family\": \"other\""_s, u"\"family\": \"%1\""_s.arg(familyValue), {json}},
        {u"\"version\": \"1.0.0\""_s, u"\"version\": \"0.1.0\""_s, {json}},
        {u" The copy-and-rename starting point for new technique plugins; also a robustness "
         "probe."_s,
         u" (Made from the template by joulebench-cli plugins new: describe %1 here.)"_s.arg(id),
         {json}},
        {u"const QString kFamily = u\"other\"_s;"_s,
         u"const QString kFamily = u\"%1\"_s;"_s.arg(familyValue), {test}},
        {u"find_package(JouleBench 0.1 REQUIRED)"_s,
         u"find_package(JouleBench %1 REQUIRED)"_s.arg(sdkVersion), {u"CMakeLists.txt"_s}},
        {kTemplateId, id, {json, cpp, test, u"CMakeLists.txt"_s}},
        {u"tst_template_weight_noise"_s, u"tst_"_s + slug, {u"tests.cmake"_s}},
        {u"jb_technique_template"_s, u"jb_technique_"_s + slug,
         {u"CMakeLists.txt"_s, u"tests.cmake"_s}},
        {u"WeightNoiseTechnique"_s, camel + u"Technique"_s, {cpp}},
        {u"WeightNoisePlugin"_s, camel + u"Plugin"_s, {cpp, u"CMakeLists.txt"_s}},
        {u"TestWeightNoise"_s, u"Test"_s + camel, {test}},
        {kTemplateStem, slug, {cpp, test, u"CMakeLists.txt"_s, u"tests.cmake"_s}},
    };

    // Read and rename everything first: nothing is written unless all of it worked.
    const QDir templateDir(u":/template"_s);
    const QStringList files = templateDir.entryList(QDir::Files, QDir::Name);
    if (!files.contains(json) || !files.contains(cpp)) {
        printError(u"plugins new: this joulebench-cli has no plugin template compiled in (:/"
                   "template/ lists: %1); rebuild it from a complete source tree"_s.arg(
                       files.isEmpty() ? u"nothing"_s : files.join(u", "_s)));
        return ExitFailure;
    }
    QList<std::pair<QString, QByteArray>> generated; // file name in the new folder, contents
    for (const QString &file : files) {
        if (file == u"README.md"_s)
            continue; // the template's own README is about the template; a new one follows
        QFile in(templateDir.filePath(file));
        if (!in.open(QIODevice::ReadOnly)) {
            printError(u"plugins new: cannot read the template file %1"_s.arg(in.fileName()));
            return ExitFailure;
        }
        QString text = QString::fromUtf8(in.readAll());
        for (const Rename &r : renames) {
            if (r.requiredIn.contains(file) && !text.contains(r.from)) {
                printError(u"plugins new: the template file %1 no longer contains \"%2\"; "
                           "app/cli/cmd_plugins_new.cpp must be updated with the template"_s.arg(
                               file, r.from));
                return ExitFailure;
            }
            text.replace(r.from, r.to);
        }
        generated.append({QString(file).replace(kTemplateStem, slug), text.toUtf8()});
    }
    generated.append({u"README.md"_s, readmeFor(id, slug, folder).toUtf8()});
    generated.append({u"example-plan.json"_s, examplePlanFor(id).toUtf8()});

    // The metadata must pass the registry's own validation (a --name with odd characters...).
    for (const auto &[file, bytes] : std::as_const(generated)) {
        if (file != slug + u".json"_s)
            continue;
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
        QStringList errors;
        if (parseError.error != QJsonParseError::NoError)
            errors.append(parseError.errorString());
        else if (!parseTechniqueMetadata(doc.object(), &errors))
            errors.prepend(u"metadata invalid"_s);
        if (!errors.isEmpty()) {
            printError(u"plugins new: the generated %1 is not valid: %2"_s.arg(
                file, errors.join(u"; "_s)));
            return ExitFailure;
        }
    }

    if (!QDir().mkpath(folder)) {
        printError(u"plugins new: cannot create the folder '%1' (permissions?)"_s.arg(folder));
        return ExitFailure;
    }
    for (const auto &[file, bytes] : std::as_const(generated)) {
        QFile f(folder + u'/' + file);
        if (!f.open(QIODevice::WriteOnly | QIODevice::NewOnly) || f.write(bytes) != bytes.size()) {
            printError(u"plugins new: cannot write %1: %2"_s.arg(f.fileName(), f.errorString()));
            return ExitFailure;
        }
    }

    // Where this CLI's SDK is, when it runs from an installed prefix.
    const QString prefix = QDir::cleanPath(QCoreApplication::applicationDirPath() + u"/.."_s);
    const bool installed =
        QFileInfo::exists(prefix + u"/lib/cmake/JouleBench/JouleBenchConfig.cmake"_s);
    const QString p = installed ? prefix : u"<prefix>"_s;
    QString text = u"Created technique plugin %1 (family %2) in %3:\n"_s.arg(id, familyValue,
                                                                             folder);
    for (const auto &entry : std::as_const(generated))
        text += u"  "_s + entry.first + u'\n';
    text += u"\nBuild it against the installed SDK%1:\n"_s.arg(
        installed ? QString()
                  : u" (install it first: cmake --install <JouleBench build> --prefix "
                    "<prefix>)"_s);
    text += u"  cmake -S %1 -B %1/build -G Ninja -DCMAKE_BUILD_TYPE=Release "
            "-DCMAKE_PREFIX_PATH=%2\n"
            "  cmake --build %1/build && ctest --test-dir %1/build\n"
            "  %2/bin/joulebench-cli plugins check %1/build/plugins/libjb_technique_%3.so\n"_s.arg(
                folder, p, slug);
    text += u"Next: docs/plugin-authoring.md (what to change, the interface contract)."_s;
    printOut(text);
    return ExitOk;
}

} // namespace jb::cli
