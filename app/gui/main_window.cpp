// SPDX-License-Identifier: GPL-3.0-or-later
#include "main_window.h"

#include "about_dialog.h"
#include "app_paths.h"
#include "chart_export.h"
#include "engine/technique_registry.h"
#include "gui_log.h"
#include "machine_probe.h"
#include "plan_designer.h"
#include "results_browser.h"
#include "run_monitor.h"

#include <QAction>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>
#include <QVBoxLayout>

#include "gui/qcp.h"

namespace jb::gui {

namespace {
QIcon icon(const char *name)
{
    return QIcon(QStringLiteral(":/joulebench/icons/%1.png").arg(QLatin1String(name)));
}
constexpr int kMaxRecent = 8;
} // namespace

MainWindow::MainWindow(QWidget *parent) : QMainWindow(parent)
{
    setWindowTitle(tr("JouleBench"));
    setWindowIcon(icon("joulebench"));
    m_cli = AppPaths::cliExecutable();
    m_registry = new TechniqueRegistry;
    m_probe = new MachineProbe(this);

    auto *central = new QWidget;
    auto *cl = new QVBoxLayout(central);
    cl->setContentsMargins(4, 4, 4, 4);
    m_welcome = new QLabel;
    m_welcome->setObjectName(QStringLiteral("welcome"));
    m_welcome->setWordWrap(true);
    m_welcome->setStyleSheet(QStringLiteral("background: #e3f2fd; border: 1px solid #90caf9; padding: 6px;"));
    m_welcome->hide();
    cl->addWidget(m_welcome);
    m_tabs = new QTabWidget;
    m_designer = new PlanDesigner;
    m_monitor = new RunMonitor;
    m_results = new ResultsBrowser;
    m_tabs->addTab(m_designer, tr("Experiment designer"));
    m_tabs->addTab(m_monitor, tr("Run monitor"));
    m_tabs->addTab(m_results, tr("Results"));
    cl->addWidget(m_tabs);
    setCentralWidget(central);

    createActions();
    m_meterLabel = new QLabel;
    statusBar()->addPermanentWidget(m_meterLabel);

    connect(m_designer, &PlanDesigner::problemsChanged, this, [this] { updateRunAction(); });
    connect(m_designer, &PlanDesigner::modifiedChanged, this, [this] { updateTitle(); });
    connect(m_monitor, &RunMonitor::runningChanged, this, [this] { updateRunAction(); });
    connect(m_monitor, &RunMonitor::finished, this, [this](bool ok, const QString &message) {
        statusBar()->showMessage(message);
        if (!ok)
            QMessageBox::warning(this, tr("Experiment"), message);
        openDatabase(m_monitor->dbPath());
    });
    connect(m_results, &ResultsBrowser::message, this,
            [this](const QString &m) { statusBar()->showMessage(m, 10000); });
    connect(m_probe, &MachineProbe::finished, this, [this] {
        m_designer->setMachine(m_probe->backends(), m_probe->backendError().isEmpty(),
                               m_probe->meters());
        updateMeterStatus();
        if (!m_probe->backendError().isEmpty())
            statusBar()->showMessage(m_probe->backendError());
    });

    loadPlugins();
    m_probe->start(m_cli);

    QSettings s;
    if (!restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray()))
        resize(1500, 950);
    restoreState(s.value(QStringLiteral("window/state")).toByteArray());
    const QString lastPlan = s.value(QStringLiteral("lastPlan")).toString();
    if (!lastPlan.isEmpty() && QFileInfo::exists(lastPlan)) {
        openPlan(lastPlan);
    } else {
        const QString def = AppPaths::defaultPlanPath();
        QString error;
        if (m_designer->load(def, &error)) {
            m_welcome->setText(tr("<b>Welcome to JouleBench.</b> This is the default plan (%1): "
                                  "Fashion-MNIST, a small CNN, 3 repetitions. Add technique "
                                  "variants on the right, save the plan, then Run ▸ Start (F5). "
                                  "Results open in the Results tab.").arg(def));
            m_welcome->show();
        } else {
            statusBar()->showMessage(tr("default plan %1: %2").arg(def, error));
        }
    }
    const QString lastDb = s.value(QStringLiteral("lastDatabase")).toString();
    if (!lastDb.isEmpty() && QFileInfo::exists(lastDb))
        openDatabase(lastDb);
    updateMeterStatus();
    updateRunAction();
    updateTitle();
}

MainWindow::~MainWindow()
{
    delete m_registry;
}

void MainWindow::createActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QToolBar *tb = addToolBar(tr("Main"));
    tb->setObjectName(QStringLiteral("mainToolBar"));
    auto add = [&](QMenu *menu, const char *iconName, const QString &text, QKeySequence key,
                   auto slot, bool toolbar = true) {
        QAction *a = menu->addAction(iconName ? icon(iconName) : QIcon(), text);
        a->setShortcut(key);
        connect(a, &QAction::triggered, this, slot);
        if (toolbar)
            tb->addAction(a);
        return a;
    };
    add(file, "plan-new", tr("&New plan"), QKeySequence::New, [this] { newPlan(); });
    add(file, "plan-open", tr("&Open plan…"), QKeySequence::Open, [this] {
        const QString p = QFileDialog::getOpenFileName(this, tr("Open plan"), QString(), tr("Plans (*.json)"));
        if (!p.isEmpty())
            openPlan(p);
    });
    add(file, "plan-save", tr("&Save plan"), QKeySequence::Save, [this] { savePlan(); });
    add(file, nullptr, tr("Save plan &as…"), QKeySequence::SaveAs, [this] { savePlanAs(); }, false);
    file->addSeparator();
    add(file, "database-open", tr("Open &database…"), QKeySequence(tr("Ctrl+D")), [this] {
        const QString p = QFileDialog::getOpenFileName(this, tr("Open database"), QString(),
                                                       tr("JouleBench databases (*.sqlite *.db);;All files (*)"));
        if (!p.isEmpty())
            openDatabase(p);
    });
    m_recentMenu = file->addMenu(tr("&Recent"));
    rebuildRecentMenu();
    add(file, "chart-export", tr("&Export chart…"), QKeySequence(tr("Ctrl+E")), [this] {
        QCustomPlot *p = m_tabs->currentWidget() == m_monitor ? nullptr : m_results->currentPlot();
        if (m_tabs->currentWidget() == m_monitor)
            p = m_monitor->findChild<QCustomPlot *>();
        if (p)
            ChartExport::saveWithDialog(this, p);
        else
            statusBar()->showMessage(tr("No chart in the current view."), 5000);
    });
    file->addSeparator();
    add(file, nullptr, tr("&Quit"), QKeySequence::Quit, [this] { close(); }, false);

    QMenu *run = menuBar()->addMenu(tr("&Run"));
    tb->addSeparator();
    m_start = add(run, "run-start", tr("&Start"), QKeySequence(Qt::Key_F5), [this] { startRun(); });
    m_cancel = add(run, "run-cancel", tr("&Cancel"), QKeySequence(tr("Shift+F5")),
                   [this] { m_monitor->cancel(); });
    QMenu *help = menuBar()->addMenu(tr("&Help"));
    add(help, "help-about", tr("&About JouleBench"), QKeySequence(Qt::Key_F1), [this] {
        AboutDialog(m_probe->torchVersion(), this).exec();
    }, false);
}

void MainWindow::loadPlugins()
{
    m_registry->setSearchPaths(TechniqueRegistry::standardSearchPaths());
    m_registry->scan(); // metadata only: no plugin code (or torch) runs
    QList<TechniqueMetadata> techniques;
    for (const TechniquePluginInfo &p : m_registry->plugins())
        techniques.append(p.metadata);
    for (const RejectedPlugin &r : m_registry->rejected())
        qCWarning(lcGui).noquote() << "plugin refused:" << r.message;
    m_designer->setTechniques(techniques);
}

void MainWindow::updateMeterStatus()
{
    QStringList parts;
    for (const MeterChoice &m : m_probe->meters())
        if (m.readable)
            parts.append(QStringLiteral("%1 (%2)").arg(m.id, m.estimate ? tr("estimate") : tr("measured")));
    QString text = tr("Meters: %1").arg(parts.isEmpty() ? tr("none readable") : parts.join(QStringLiteral(", ")));
    QStringList tips;
    for (const MeterChoice &m : m_probe->meters())
        tips.append(m.readable ? QStringLiteral("%1: readable").arg(m.id) : QStringLiteral("%1: %2").arg(m.id, m.reason));
    m_meterLabel->setText(text);
    m_meterLabel->setToolTip(tips.join(QLatin1Char('\n')));
}

void MainWindow::updateRunAction()
{
    QStringList reasons = m_designer->problems();
    if (m_cli.isEmpty())
        reasons.prepend(tr("joulebench-cli was not found next to the GUI (or in JOULEBENCH_CLI)"));
    if (m_monitor->isRunning())
        reasons.prepend(tr("an experiment is running"));
    m_start->setEnabled(reasons.isEmpty());
    m_start->setToolTip(reasons.isEmpty() ? tr("Start the experiment (F5)")
                                          : tr("Cannot start:\n") + reasons.join(QLatin1Char('\n')));
    m_cancel->setEnabled(m_monitor->isRunning());
}

bool MainWindow::isOwnPlanFile(const QString &path)
{
    // The shipped plans (resources/plans, share/joulebench/plans) are templates: the user
    // saves a copy, never overwrites a shipped file.
    const bool shipped = !path.isEmpty() &&
                         QFileInfo(path).canonicalFilePath() ==
                             QFileInfo(AppPaths::defaultPlanPath()).canonicalFilePath();
    return !path.isEmpty() && !path.startsWith(QLatin1Char(':')) && !shipped;
}

bool MainWindow::savePlan()
{
    if (!isOwnPlanFile(m_designer->filePath()))
        return savePlanAs();
    QString error;
    if (!m_designer->save(m_designer->filePath(), &error)) {
        QMessageBox::warning(this, tr("Save plan"), error);
        return false;
    }
    statusBar()->showMessage(tr("Saved %1").arg(m_designer->filePath()), 5000);
    updateTitle();
    return true;
}

bool MainWindow::savePlanAs()
{
    const QString p = QFileDialog::getSaveFileName(this, tr("Save plan"), QString(), tr("Plans (*.json)"));
    if (p.isEmpty())
        return false;
    QString error;
    if (!m_designer->save(p, &error)) {
        QMessageBox::warning(this, tr("Save plan"), error);
        return false;
    }
    addRecent(p);
    updateTitle();
    return true;
}

void MainWindow::updateTitle()
{
    const QString path = m_designer->filePath();
    const QString name = path.isEmpty() ? tr("untitled plan") : QFileInfo(path).fileName();
    // "[*]" is where Qt shows "*" while windowModified is set.
    setWindowTitle(tr("%1[*] — JouleBench").arg(name));
    setWindowModified(m_designer->isModified());
}

bool MainWindow::maybeSavePlan()
{
    if (!m_designer->isModified())
        return true;
    const QString path = m_designer->filePath();
    QMessageBox box(QMessageBox::Warning, tr("Unsaved plan"),
                    tr("The plan %1 has changes that are not saved.")
                        .arg(path.isEmpty() ? tr("(untitled)") : QFileInfo(path).fileName()),
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
    box.setObjectName(QStringLiteral("unsavedPlanPrompt"));
    box.setInformativeText(tr("Save them before the plan is replaced?"));
    box.setDefaultButton(QMessageBox::Save);
    switch (box.exec()) {
    case QMessageBox::Save:
        return savePlan();
    case QMessageBox::Discard:
        return true;
    default:
        return false;
    }
}

bool MainWindow::newPlan()
{
    if (!maybeSavePlan())
        return false;
    QString error;
    if (!m_designer->load(AppPaths::defaultPlanPath(), &error)) {
        QMessageBox::warning(this, tr("New plan"), error);
        return false;
    }
    updateTitle();
    statusBar()->showMessage(tr("New plan from the default plan; save it under a new name."));
    return true;
}

bool MainWindow::openPlan(const QString &path)
{
    if (!maybeSavePlan())
        return false;
    QString error;
    if (!m_designer->load(path, &error)) {
        QMessageBox::warning(this, tr("Open plan"), error);
        return false;
    }
    m_welcome->hide();
    updateTitle();
    addRecent(path);
    QSettings().setValue(QStringLiteral("lastPlan"), path);
    m_tabs->setCurrentWidget(m_designer);
    return true;
}

bool MainWindow::openDatabase(const QString &path)
{
    QString error;
    if (!m_results->openDatabase(path, &error)) {
        statusBar()->showMessage(error);
        return false;
    }
    addRecent(path);
    QSettings().setValue(QStringLiteral("lastDatabase"), path);
    return true;
}

void MainWindow::addRecent(const QString &path)
{
    QSettings s;
    QStringList recent = s.value(QStringLiteral("recentFiles")).toStringList();
    const QString abs = QFileInfo(path).absoluteFilePath();
    recent.removeAll(abs);
    recent.prepend(abs);
    s.setValue(QStringLiteral("recentFiles"), recent.mid(0, kMaxRecent));
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    const QStringList recent = QSettings().value(QStringLiteral("recentFiles")).toStringList();
    for (const QString &p : recent)
        m_recentMenu->addAction(p, this, [this, p] {
            if (p.endsWith(QLatin1String(".json")))
                openPlan(p);
            else
                openDatabase(p);
        });
    m_recentMenu->setEnabled(!recent.isEmpty());
}

QString MainWindow::defaultDatabasePath() const
{
    if (!m_results->databasePath().isEmpty())
        return m_results->databasePath();
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(dir);
    return QDir(dir).filePath(QStringLiteral("joulebench.sqlite"));
}

void MainWindow::startRun()
{
    if (!m_designer->problems().isEmpty())
        return;
    QString planPath = m_designer->filePath();
    if (!isOwnPlanFile(planPath)) {
        const QString before = planPath;
        savePlanAs();
        planPath = m_designer->filePath();
        if (planPath.isEmpty() || planPath.startsWith(QLatin1Char(':')) || planPath == before)
            return; // not saved to a file of the user's own
    }
    QString error;
    if (!m_designer->save(planPath, &error)) { // the worker runs exactly what the form shows
        QMessageBox::warning(this, tr("Start"), error);
        return;
    }
    const QString db = defaultDatabasePath();
    if (!m_monitor->start(m_cli, planPath, db, &error)) {
        QMessageBox::warning(this, tr("Start"), error);
        return;
    }
    m_welcome->hide();
    m_tabs->setCurrentWidget(m_monitor);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_monitor->isRunning() &&
        QMessageBox::question(this, tr("Quit"), tr("An experiment is running. Cancel it and quit?")) !=
            QMessageBox::Yes) {
        event->ignore();
        return;
    }
    if (!maybeSavePlan()) {
        event->ignore();
        return;
    }
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    QMainWindow::closeEvent(event);
}

} // namespace jb::gui
