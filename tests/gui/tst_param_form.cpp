// SPDX-License-Identifier: GPL-3.0-or-later
// ParamForm: widgets generated from a schema fixture (types, ranges, defaults, tooltips) and
// invalid values marked instead of clamped.
#include "gui/param_form.h"
#include "gui_fixtures.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QSpinBox>

using namespace jb;
using namespace jb::gui;

class TestParamForm : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void widgetsFollowTheSchema()
    {
        const TechniqueMetadata prune = test::techniqueFixture().at(0);
        ParamForm form(prune.parameters, prune.id);
        auto *sparsity = qobject_cast<QDoubleSpinBox *>(form.editor(QStringLiteral("sparsity")));
        QVERIFY(sparsity);
        QCOMPARE(sparsity->minimum(), 0.0);
        QCOMPARE(sparsity->maximum(), 1.0);
        QCOMPARE(sparsity->value(), 0.5);
        QVERIFY(sparsity->toolTip().contains(QStringLiteral("Fraction of weights")));
        auto *scope = qobject_cast<QComboBox *>(form.editor(QStringLiteral("scope")));
        QVERIFY(scope);
        QCOMPARE(scope->count(), 2);
        QCOMPARE(scope->currentText(), QStringLiteral("global"));
        auto *epochs = qobject_cast<QSpinBox *>(form.editor(QStringLiteral("finetune_epochs")));
        QVERIFY(epochs);
        QCOMPARE(epochs->minimum(), 0);
        QCOMPARE(epochs->maximum(), 100);
        QCOMPARE(epochs->value(), 1);
        auto *structured = qobject_cast<QCheckBox *>(form.editor(QStringLiteral("structured")));
        QVERIFY(structured);
        QVERIFY(!structured->isChecked());
        QVERIFY(qobject_cast<QLineEdit *>(form.editor(QStringLiteral("tag"))));
        QCOMPARE(form.values(), prune.parameters.defaults());
        QVERIFY(form.errors().isEmpty());
    }

    void outOfRangeValueIsMarkedNotClamped()
    {
        const TechniqueMetadata prune = test::techniqueFixture().at(0);
        ParamForm form(prune.parameters, prune.id);
        form.setValues({{QStringLiteral("sparsity"), 1.7}});
        QCOMPARE(form.values().value(QStringLiteral("sparsity")).toDouble(), 1.7);
        QCOMPARE(form.errors().size(), 1);
        QVERIFY2(form.errors().first().startsWith(QStringLiteral("params.sparsity")),
                 qPrintable(form.errors().first()));
        QWidget *editor = form.editor(QStringLiteral("sparsity"));
        QVERIFY(editor->styleSheet().contains(QStringLiteral("d32f2f")));
        // The user edits the field: the loaded value is replaced, the mark goes.
        qobject_cast<QDoubleSpinBox *>(editor)->setValue(0.75);
        QVERIFY(form.errors().isEmpty());
        QVERIFY(editor->styleSheet().isEmpty());
        QCOMPARE(form.values().value(QStringLiteral("sparsity")).toDouble(), 0.75);
    }

    void requiredParameterStartsUnset()
    {
        const TechniqueMetadata quant = test::techniqueFixture().at(1);
        ParamForm form(quant.parameters, quant.id);
        auto *bits = qobject_cast<QSpinBox *>(form.editor(QStringLiteral("bits")));
        QVERIFY(bits);
        QVERIFY(!form.values().contains(QStringLiteral("bits")));
        QCOMPARE(form.errors().size(), 1);
        QVERIFY(form.errors().first().contains(QStringLiteral("bits")));
        bits->setValue(8);
        QVERIFY(form.errors().isEmpty());
        QCOMPARE(form.values().value(QStringLiteral("bits")).toInt(), 8);
    }

    void wrongTypeAndUnknownKeyAreReported()
    {
        const TechniqueMetadata prune = test::techniqueFixture().at(0);
        ParamForm form(prune.parameters, prune.id);
        form.setValues({{QStringLiteral("structured"), QStringLiteral("yes")},
                        {QStringLiteral("sparsty"), 0.3}});
        const QString all = form.errors().join(u'\n');
        QVERIFY2(all.contains(QStringLiteral("params.structured")), qPrintable(all));
        QVERIFY2(all.contains(QStringLiteral("sparsty")), qPrintable(all));
    }
};

QTEST_MAIN(TestParamForm)
#include "tst_param_form.moc"
