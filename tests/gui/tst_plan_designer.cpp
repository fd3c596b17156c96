// SPDX-License-Identifier: GPL-3.0-or-later
// PlanDesigner: invalid values block the run (with the field marked), chains reorder, and
// what the designer saves is exactly what the CLI parses (Plan::load == plan()).
#include "gui/param_form.h"
#include "gui/plan_designer.h"
#include "gui/variant_chain_editor.h"
#include "gui_fixtures.h"

#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>

using namespace jb;
using namespace jb::gui;

namespace {
const QString kDefaultPlan = QStringLiteral(JB_TEST_DATA_DIR "/../../resources/plans/default.json");

QList<MeterChoice> meters()
{
    return {{QStringLiteral("rapl-powercap"), QStringLiteral("RAPL"), false, false,
             QStringLiteral("/sys/class/powercap not readable; run scripts/grant-rapl-access.sh")},
            {QStringLiteral("estimate"), QStringLiteral("CPU-time estimate"), true, true, QString()}};
}
} // namespace

class TestPlanDesigner : public QObject
{
    Q_OBJECT
private:
    void setUp(PlanDesigner &d)
    {
        d.setTechniques(test::techniqueFixture());
        d.setMachine({QStringLiteral("cpu"), QStringLiteral("cpu:1")}, true, meters());
        QString error;
        QVERIFY2(d.load(kDefaultPlan, &error), qPrintable(error));
    }

private Q_SLOTS:
    void defaultPlanIsRunnable()
    {
        PlanDesigner d;
        setUp(d);
        QVERIFY2(d.problems().isEmpty(), qPrintable(d.problems().join(u'\n')));
        QCOMPARE(d.gridRuns(), 3);
    }

    void invalidValuesBlockTheRun()
    {
        PlanDesigner d;
        setUp(d);
        QVERIFY(d.chainEditor()->addStep(QStringLiteral("prune.magnitude")));
        QCOMPARE(d.gridRuns(), 6);
        d.chainEditor()->currentForm()->setValues({{QStringLiteral("sparsity"), 1.7}});
        QStringList p = d.problems();
        QVERIFY2(p.join(u'\n').contains(QStringLiteral("variants[1].chain[0].params.sparsity")),
                 qPrintable(p.join(u'\n')));
        QCOMPARE(d.gridRuns(), 0);
        d.chainEditor()->currentForm()->setValues({{QStringLiteral("sparsity"), 0.3}});
        QVERIFY2(d.problems().isEmpty(), qPrintable(d.problems().join(u'\n')));

        auto *reps = qobject_cast<QSpinBox *>(d.field(QStringLiteral("repetitions")));
        reps->setValue(0);
        QVERIFY(d.problems().join(u'\n').contains(QStringLiteral("repetitions")));
        QVERIFY(reps->property("invalid").toBool());
        reps->setValue(2);
        QVERIFY(!reps->property("invalid").toBool());

        auto *sizes = qobject_cast<QLineEdit *>(d.field(QStringLiteral("inference.batchSizes")));
        sizes->setText(QStringLiteral("1, x"));
        QVERIFY(d.problems().join(u'\n').contains(QStringLiteral("inference.batchSizes")));
        QVERIFY(sizes->property("invalid").toBool());
        sizes->setText(QStringLiteral("1, 32"));
        QVERIFY2(d.problems().isEmpty(), qPrintable(d.problems().join(u'\n')));
    }

    void machineLimitsAreProblems()
    {
        PlanDesigner d;
        setUp(d);
        Plan p = d.plan();
        p.backends = {QStringLiteral("cuda")};
        p.measurement.meters = {QStringLiteral("rapl-powercap")};
        d.setPlan(p);
        const QString all = d.problems().join(u'\n');
        QVERIFY2(all.contains(QStringLiteral("backends: 'cuda' is not available")), qPrintable(all));
        QVERIFY2(all.contains(QStringLiteral("grant-rapl-access")), qPrintable(all));
    }

    void chainsReorder()
    {
        PlanDesigner d;
        setUp(d);
        VariantChainEditor *c = d.chainEditor();
        QVERIFY(c->addStep(QStringLiteral("prune.magnitude")));
        QVERIFY(c->addStep(QStringLiteral("quant.dynamic")));
        QCOMPARE(c->variants().size(), 2);
        QCOMPARE(c->variants().at(1).chain.size(), 2);
        // The required "bits" is unset: a problem until given.
        QVERIFY(d.problems().join(u'\n').contains(QStringLiteral("bits")));
        qobject_cast<QSpinBox *>(c->currentForm()->editor(QStringLiteral("bits")))->setValue(8);
        QVERIFY2(d.problems().isEmpty(), qPrintable(d.problems().join(u'\n')));
        c->moveStep(-1);
        QCOMPARE(c->variants().at(1).chain.at(0).plugin, QStringLiteral("quant.dynamic"));
        QCOMPARE(c->variants().at(1).chain.at(1).plugin, QStringLiteral("prune.magnitude"));
        QCOMPARE(d.plan().variants.at(1).chain.at(0).params.value(QStringLiteral("bits")).toInt(), 8);
    }

    void saveLoadRoundTripEqualsTheCliParse()
    {
        PlanDesigner d;
        setUp(d);
        QVERIFY(d.chainEditor()->addStep(QStringLiteral("prune.magnitude")));
        qobject_cast<QDoubleSpinBox *>(d.chainEditor()->currentForm()->editor(QStringLiteral("sparsity")))
            ->setValue(0.8);
        qobject_cast<QSpinBox *>(d.field(QStringLiteral("repetitions")))->setValue(5);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("plan.json"));
        QString error;
        QVERIFY2(d.save(path, &error), qPrintable(error));
        QStringList errors;
        const std::optional<Plan> parsed = Plan::load(path, &errors, d.planContext());
        QVERIFY2(parsed, qPrintable(errors.join(u'\n')));
        QCOMPARE(*parsed, d.plan());
        QCOMPARE(parsed->repetitions, 5);
        QCOMPARE(parsed->variants.at(1).chain.at(0).params.value(QStringLiteral("sparsity")).toDouble(), 0.8);
        // Loading it back shows the same plan.
        PlanDesigner again;
        again.setTechniques(test::techniqueFixture());
        again.setMachine({QStringLiteral("cpu")}, true, meters());
        QVERIFY2(again.load(path, &error), qPrintable(error));
        QCOMPARE(again.plan(), d.plan());
        QCOMPARE(again.plan().toJsonText(), d.plan().toJsonText());
    }

    // isModified() follows the difference from the loaded / saved plan, not every signal.
    void modifiedFollowsTheSavedPlan()
    {
        PlanDesigner d;
        setUp(d);
        QSignalSpy spy(&d, &PlanDesigner::modifiedChanged);
        QVERIFY(!d.isModified());
        auto *reps = qobject_cast<QSpinBox *>(d.field(QStringLiteral("repetitions")));
        const int before = reps->value();
        reps->setValue(before + 1);
        QVERIFY(d.isModified());
        QCOMPARE(spy.count(), 1);
        QVERIFY(spy.at(0).at(0).toBool());
        reps->setValue(before);
        QVERIFY(!d.isModified());
        QVERIFY(d.chainEditor()->addStep(QStringLiteral("prune.magnitude")));
        QVERIFY(d.isModified());
        QTemporaryDir dir;
        QString error;
        QVERIFY2(d.save(dir.filePath(QStringLiteral("p.json")), &error), qPrintable(error));
        QVERIFY(!d.isModified());
        // Re-reading the catalog or the machine is no edit.
        d.setTechniques(test::techniqueFixture());
        d.setMachine({QStringLiteral("cpu")}, true, meters());
        QVERIFY(!d.isModified());
    }
};

QTEST_MAIN(TestPlanDesigner)
#include "tst_plan_designer.moc"
