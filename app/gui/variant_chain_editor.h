// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/plan.h"
#include "engine/technique_metadata.h"

#include <QList>
#include <QWidget>

class QLineEdit;
class QListWidget;
class QPushButton;
class QScrollArea;
class QTreeWidget;

namespace jb::gui {

class ParamForm;

/// Edits the variants of a plan: a list of labelled technique chains. The plugin palette
/// groups the techniques by family; each step's parameters are edited in a ParamForm
/// generated from the plugin's schema; steps are reordered with Up/Down. The baseline
/// (empty chain) is always the first variant and takes no steps.
///
/// Threads: GUI thread only.
class VariantChainEditor : public QWidget
{
    Q_OBJECT
public:
    explicit VariantChainEditor(QWidget *parent = nullptr);

    /// The techniques offered (from the plugin registry, or a fixture in tests).
    void setTechniques(const QList<TechniqueMetadata> &techniques);
    const QList<TechniqueMetadata> &techniques() const { return m_techniques; }
    /// The metadata of a technique id, or nullptr.
    const TechniqueMetadata *technique(const QString &id) const;

    /// Shows the variants of a plan (a baseline is added in front when there is none).
    void setVariants(const QList<PlanVariant> &variants);
    QList<PlanVariant> variants() const { return m_variants; }

    /// Selects a variant and one of its steps (-1: none); the step's form is shown.
    void select(int variant, int step);
    /// Appends a step of technique `id` (defaults filled) to the selected variant; a new
    /// variant is created when the baseline is selected. False when the id is unknown.
    bool addStep(const QString &id);
    /// Moves the selected step up (-1) or down (+1) in its chain.
    void moveStep(int delta);
    void removeStep();
    void addVariant();
    void removeVariant();

    /// The form of the selected step (tests), or nullptr.
    ParamForm *currentForm() const { return m_form; }

Q_SIGNALS:
    void changed();

private:
    void rebuildVariantList();
    void rebuildChainList();
    void showStepForm();
    void updateButtons();
    QString uniqueLabel(const QString &base) const;

    QList<TechniqueMetadata> m_techniques;
    QList<PlanVariant> m_variants;
    int m_variant = 0;
    int m_step = -1;

    QListWidget *m_variantList = nullptr;
    QLineEdit *m_label = nullptr;
    QTreeWidget *m_palette = nullptr;
    QListWidget *m_chainList = nullptr;
    QScrollArea *m_formArea = nullptr;
    ParamForm *m_form = nullptr;
    QPushButton *m_add = nullptr, *m_up = nullptr, *m_down = nullptr, *m_remove = nullptr,
                *m_removeVariant = nullptr;
    bool m_updating = false;
};

} // namespace jb::gui
