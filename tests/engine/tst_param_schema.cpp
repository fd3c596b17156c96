// SPDX-License-Identifier: GPL-3.0-or-later
// Technique parameter schemas: what a plugin author writes in metadata, and how a plan's
// params are checked against it (defaults filled, every error named by its path).
#include "engine/param_schema.h"

#include <QJsonDocument>
#include <QtTest>

using namespace Qt::StringLiterals;
using jb::ParamSchema;
using jb::ParamSpec;
using jb::ParamType;

namespace {

QJsonObject json(const QByteArray &text)
{
    QJsonParseError e;
    const QJsonDocument d = QJsonDocument::fromJson(text, &e);
    if (e.error != QJsonParseError::NoError)
        qFatal("bad test JSON: %s", qPrintable(e.errorString()));
    return d.object();
}

// The metadata of a pruning plugin, as its author would write it.
const QByteArray kPruneMetadata = R"({
  "id": "prune.magnitude",
  "parameters": [
    { "name": "sparsity", "type": "double", "default": 0.5, "min": 0.0, "max": 1.0,
      "help": "Fraction of weights set to zero." },
    { "name": "scope", "type": "choice", "choices": ["global", "layer"], "default": "global" },
    { "name": "iterations", "type": "int", "default": 1, "min": 1, "max": 20 },
    { "name": "finetune", "type": "bool", "default": true },
    { "name": "note", "type": "string", "default": "" },
    { "name": "target", "type": "int", "min": 0 }
  ]
})";

ParamSchema pruneSchema()
{
    QStringList errors;
    const auto s = ParamSchema::fromMetadata(json(kPruneMetadata), &errors);
    if (!s)
        qFatal("prune schema: %s", qPrintable(errors.join(u'\n')));
    return *s;
}

// The errors of parsing one parameter spec.
QStringList errorsOfSpec(const QByteArray &specJson)
{
    QStringList errors;
    const auto s = ParamSchema::fromJson(QJsonArray{json(specJson)}, &errors);
    if (s && !errors.isEmpty())
        qFatal("schema returned despite errors");
    return errors;
}

} // namespace

class TestParamSchema : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parsesEveryTypeFromMetadata()
    {
        const ParamSchema s = pruneSchema();
        QCOMPARE(s.names(), (QStringList{u"sparsity"_s, u"scope"_s, u"iterations"_s, u"finetune"_s,
                                         u"note"_s, u"target"_s}));
        const ParamSpec *sp = s.find(u"sparsity"_s);
        QVERIFY(sp);
        QCOMPARE(sp->type, ParamType::Double);
        QCOMPARE(sp->defaultValue.toDouble(), 0.5);
        QCOMPARE(sp->min, 0.0);
        QCOMPARE(sp->max, 1.0);
        QCOMPARE(sp->help, u"Fraction of weights set to zero."_s);
        QCOMPARE(s.find(u"scope"_s)->choices, (QStringList{u"global"_s, u"layer"_s}));
        QCOMPARE(s.find(u"iterations"_s)->type, ParamType::Int);
        QCOMPARE(s.find(u"finetune"_s)->defaultValue, QJsonValue(true));
        QCOMPARE(s.find(u"note"_s)->type, ParamType::String);
        QVERIFY(s.find(u"target"_s)->isRequired());
        QVERIFY(!s.find(u"target"_s)->max);
        QVERIFY(!s.find(u"sparsity"_s)->isRequired());
        QVERIFY(!s.find(u"nothing"_s));
    }

    void metadataWithoutParametersIsAnEmptySchema()
    {
        QStringList errors;
        const auto s = ParamSchema::fromMetadata(json(R"({"id": "quant.dynamic_int8"})"), &errors);
        QVERIFY(s);
        QVERIFY(s->isEmpty());
        QVERIFY(errors.isEmpty());
    }

    void roundTripsThroughJson()
    {
        const ParamSchema s = pruneSchema();
        QStringList errors;
        const auto again = ParamSchema::fromJson(s.toJson(), &errors);
        QVERIFY2(again, qPrintable(errors.join(u'\n')));
        QCOMPARE(*again, s);
        // Int bounds stay integers in the JSON form the GUI reads.
        QCOMPARE(s.toJson().at(2).toObject().value(u"max"_s).toVariant().typeId(),
                 QMetaType::LongLong);
    }

    void specErrors_data()
    {
        QTest::addColumn<QByteArray>("spec");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("unknown type with suggestion")
            << QByteArray(R"({"name": "a", "type": "doubel"})")
            << QStringList{u"parameters[0].type: \"doubel\" is not one of \"int\", \"double\", "
                           "\"bool\", \"choice\", \"string\" (did you mean \"double\"?)"_s};
        QTest::newRow("missing name and type")
            << QByteArray(R"({"default": 1})")
            << QStringList{u"parameters[0].name: missing, expected a non-empty string"_s,
                           u"parameters[0].type: missing, expected one of \"int\", \"double\", "
                           "\"bool\", \"choice\", \"string\""_s};
        QTest::newRow("name not an identifier")
            << QByteArray(R"({"name": "2x", "type": "bool"})")
            << QStringList{u"parameters[0].name: \"2x\" is not an identifier, expected letters, "
                           "digits and _ (not starting with a digit)"_s};
        QTest::newRow("unknown key with suggestion")
            << QByteArray(R"({"name": "a", "type": "int", "defualt": 3})")
            << QStringList{u"parameters[0].defualt: unknown key (did you mean \"default\"?)"_s};
        QTest::newRow("min above max")
            << QByteArray(R"({"name": "a", "type": "double", "min": 2, "max": 1})")
            << QStringList{u"parameters[0].max: 1 is below min 2, expected max >= min"_s};
        QTest::newRow("range on a bool")
            << QByteArray(R"({"name": "a", "type": "bool", "min": 0})")
            << QStringList{u"parameters[0].min: only int and double parameters have a range, "
                           "this one is bool"_s};
        QTest::newRow("int bound not an integer")
            << QByteArray(R"({"name": "a", "type": "int", "max": 2.5})")
            << QStringList{u"parameters[0].max: 2.5 is not an integer"_s};
        QTest::newRow("choice without choices")
            << QByteArray(R"({"name": "a", "type": "choice"})")
            << QStringList{u"parameters[0].choices: missing, expected an array"_s};
        QTest::newRow("empty and repeated choices")
            << QByteArray(R"({"name": "a", "type": "choice", "choices": ["x", "x", 3]})")
            << QStringList{u"parameters[0].choices[1]: \"x\" is listed twice"_s,
                           u"parameters[0].choices[2]: 3 is a number, expected a non-empty "
                           "string"_s};
        QTest::newRow("choices on an int")
            << QByteArray(R"({"name": "a", "type": "int", "choices": ["1"]})")
            << QStringList{u"parameters[0].choices: only choice parameters have choices, this "
                           "one is int"_s};
        QTest::newRow("default above max")
            << QByteArray(R"({"name": "a", "type": "double", "max": 1.0, "default": 1.5})")
            << QStringList{u"parameters[0].default: 1.5 is above 1.0 (expected at most 1.0)"_s};
        QTest::newRow("default not a choice")
            << QByteArray(R"({"name": "a", "type": "choice", "choices": ["x"], "default": "y"})")
            << QStringList{u"parameters[0].default: \"y\" is not one of \"x\""_s};
        QTest::newRow("default of the wrong type")
            << QByteArray(R"({"name": "a", "type": "bool", "default": "yes"})")
            << QStringList{u"parameters[0].default: \"yes\" is a string, expected true or "
                           "false"_s};
    }
    void specErrors()
    {
        QFETCH(QByteArray, spec);
        QFETCH(QStringList, expected);
        QCOMPARE(errorsOfSpec(spec), expected);
    }

    void schemaLevelErrors()
    {
        QStringList errors;
        QVERIFY(!ParamSchema::fromMetadata(json(R"({"parameters": {"a": 1}})"), &errors));
        QCOMPARE(errors, QStringList{u"parameters: {\"a\":1} is an object, expected an array of "
                                     "parameter objects"_s});

        errors.clear();
        const QByteArray twice = R"({"parameters": [ {"name": "a", "type": "int"}, 7,
                                                     {"name": "a", "type": "bool"} ]})";
        QVERIFY(!ParamSchema::fromMetadata(json(twice), &errors));
        QCOMPARE(errors,
                 (QStringList{u"parameters[1]: 7 is a number, expected an object with name, "
                              "type, default, ..."_s,
                              u"parameters[2].name: \"a\" is declared twice, expected unique "
                              "parameter names"_s}));
    }

    void validateFillsDefaultsAndTypes()
    {
        const ParamSchema s = pruneSchema();
        QStringList errors;
        QJsonObject filled;
        const QJsonObject params = json(R"({"sparsity": 0.8, "iterations": 3.0, "target": 10})");
        QVERIFY(s.validate(params, u"p"_s, &filled, &errors, u"prune.magnitude"_s));
        QVERIFY(errors.isEmpty());
        QCOMPARE(filled, json(R"({"sparsity": 0.8, "scope": "global", "iterations": 3,
                                  "finetune": true, "note": "", "target": 10})"));
        // 3.0 in the plan is stored as the integer 3.
        QCOMPARE(filled.value(u"iterations"_s).toVariant().typeId(), QMetaType::LongLong);
        QCOMPARE(s.defaults(), json(R"({"sparsity": 0.5, "scope": "global", "iterations": 1,
                                        "finetune": true, "note": ""})"));
    }

    void validateErrors_data()
    {
        QTest::addColumn<QByteArray>("params");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown with suggestion")
            << QByteArray(R"({"target": 1, "sparsty": 0.5})")
            << u"v.sparsty: unknown parameter of prune.magnitude (did you mean \"sparsity\"?)"_s;
        QTest::newRow("unknown without suggestion")
            << QByteArray(R"({"target": 1, "temperature": 2})")
            << u"v.temperature: unknown parameter of prune.magnitude; known: sparsity, scope, "
               "iterations, finetune, note, target"_s;
        QTest::newRow("wrong type") << QByteArray(R"({"target": 1, "sparsity": "half"})")
                                    << u"v.sparsity: \"half\" is a string, expected a number"_s;
        QTest::newRow("above max") << QByteArray(R"({"target": 1, "sparsity": 1.7})")
                                   << u"v.sparsity: 1.7 is above 1.0 (allowed range 0.0 to 1.0)"_s;
        QTest::newRow("below min") << QByteArray(R"({"target": 1, "iterations": 0})")
                                   << u"v.iterations: 0 is below 1 (allowed range 1 to 20)"_s;
        QTest::newRow("not an integer") << QByteArray(R"({"target": 1, "iterations": 2.5})")
                                        << u"v.iterations: 2.5 is not an integer"_s;
        QTest::newRow("not a choice")
            << QByteArray(R"({"target": 1, "scope": "globl"})")
            << u"v.scope: \"globl\" is not one of \"global\", \"layer\" (did you mean "
               "\"global\"?)"_s;
        QTest::newRow("choice of wrong type")
            << QByteArray(R"({"target": 1, "scope": 1})")
            << u"v.scope: 1 is a number, expected one of \"global\", \"layer\""_s;
        QTest::newRow("bool of wrong type")
            << QByteArray(R"({"target": 1, "finetune": 1})")
            << u"v.finetune: 1 is a number, expected true or false"_s;
        QTest::newRow("missing required")
            << QByteArray(R"({})")
            << u"v.target: missing, expected an integer (at least 0) (a required "
               "parameter of prune.magnitude)"_s;
    }
    void validateErrors()
    {
        QFETCH(QByteArray, params);
        QFETCH(QString, expected);
        QStringList errors;
        QJsonObject filled;
        QVERIFY(
            !pruneSchema().validate(json(params), u"v"_s, &filled, &errors, u"prune.magnitude"_s));
        QCOMPARE(errors, QStringList{expected});
    }

    void validateCollectsEveryError()
    {
        QStringList errors;
        QJsonObject filled;
        QVERIFY(!pruneSchema().validate(json(R"({"sparsity": -1, "scope": "x", "bogus": 1})"),
                                        u"v"_s, &filled, &errors, u"prune.magnitude"_s));
        QCOMPARE(errors.size(), 4); // bogus, sparsity, scope, missing target
        QVERIFY(errors.at(0).startsWith(u"v.bogus: unknown parameter"_s));
        QCOMPARE(errors.at(1), u"v.sparsity: -1.0 is below 0.0 (allowed range 0.0 to 1.0)"_s);
        QVERIFY(errors.at(2).startsWith(u"v.scope: \"x\" is not one of"_s));
        QVERIFY(errors.at(3).startsWith(u"v.target: missing"_s));
    }

    void emptySchemaRejectsAnyParam()
    {
        QStringList errors;
        QJsonObject filled;
        QVERIFY(!ParamSchema().validate(json(R"({"bits": 8})"), u"v"_s, &filled, &errors,
                                        u"quant.dynamic_int8"_s));
        QCOMPARE(errors, QStringList{u"v.bits: unknown parameter of quant.dynamic_int8, which "
                                     "takes no parameters"_s});
    }
};

QTEST_GUILESS_MAIN(TestParamSchema)
#include "tst_param_schema.moc"
