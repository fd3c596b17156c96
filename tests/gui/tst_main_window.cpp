// SPDX-License-Identifier: GPL-3.0-or-later
// MainWindow: the title shows unsaved plan edits ("*"), and New plan, Open plan and closing the
// window ask Save / Discard / Cancel before they drop them.
#include "gui/main_window.h"
#include "gui/plan_designer.h"

#include <QAbstractButton>
#include <QApplication>
#include <QFile>
#include <QMessageBox>
#include <QSettings>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

using namespace jb;
using namespace jb::gui;

namespace {
const QString kDefaultPlan = QStringLiteral(JB_TEST_DATA_DIR "/../../resources/plans/default.json");
}

class TestMainWindow : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    bool m_asked = false;
    QMessageBox::StandardButton m_button = QMessageBox::NoButton;
    QTimer m_answer; ///< fires inside the prompt's event loop

    /// Answers the next unsaved-plan prompt with `button` once it is shown (from its event
    /// loop); m_asked says whether one came. An answer left over (no prompt came) is dropped
    /// by the next call.
    void answerPrompt(QMessageBox::StandardButton button)
    {
        m_asked = false;
        m_button = button;
        m_answer.start(0);
    }

    QString copyOfDefault(const QString &name)
    {
        const QString path = m_dir.filePath(name);
        QFile::remove(path);
        if (!QFile::copy(kDefaultPlan, path))
            qFatal("cannot copy the default plan");
        QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner);
        return path;
    }

    static QSpinBox *repetitions(MainWindow &w)
    {
        return qobject_cast<QSpinBox *>(w.designer()->field(QStringLiteral("repetitions")));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_answer.setSingleShot(true);
        connect(&m_answer, &QTimer::timeout, this, [this] {
            auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
            if (!box || box->objectName() != QLatin1String("unsavedPlanPrompt"))
                return;
            m_asked = true;
            box->button(m_button)->click();
        });
        // Settings (last plan, recent files) of this test only.
        QCoreApplication::setOrganizationName(QStringLiteral("JouleBenchTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_main_window"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.path());
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_dir.path());
    }

    void titleShowsUnsavedEdits()
    {
        MainWindow w;
        QVERIFY(w.openPlan(copyOfDefault(QStringLiteral("a.json"))));
        QVERIFY(w.windowTitle().contains(QStringLiteral("a.json")));
        QVERIFY(!w.isWindowModified());
        const int before = repetitions(w)->value();
        repetitions(w)->setValue(before + 4);
        QVERIFY(w.designer()->isModified());
        QVERIFY(w.isWindowModified());
        repetitions(w)->setValue(before); // undone by hand: nothing to save
        QVERIFY(!w.designer()->isModified());
        QVERIFY(!w.isWindowModified());
    }

    void newPlanAsksFirst()
    {
        MainWindow w;
        QVERIFY(w.openPlan(copyOfDefault(QStringLiteral("b.json"))));
        repetitions(w)->setValue(7);
        answerPrompt(QMessageBox::Cancel);
        QVERIFY(!w.newPlan());
        QVERIFY(m_asked);
        QCOMPARE(repetitions(w)->value(), 7);
        QVERIFY(w.designer()->filePath().endsWith(QStringLiteral("b.json")));
        QVERIFY(w.isWindowModified());

        answerPrompt(QMessageBox::Discard);
        QVERIFY(w.newPlan());
        QVERIFY(m_asked);
        QVERIFY(!w.designer()->isModified());
        QVERIFY(!w.designer()->filePath().endsWith(QStringLiteral("b.json")));
        // Nothing unsaved: no prompt.
        answerPrompt(QMessageBox::Cancel);
        QVERIFY(w.newPlan());
        QVERIFY(!m_asked);
        m_answer.stop();
    }

    void openPlanCanSaveFirst()
    {
        MainWindow w;
        const QString first = copyOfDefault(QStringLiteral("c.json"));
        QVERIFY(w.openPlan(first));
        repetitions(w)->setValue(9);
        answerPrompt(QMessageBox::Save);
        const bool opened = w.openPlan(copyOfDefault(QStringLiteral("d.json")));
        QVERIFY(m_asked);
        QVERIFY(opened);
        QVERIFY(w.designer()->filePath().endsWith(QStringLiteral("d.json")));
        QStringList errors;
        const std::optional<Plan> saved = Plan::load(first, &errors, PlanContext{});
        QVERIFY2(saved, qPrintable(errors.join(u'\n')));
        QCOMPARE(saved->repetitions, 9);
    }

    void closeAsksFirst()
    {
        MainWindow w;
        QVERIFY(w.openPlan(copyOfDefault(QStringLiteral("e.json"))));
        w.show();
        repetitions(w)->setValue(8);
        answerPrompt(QMessageBox::Cancel);
        QVERIFY(!w.close());
        QVERIFY(m_asked);
        QVERIFY(w.isVisible());
        answerPrompt(QMessageBox::Discard);
        QVERIFY(w.close());
        QVERIFY(m_asked);
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
