// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QMainWindow>
#include <QStringList>

class QAction;
class QLabel;
class QMenu;
class QTabWidget;

namespace jb {
class TechniqueRegistry;
}

namespace jb::gui {

class MachineProbe;
class PlanDesigner;
class ResultsBrowser;
class RunMonitor;

/// The workbench window: designer, run monitor and results browser as tabs; File, Run and
/// Help menus with shortcuts and a toolbar; the status bar lists the active meters and their
/// kind. Window geometry/state and recent files persist in QSettings. The first start opens
/// the default plan (AppPaths::defaultPlanPath()) with a welcome note.
///
/// The title names the plan file and shows "*" while the designer holds unsaved edits
/// (PlanDesigner::isModified()). New plan, opening a plan and closing the window ask first
/// (maybeSavePlan(): Save / Discard / Cancel, a QMessageBox named "unsavedPlanPrompt").
///
/// Threads: GUI thread only.
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    PlanDesigner *designer() const { return m_designer; }
    RunMonitor *monitor() const { return m_monitor; }
    ResultsBrowser *results() const { return m_results; }
    QTabWidget *tabs() const { return m_tabs; }
    QAction *runAction() const { return m_start; }

    /// Shows the plan at `path` after maybeSavePlan(); false when cancelled or unreadable.
    bool openPlan(const QString &path);
    /// Shows the default plan as a new plan after maybeSavePlan(); false when cancelled.
    bool newPlan();
    /// With unsaved plan edits, asks Save / Discard / Cancel (a modal QMessageBox named
    /// "unsavedPlanPrompt"); true when the plan may be replaced (nothing to save, saved, or
    /// discarded), false on Cancel or a failed / cancelled save.
    bool maybeSavePlan();
    bool openDatabase(const QString &path);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createActions();
    void loadPlugins();
    void updateMeterStatus();
    void updateRunAction();
    void addRecent(const QString &path);
    void rebuildRecentMenu();
    void startRun();
    QString defaultDatabasePath() const;
    /// False for no file, a resource or the shipped default plan (a template: Save As).
    static bool isOwnPlanFile(const QString &path);
    /// Saves to the plan's file (Save As when !isOwnPlanFile()); false when not saved.
    bool savePlan();
    bool savePlanAs();
    void updateTitle();

    TechniqueRegistry *m_registry = nullptr;
    MachineProbe *m_probe = nullptr;
    PlanDesigner *m_designer = nullptr;
    RunMonitor *m_monitor = nullptr;
    ResultsBrowser *m_results = nullptr;
    QTabWidget *m_tabs = nullptr;
    QLabel *m_meterLabel = nullptr;
    QLabel *m_welcome = nullptr;
    QMenu *m_recentMenu = nullptr;
    QAction *m_start = nullptr, *m_cancel = nullptr;
    QString m_cli;
};

} // namespace jb::gui
