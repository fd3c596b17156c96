// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/plan.h"
#include "engine/technique_metadata.h"
#include "machine_probe.h"

#include <QHash>
#include <QJsonObject>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QSpinBox;

namespace jb::gui {

class VariantChainEditor;

/// The experiment designer: every setting of a plan.json as a form, the variants with their
/// technique chains, the expanded grid (runs, rough duration) and the problems that keep the
/// plan from running. What it saves is Plan::toJson() of plan(), i.e. exactly what
/// `joulebench-cli run --plan` parses; settings the form does not show (momentum, validation
/// fraction, ...) are kept from the loaded plan.
///
/// Validation runs at every change: Plan::fromJson() with the plugin schemas (the CLI's own
/// check), plus what only this machine knows (backends it lacks, meters it cannot read).
/// Fields named in an error are marked (ParamForm::markInvalid(): light red, arrows kept);
/// problems() lists all of them.
///
/// Threads: GUI thread only.
class PlanDesigner : public QWidget
{
    Q_OBJECT
public:
    explicit PlanDesigner(QWidget *parent = nullptr);

    /// The technique catalog (plugin registry metadata, or a fixture).
    void setTechniques(const QList<TechniqueMetadata> &techniques);
    /// What this machine offers. `backendsKnown` false: backends are not checked.
    void setMachine(const QStringList &backends, bool backendsKnown,
                    const QList<MeterChoice> &meters);

    void setPlan(const Plan &plan);
    /// The plan as the form shows it (may be invalid: see problems()).
    Plan plan() const;
    /// Every reason the plan cannot run, one line each, path first; empty when it can.
    QStringList problems() const { return m_problems; }
    /// Runs in the expanded grid (0 when the plan does not parse).
    int gridRuns() const { return m_gridRuns; }

    bool load(const QString &path, QString *error);
    /// Writes Plan::toJson() of plan() (canonical, indented); false with *error.
    bool save(const QString &path, QString *error);
    QString filePath() const { return m_filePath; }
    /// True when plan() differs from the plan last shown by setPlan()/load() or written by
    /// save() (compared as Plan::toJson(), so an edit undone by hand is not a change).
    bool isModified() const { return m_modified; }

    /// The PlanContext used for validation (schemas of the catalog).
    PlanContext planContext() const;

    /// The editor of a plan key path ("repetitions", "inference.batchSizes"), tests.
    QWidget *field(const QString &path) const { return m_fields.value(path); }
    VariantChainEditor *chainEditor() const { return m_chains; }

Q_SIGNALS:
    /// After every change: the problems (empty = runnable).
    void problemsChanged(const QStringList &problems);
    /// isModified() changed (after an edit, setPlan(), load() or save()).
    void modifiedChanged(bool modified);

private:
    QWidget *buildSettings();
    void revalidate();
    void fillBackends(const QStringList &chosen);
    void fillMeters(const QStringList &chosen);
    QStringList checkedItems(QListWidget *list) const;
    double roughDurationS(const Plan &plan, int runs) const;
    void changed();
    void setClean();

    Plan m_base; ///< the loaded plan: keeps the settings the form does not show
    QString m_filePath;
    QList<TechniqueMetadata> m_techniques;
    QStringList m_machineBackends;
    bool m_backendsKnown = false;
    QList<MeterChoice> m_meters;
    QStringList m_problems;
    int m_gridRuns = 0;
    bool m_loading = false;
    QJsonObject m_cleanJson; ///< Plan::toJson() of the plan as loaded or last saved
    bool m_modified = false;

    QHash<QString, QWidget *> m_fields;
    QLineEdit *m_name = nullptr, *m_description = nullptr, *m_datasetPath = nullptr,
              *m_torchScript = nullptr, *m_batchSizes = nullptr;
    QComboBox *m_dataset = nullptr, *m_zoo = nullptr, *m_optimizer = nullptr,
              *m_schedule = nullptr, *m_order = nullptr;
    QSpinBox *m_seed = nullptr, *m_trainLimit = nullptr, *m_testLimit = nullptr,
             *m_epochs = nullptr, *m_batchSize = nullptr, *m_repetitions = nullptr,
             *m_batches = nullptr, *m_warmup = nullptr;
    QDoubleSpinBox *m_width = nullptr, *m_learningRate = nullptr, *m_budget = nullptr;
    QListWidget *m_backends = nullptr, *m_meterList = nullptr;
    VariantChainEditor *m_chains = nullptr;
    QLabel *m_grid = nullptr;
    QPlainTextEdit *m_problemView = nullptr;
};

} // namespace jb::gui
