// SPDX-License-Identifier: GPL-3.0-or-later
// Technique plugin metadata validation (a pure function of JSON): what is accepted, and the
// exact key-named message for each kind of mistake a plugin author makes.
#include "engine/technique.h"
#include "engine/technique_metadata.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

QJsonObject validMetadata()
{
    return QJsonObject{{u"id"_s, u"prune.magnitude"_s},
                       {u"name"_s, u"Magnitude pruning"_s},
                       {u"family"_s, u"pruning"_s},
                       {u"version"_s, u"1.2.0"_s},
                       {u"apiVersion"_s, 1},
                       {u"description"_s, u"Zeroes the smallest weights."_s},
                       {u"citation"_s, u"Han et al., 2015"_s},
                       {u"parameters"_s, QJsonArray{QJsonObject{{u"name"_s, u"sparsity"_s},
                                                                {u"type"_s, u"double"_s},
                                                                {u"default"_s, 0.5},
                                                                {u"min"_s, 0.0},
                                                                {u"max"_s, 1.0}}}}};
}

QJsonObject with(QJsonObject o, const QString &key, const QJsonValue &value)
{
    if (value.isUndefined())
        o.remove(key);
    else
        o.insert(key, value);
    return o;
}

QJsonObject loaderObject(const QJsonValue &iid, const QJsonValue &metadata)
{
    QJsonObject o{{u"IID"_s, iid}, {u"className"_s, u"X"_s}};
    if (!metadata.isUndefined())
        o.insert(u"MetaData"_s, metadata);
    return o;
}

} // namespace

class TestTechniqueMetadata : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void validMetadataIsRead()
    {
        QStringList errors;
        PluginRejection rejection = PluginRejection::NotAPlugin;
        const auto m = parseTechniqueMetadata(validMetadata(), &errors, &rejection);
        QVERIFY2(m, qPrintable(errors.join(u'\n')));
        QCOMPARE(m->id, u"prune.magnitude"_s);
        QCOMPARE(m->family, u"pruning"_s);
        QCOMPARE(m->apiVersion, TechniqueApiVersion);
        QCOMPARE(m->citation, u"Han et al., 2015"_s);
        QCOMPARE(m->parameters.names(), QStringList{u"sparsity"_s});
        QCOMPARE(m->parameters.find(u"sparsity"_s)->max, 1.0);
        // toJson() reads back to the same value.
        QCOMPARE(parseTechniqueMetadata(m->toJson(), &errors), m);
    }

    void optionalPartsMayBeAbsent()
    {
        QJsonObject o = validMetadata();
        o.remove(u"citation"_s);
        o.remove(u"parameters"_s);
        o.insert(u"x-homepage"_s, u"https://example.org"_s);
        QStringList errors;
        const auto m = parseTechniqueMetadata(o, &errors);
        QVERIFY2(m, qPrintable(errors.join(u'\n')));
        QVERIFY(m->citation.isEmpty());
        QVERIFY(m->parameters.isEmpty());
    }

    void everyFamilyIsAccepted()
    {
        QCOMPARE(techniqueFamilies(),
                 (QStringList{u"pruning"_s, u"quantization"_s, u"distillation"_s, u"nas"_s,
                              u"architecture"_s, u"data-selection"_s, u"other"_s}));
        for (const QString &family : techniqueFamilies()) {
            QStringList errors;
            QVERIFY2(parseTechniqueMetadata(with(validMetadata(), u"family"_s, family), &errors),
                     qPrintable(errors.join(u'\n')));
        }
    }

    void mistakesAreNamedByKey_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QJsonValue>("value");
        QTest::addColumn<QString>("message");
        const QJsonValue missing(QJsonValue::Undefined);
        QTest::newRow("id missing") << u"id"_s << missing << u"id: missing"_s;
        QTest::newRow("id number") << u"id"_s << QJsonValue(7) << u"id: 7 is a number"_s;
        QTest::newRow("id upper case")
            << u"id"_s << QJsonValue(u"Prune.Magnitude"_s)
            << u"id: \"Prune.Magnitude\" is not valid, expected lower-case"_s;
        QTest::newRow("id empty segment")
            << u"id"_s << QJsonValue(u"prune..x"_s) << u"id: \"prune..x\" is not valid"_s;
        QTest::newRow("id too long") << u"id"_s << QJsonValue(QString(65, u'a'))
                                     << u"has 65 characters, expected at most 64"_s;
        QTest::newRow("name blank")
            << u"name"_s << QJsonValue(u"  "_s) << u"name: \"  \" is empty"_s;
        QTest::newRow("family unknown")
            << u"family"_s << QJsonValue(u"prunning"_s) << u"did you mean \"pruning\""_s;
        QTest::newRow("version words")
            << u"version"_s << QJsonValue(u"latest"_s)
            << u"version: \"latest\" is not valid, expected MAJOR.MINOR"_s;
        QTest::newRow("version number")
            << u"version"_s << QJsonValue(1.0) << u"version: 1 is a number"_s;
        QTest::newRow("apiVersion missing")
            << u"apiVersion"_s << missing << u"apiVersion: missing"_s;
        QTest::newRow("apiVersion string")
            << u"apiVersion"_s << QJsonValue(u"1"_s) << u"apiVersion: \"1\" is a string"_s;
        QTest::newRow("description missing")
            << u"description"_s << missing << u"description: missing"_s;
        QTest::newRow("citation number")
            << u"citation"_s << QJsonValue(2015) << u"citation: 2015 is a number"_s;
        QTest::newRow("parameters object")
            << u"parameters"_s << QJsonValue(QJsonObject{}) << u"parameters"_s;
        QTest::newRow("parameter bad type")
            << u"parameters"_s
            << QJsonValue(QJsonArray{QJsonObject{{u"name"_s, u"k"_s}, {u"type"_s, u"float"_s}}})
            << u"parameters[0].type: \"float\""_s;
        QTest::newRow("parameter default out of range")
            << u"parameters"_s
            << QJsonValue(QJsonArray{QJsonObject{{u"name"_s, u"k"_s},
                                                 {u"type"_s, u"int"_s},
                                                 {u"min"_s, 1},
                                                 {u"max"_s, 4},
                                                 {u"default"_s, 5}}})
            << u"parameters[0].default: 5"_s;
        QTest::newRow("unknown key")
            << u"familly"_s << QJsonValue(u"pruning"_s) << u"familly: unknown key"_s;
    }

    void mistakesAreNamedByKey()
    {
        QFETCH(QString, key);
        QFETCH(QJsonValue, value);
        QFETCH(QString, message);
        QStringList errors;
        PluginRejection rejection = PluginRejection::NotAPlugin;
        QVERIFY(!parseTechniqueMetadata(with(validMetadata(), key, value), &errors, &rejection));
        QCOMPARE(rejection, PluginRejection::BadMetadata);
        const QString all = errors.join(u'\n');
        QVERIFY2(all.contains(message), qPrintable(all + u"\nlacks: "_s + message));
        QCOMPARE(errors.size(), 1);
    }

    void wrongApiVersionStopsEarly()
    {
        // Another API version may use another layout: no noise about the other keys.
        QJsonObject o = with(validMetadata(), u"apiVersion"_s, 2);
        o.remove(u"family"_s);
        QStringList errors;
        PluginRejection rejection = PluginRejection::BadMetadata;
        QVERIFY(!parseTechniqueMetadata(o, &errors, &rejection));
        QCOMPARE(rejection, PluginRejection::WrongApiVersion);
        QCOMPARE(errors.size(), 1);
        QVERIFY2(errors[0].startsWith(u"apiVersion: 2, but this JouleBench loads plugins of API "
                                      "version 1 only"_s),
                 qPrintable(errors[0]));
    }

    void loaderObjectIsCheckedInOrder()
    {
        PluginMetaDataCheck c = checkPluginMetaData(QJsonObject{});
        QVERIFY(!c.metadata);
        QCOMPARE(c.rejection, PluginRejection::NotAPlugin);

        c = checkPluginMetaData(
            loaderObject(u"org.qt-project.Qt.QIconEnginePlugin"_s, validMetadata()));
        QCOMPARE(c.rejection, PluginRejection::WrongIid);
        QVERIFY2(
            c.errors.value(0).contains(u"interface id \"org.qt-project.Qt.QIconEnginePlugin\""_s),
            qPrintable(c.errors.value(0)));
        c = checkPluginMetaData(loaderObject(QJsonValue(), validMetadata()));
        QCOMPARE(c.rejection, PluginRejection::WrongIid);

        c = checkPluginMetaData(
            loaderObject(QString::fromLatin1(TechniqueIid), QJsonValue(QJsonValue::Undefined)));
        QCOMPARE(c.rejection, PluginRejection::BadMetadata);
        QVERIFY(c.errors.value(0).contains(u"no metadata object"_s));
        c = checkPluginMetaData(loaderObject(QString::fromLatin1(TechniqueIid), QJsonArray{}));
        QCOMPARE(c.rejection, PluginRejection::BadMetadata);

        c = checkPluginMetaData(loaderObject(QString::fromLatin1(TechniqueIid), validMetadata()));
        QVERIFY2(c.metadata, qPrintable(c.errors.join(u'\n')));
        QVERIFY(c.errors.isEmpty());
    }

    void rejectionNamesAreStable()
    {
        QCOMPARE(pluginRejectionName(PluginRejection::NotAPlugin), u"not-a-plugin"_s);
        QCOMPARE(pluginRejectionName(PluginRejection::WrongIid), u"wrong-iid"_s);
        QCOMPARE(pluginRejectionName(PluginRejection::BadMetadata), u"bad-metadata"_s);
        QCOMPARE(pluginRejectionName(PluginRejection::WrongApiVersion), u"wrong-api-version"_s);
        QCOMPARE(pluginRejectionName(PluginRejection::DuplicateId), u"duplicate-id"_s);
        QCOMPARE(pluginRejectionName(PluginRejection::InsecurePermissions),
                 u"insecure-permissions"_s);
        QCOMPARE(pluginRejectionName(PluginRejection::LoadFailed), u"load-failed"_s);
        QCOMPARE(pluginRejectionName(PluginRejection::NoFactory), u"no-factory"_s);
    }

    void templateMetadataFileIsValid()
    {
        // The copy-and-rename starting point must itself pass.
        QFile f(QStringLiteral(JB_TEST_DATA_DIR "/../../plugins/template/weight_noise.json"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        QJsonParseError pe;
        const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
        QVERIFY2(doc.isObject(), qPrintable(pe.errorString()));
        QStringList errors;
        const auto m = parseTechniqueMetadata(doc.object(), &errors);
        QVERIFY2(m, qPrintable(errors.join(u'\n')));
        QCOMPARE(m->id, u"template.weight_noise"_s);
    }
};

QTEST_GUILESS_MAIN(TestTechniqueMetadata)
#include "tst_technique_metadata.moc"
