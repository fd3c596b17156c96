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
#include <QStyle>
#include <QStyleOptionSpinBox>

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
        auto *editor = qobject_cast<QDoubleSpinBox *>(form.editor(QStringLiteral("sparsity")));
        QVERIFY(editor->property("invalid").toBool());
        // The field shows the plan's value, not the default, and keeps the schema's range.
        QCOMPARE(editor->text(), QStringLiteral("1.7"));
        QCOMPARE(editor->maximum(), 1.0);
        QVERIFY(form.isPending(QStringLiteral("sparsity")));
        QVERIFY(form.editor(QStringLiteral("sparsity"))->toolTip().contains(QStringLiteral("params.sparsity")));
        // The user edits the field: the loaded value is replaced, the mark goes.
        editor->setValue(0.75);
        QVERIFY(form.errors().isEmpty());
        QVERIFY(!editor->property("invalid").toBool());
        QCOMPARE(editor->text(), QStringLiteral("0.750000"));
        QVERIFY(!editor->toolTip().contains(QStringLiteral("params.sparsity")));
        QCOMPARE(form.values().value(QStringLiteral("sparsity")).toDouble(), 0.75);
    }

    void requiredParameterStartsUnset()
    {
        const TechniqueMetadata quant = test::techniqueFixture().at(1);
        ParamForm form(quant.parameters, quant.id);
        auto *bits = qobject_cast<QSpinBox *>(form.editor(QStringLiteral("bits")));
        QVERIFY(bits);
        QCOMPARE(bits->text(), QStringLiteral("(required)"));
        QVERIFY(bits->property("invalid").toBool());
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
        // The check box shows the loaded text, partially checked, until it is clicked.
        auto *structured = qobject_cast<QCheckBox *>(form.editor(QStringLiteral("structured")));
        QCOMPARE(structured->text(), QStringLiteral("\"yes\""));
        QCOMPARE(structured->checkState(), Qt::PartiallyChecked);
        QVERIFY(structured->property("invalid").toBool());
        structured->click();
        QVERIFY(structured->text().isEmpty());
        QVERIFY(!structured->isTristate());
        QCOMPARE(form.values().value(QStringLiteral("structured")), QJsonValue(structured->isChecked()));
        QVERIFY(!form.errors().join(u'\n').contains(QStringLiteral("params.structured")));
    }

    // What a loaded plan holds is what the fields show, whatever the editor type; editing a
    // field to a valid value works and clears the mark.
    void loadedInvalidValuesAreShown()
    {
        const TechniqueMetadata prune = test::techniqueFixture().at(0);
        ParamForm form(prune.parameters, prune.id);
        form.setValues({{QStringLiteral("finetune_epochs"), 2.5},
                        {QStringLiteral("scope"), QStringLiteral("attention")},
                        {QStringLiteral("tag"), 3}});
        auto *epochs = qobject_cast<QSpinBox *>(form.editor(QStringLiteral("finetune_epochs")));
        QCOMPARE(epochs->text(), QStringLiteral("2.5"));
        QVERIFY(epochs->property("invalid").toBool());
        auto *scope = qobject_cast<QComboBox *>(form.editor(QStringLiteral("scope")));
        QVERIFY2(scope->currentText().startsWith(QStringLiteral("attention")), qPrintable(scope->currentText()));
        QCOMPARE(scope->count(), 3);
        QVERIFY(scope->property("invalid").toBool());
        auto *tag = qobject_cast<QLineEdit *>(form.editor(QStringLiteral("tag")));
        QCOMPARE(tag->text(), QStringLiteral("3"));
        QCOMPARE(form.values().value(QStringLiteral("finetune_epochs")).toDouble(), 2.5);
        QCOMPARE(form.values().value(QStringLiteral("scope")).toString(), QStringLiteral("attention"));
        QCOMPARE(form.values().value(QStringLiteral("tag")), QJsonValue(3));
        QCOMPARE(form.errors().size(), 3);
        // A valid value with more decimals than the box shows is kept exactly, as its text.
        form.setValues({{QStringLiteral("sparsity"), 0.123456789}});
        auto *sparsity = qobject_cast<QDoubleSpinBox *>(form.editor(QStringLiteral("sparsity")));
        QCOMPARE(sparsity->text(), QStringLiteral("0.123456789"));
        QCOMPARE(form.values().value(QStringLiteral("sparsity")).toDouble(), 0.123456789);
        QVERIFY(form.errors().isEmpty());
        form.setValues({{QStringLiteral("finetune_epochs"), 2.5},
                        {QStringLiteral("scope"), QStringLiteral("attention")},
                        {QStringLiteral("tag"), 3}});

        // Typing a valid value (here one equal to what the box holds underneath) replaces it.
        epochs->setFocus();
        epochs->selectAll();
        QTest::keyClicks(epochs, QStringLiteral("3"));
        QCOMPARE(epochs->text(), QStringLiteral("3"));
        QCOMPARE(form.values().value(QStringLiteral("finetune_epochs")).toInt(), 3);
        QVERIFY(!epochs->property("invalid").toBool());
        scope->setCurrentIndex(1);
        QCOMPARE(scope->count(), 2); // the loaded entry is gone
        QCOMPARE(form.values().value(QStringLiteral("scope")).toString(), scope->itemText(1));
        tag->setText(QStringLiteral("three"));
        QVERIFY2(form.errors().isEmpty(), qPrintable(form.errors().join(u'\n')));
        // A second load shows the new values (no stale extra entry).
        form.setValues({{QStringLiteral("scope"), QStringLiteral("global")}});
        QCOMPARE(scope->count(), 2);
        QCOMPARE(epochs->text(), QStringLiteral("1"));
    }

    // An arrow on a value above the range steps into the range (the box holds max underneath).
    void arrowFromOutOfRangeValueEntersTheRange()
    {
        const TechniqueMetadata prune = test::techniqueFixture().at(0);
        ParamForm form(prune.parameters, prune.id);
        form.setValues({{QStringLiteral("finetune_epochs"), 250}});
        auto *epochs = qobject_cast<QSpinBox *>(form.editor(QStringLiteral("finetune_epochs")));
        QCOMPARE(epochs->text(), QStringLiteral("250"));
        QCOMPARE(epochs->maximum(), 100);
        epochs->stepDown();
        QCOMPARE(epochs->text(), QStringLiteral("99"));
        QCOMPARE(form.values().value(QStringLiteral("finetune_epochs")).toInt(), 99);
        QVERIFY(form.errors().isEmpty());
    }

    // A required double keeps the schema's minimum: "(required)" is a flag, not a value below it.
    void requiredDoubleKeepsTheRange()
    {
        ParamSpec spec;
        spec.name = QStringLiteral("rate");
        spec.type = ParamType::Double;
        spec.min = 0.0;
        spec.max = 1.0;
        ParamForm form(ParamSchema({spec}), QStringLiteral("t"));
        auto *rate = qobject_cast<QDoubleSpinBox *>(form.editor(QStringLiteral("rate")));
        QCOMPARE(rate->minimum(), 0.0);
        QCOMPARE(rate->text(), QStringLiteral("(required)"));
        QVERIFY(!form.values().contains(QStringLiteral("rate")));
        QCOMPARE(form.errors().size(), 1);
        rate->setValue(-0.5); // below min: the box cannot hold it
        QCOMPARE(rate->value(), 0.0);
        QVERIFY(!form.values().contains(QStringLiteral("rate")));
        rate->setValue(0.4);
        QCOMPARE(form.values().value(QStringLiteral("rate")).toDouble(), 0.4);
        QVERIFY(form.errors().isEmpty());
        // Typing the minimum itself (the value the box already holds) also counts as given.
        form.setValues({});
        QVERIFY(!form.values().contains(QStringLiteral("rate")));
        QCOMPARE(rate->text(), QStringLiteral("(required)"));
        rate->setFocus();
        rate->selectAll();
        QTest::keyClicks(rate, QStringLiteral("0"));
        QCOMPARE(form.values().value(QStringLiteral("rate")).toDouble(), 0.0);
        QVERIFY(form.errors().isEmpty());
    }

    // The invalid mark keeps the spin box arrows (a border style sheet removed them): the up
    // button area of a marked box still has the arrow's dark pixels, and the field is tinted.
    void invalidMarkKeepsTheArrows()
    {
        const TechniqueMetadata prune = test::techniqueFixture().at(0);
        ParamForm form(prune.parameters, prune.id);
        form.setValues({{QStringLiteral("finetune_epochs"), 250}});
        form.resize(420, form.sizeHint().height());
        form.show();
        QVERIFY(QTest::qWaitForWindowExposed(&form));
        auto *epochs = qobject_cast<QSpinBox *>(form.editor(QStringLiteral("finetune_epochs")));
        const QImage img = epochs->grab().toImage();
        if (!qEnvironmentVariableIsEmpty("JB_GUI_SHOTS")) { // JB_GUI_SHOTS=dir: pictures to look at
            img.save(qEnvironmentVariable("JB_GUI_SHOTS") + QStringLiteral("/invalid-spinbox.png"));
            form.setValues({{QStringLiteral("sparsity"), 12.5},
                            {QStringLiteral("finetune_epochs"), 2.5},
                            {QStringLiteral("scope"), QStringLiteral("attention")},
                            {QStringLiteral("structured"), QStringLiteral("yes")}});
            form.grab().save(qEnvironmentVariable("JB_GUI_SHOTS") + QStringLiteral("/invalid-form.png"));
            form.setValues({{QStringLiteral("finetune_epochs"), 250}});
        }
        QStyleOptionSpinBox opt;
        opt.initFrom(epochs);
        opt.subControls = QStyle::SC_SpinBoxUp | QStyle::SC_SpinBoxDown | QStyle::SC_SpinBoxFrame |
                          QStyle::SC_SpinBoxEditField;
        opt.frame = true;
        opt.stepEnabled = QAbstractSpinBox::StepDownEnabled;
        const QRect down = epochs->style()->subControlRect(QStyle::CC_SpinBox, &opt,
                                                           QStyle::SC_SpinBoxDown, epochs);
        QVERIFY(!down.isEmpty());
        int dark = 0;
        for (int y = down.top(); y <= down.bottom(); ++y)
            for (int x = down.left(); x <= down.right(); ++x)
                dark += qGray(img.pixel(x * img.width() / epochs->width(),
                                        y * img.height() / epochs->height())) < 100;
        QVERIFY2(dark > 3, qPrintable(QStringLiteral("dark pixels in the down arrow: %1").arg(dark)));
        // The edit field is tinted light red.
        const QColor mid = img.pixelColor(img.width() / 4, img.height() / 2);
        QVERIFY2(mid.red() > mid.green() + 20, qPrintable(mid.name()));
    }
};

QTEST_MAIN(TestParamForm)
#include "tst_param_form.moc"
