// SPDX-License-Identifier: GPL-3.0-or-later
#include "variant_chain_editor.h"

#include "param_form.h"

#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace jb::gui {

VariantChainEditor::VariantChainEditor(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);

    auto *variantsBox = new QGroupBox(tr("Variants"));
    auto *vl = new QVBoxLayout(variantsBox);
    m_variantList = new QListWidget;
    m_variantList->setObjectName(QStringLiteral("variantList"));
    m_label = new QLineEdit;
    m_label->setPlaceholderText(tr("variant label"));
    auto *vButtons = new QHBoxLayout;
    auto *addVariant = new QPushButton(tr("Add variant"));
    m_removeVariant = new QPushButton(tr("Remove"));
    vButtons->addWidget(addVariant);
    vButtons->addWidget(m_removeVariant);
    vl->addWidget(m_variantList);
    vl->addWidget(m_label);
    vl->addLayout(vButtons);

    auto *paletteBox = new QGroupBox(tr("Techniques (by family)"));
    auto *pl = new QVBoxLayout(paletteBox);
    m_palette = new QTreeWidget;
    m_palette->setObjectName(QStringLiteral("techniquePalette"));
    m_palette->setHeaderHidden(true);
    m_add = new QPushButton(tr("Add step to chain"));
    pl->addWidget(m_palette);
    pl->addWidget(m_add);

    auto *chainBox = new QGroupBox(tr("Technique chain (applied top to bottom)"));
    auto *cl = new QVBoxLayout(chainBox);
    m_chainList = new QListWidget;
    m_chainList->setObjectName(QStringLiteral("chainList"));
    auto *cButtons = new QHBoxLayout;
    m_up = new QPushButton(tr("Up"));
    m_down = new QPushButton(tr("Down"));
    m_remove = new QPushButton(tr("Remove step"));
    cButtons->addWidget(m_up);
    cButtons->addWidget(m_down);
    cButtons->addWidget(m_remove);
    m_formArea = new QScrollArea;
    m_formArea->setWidgetResizable(true);
    cl->addWidget(m_chainList, 1);
    cl->addLayout(cButtons);
    cl->addWidget(new QLabel(tr("Parameters of the selected step:")));
    cl->addWidget(m_formArea, 2);

    layout->addWidget(variantsBox, 2);
    layout->addWidget(paletteBox, 2);
    layout->addWidget(chainBox, 3);

    connect(m_variantList, &QListWidget::currentRowChanged, this, [this](int row) {
        if (!m_updating && row >= 0)
            select(row, -1);
    });
    connect(m_chainList, &QListWidget::currentRowChanged, this, [this](int row) {
        if (!m_updating)
            select(m_variant, row);
    });
    connect(m_label, &QLineEdit::textEdited, this, [this](const QString &text) {
        if (m_variant < 0 || m_variant >= m_variants.size())
            return;
        m_variants[m_variant].label = text;
        if (QListWidgetItem *item = m_variantList->item(m_variant))
            item->setText(text);
        Q_EMIT changed();
    });
    connect(addVariant, &QPushButton::clicked, this, &VariantChainEditor::addVariant);
    connect(m_removeVariant, &QPushButton::clicked, this, &VariantChainEditor::removeVariant);
    connect(m_add, &QPushButton::clicked, this, [this] {
        if (QTreeWidgetItem *item = m_palette->currentItem())
            addStep(item->data(0, Qt::UserRole).toString());
    });
    connect(m_palette, &QTreeWidget::itemDoubleClicked, this,
            [this](QTreeWidgetItem *item) { addStep(item->data(0, Qt::UserRole).toString()); });
    connect(m_palette, &QTreeWidget::currentItemChanged, this, [this] { updateButtons(); });
    connect(m_up, &QPushButton::clicked, this, [this] { moveStep(-1); });
    connect(m_down, &QPushButton::clicked, this, [this] { moveStep(+1); });
    connect(m_remove, &QPushButton::clicked, this, &VariantChainEditor::removeStep);
    setVariants({});
}

void VariantChainEditor::setTechniques(const QList<TechniqueMetadata> &techniques)
{
    m_techniques = techniques;
    m_palette->clear();
    for (const QString &family : techniqueFamilies()) {
        QTreeWidgetItem *group = nullptr;
        for (const TechniqueMetadata &t : m_techniques) {
            if (t.family != family)
                continue;
            if (!group) {
                group = new QTreeWidgetItem(m_palette, {family});
                group->setFlags(Qt::ItemIsEnabled);
            }
            auto *item = new QTreeWidgetItem(group, {QStringLiteral("%1  (%2)").arg(t.name, t.id)});
            item->setData(0, Qt::UserRole, t.id);
            item->setToolTip(0, t.description + (t.citation.isEmpty()
                                                     ? QString()
                                                     : QStringLiteral("\n") + t.citation));
        }
    }
    if (m_techniques.isEmpty()) {
        auto *none = new QTreeWidgetItem(m_palette, {tr("No technique plugins found")});
        none->setFlags(Qt::ItemIsEnabled);
        none->setToolTip(0, tr("Plugins are searched in <exe dir>/../lib/joulebench/plugins, the "
                               "user plugin folder and JOULEBENCH_PLUGIN_PATH; see "
                               "'joulebench-cli plugins'."));
    }
    m_palette->expandAll();
    showStepForm();
    updateButtons();
}

const TechniqueMetadata *VariantChainEditor::technique(const QString &id) const
{
    for (const TechniqueMetadata &t : m_techniques)
        if (t.id == id)
            return &t;
    return nullptr;
}

void VariantChainEditor::setVariants(const QList<PlanVariant> &variants)
{
    m_variants = variants;
    qsizetype base = -1;
    for (qsizetype i = 0; i < m_variants.size(); ++i)
        if (m_variants.at(i).isBaseline()) {
            base = i;
            break;
        }
    if (base < 0)
        m_variants.prepend(PlanVariant{QStringLiteral("baseline"), {}});
    else if (base > 0)
        m_variants.move(base, 0);
    rebuildVariantList();
    select(0, -1);
}

void VariantChainEditor::rebuildVariantList()
{
    m_updating = true;
    m_variantList->clear();
    for (const PlanVariant &v : m_variants)
        m_variantList->addItem(v.label);
    m_updating = false;
}

void VariantChainEditor::rebuildChainList()
{
    m_updating = true;
    m_chainList->clear();
    if (m_variant >= 0 && m_variant < m_variants.size()) {
        const PlanVariant &v = m_variants.at(m_variant);
        for (qsizetype i = 0; i < v.chain.size(); ++i) {
            const TechniqueMetadata *t = technique(v.chain.at(i).plugin);
            auto *item = new QListWidgetItem(
                QStringLiteral("%1. %2").arg(i + 1).arg(t ? t->name : v.chain.at(i).plugin));
            if (!t) {
                item->setForeground(QColor(0xd3, 0x2f, 0x2f));
                item->setToolTip(tr("Unknown plugin '%1': not installed on this machine.")
                                     .arg(v.chain.at(i).plugin));
            }
            m_chainList->addItem(item);
        }
        if (v.isBaseline())
            m_chainList->addItem(tr("(baseline: no technique applied)"));
    }
    m_chainList->setCurrentRow(m_step);
    m_updating = false;
}

void VariantChainEditor::select(int variant, int step)
{
    m_variant = std::clamp<int>(variant, 0, int(m_variants.size()) - 1);
    const int steps = int(m_variants.at(m_variant).chain.size());
    m_step = (step >= 0 && step < steps) ? step : -1;
    m_updating = true;
    m_variantList->setCurrentRow(m_variant);
    m_label->setText(m_variants.at(m_variant).label);
    m_updating = false;
    rebuildChainList();
    showStepForm();
    updateButtons();
}

void VariantChainEditor::showStepForm()
{
    m_form = nullptr;
    QWidget *content = nullptr;
    if (m_step >= 0) {
        const PlanStep &s = m_variants.at(m_variant).chain.at(m_step);
        if (const TechniqueMetadata *t = technique(s.plugin)) {
            m_form = new ParamForm(t->parameters, t->id);
            m_form->setValues(s.params);
            const int v = m_variant, st = m_step;
            connect(m_form, &ParamForm::changed, this, [this, v, st] {
                if (!m_form || v >= m_variants.size() || st >= m_variants.at(v).chain.size())
                    return;
                m_variants[v].chain[st].params = m_form->values();
                Q_EMIT changed();
            });
            content = m_form;
        } else {
            content = new QLabel(tr("Plugin '%1' is not installed; its parameters are kept as "
                                    "loaded and the plan cannot run here.")
                                     .arg(s.plugin));
        }
    } else {
        content = new QLabel(tr("Select a step of the chain to edit its parameters."));
    }
    m_formArea->setWidget(content); // deletes the previous form
}

void VariantChainEditor::updateButtons()
{
    const QTreeWidgetItem *item = m_palette->currentItem();
    m_add->setEnabled(item && !item->data(0, Qt::UserRole).toString().isEmpty());
    const int steps = int(m_variants.at(m_variant).chain.size());
    m_up->setEnabled(m_step > 0);
    m_down->setEnabled(m_step >= 0 && m_step < steps - 1);
    m_remove->setEnabled(m_step >= 0);
    m_removeVariant->setEnabled(m_variant > 0);
}

QString VariantChainEditor::uniqueLabel(const QString &base) const
{
    QString label = base;
    for (int n = 2;; ++n) {
        bool used = false;
        for (const PlanVariant &v : m_variants)
            used = used || v.label == label;
        if (!used)
            return label;
        label = QStringLiteral("%1-%2").arg(base).arg(n);
    }
}

bool VariantChainEditor::addStep(const QString &id)
{
    const TechniqueMetadata *t = technique(id);
    if (!t)
        return false;
    if (m_variants.at(m_variant).isBaseline()) {
        m_variants.append(PlanVariant{uniqueLabel(id), {}});
        rebuildVariantList();
        m_variant = int(m_variants.size()) - 1;
    }
    m_variants[m_variant].chain.append(PlanStep{id, t->parameters.defaults()});
    select(m_variant, int(m_variants.at(m_variant).chain.size()) - 1);
    Q_EMIT changed();
    return true;
}

void VariantChainEditor::moveStep(int delta)
{
    QList<PlanStep> &chain = m_variants[m_variant].chain;
    const int to = m_step + delta;
    if (m_step < 0 || to < 0 || to >= chain.size())
        return;
    chain.move(m_step, to);
    select(m_variant, to);
    Q_EMIT changed();
}

void VariantChainEditor::removeStep()
{
    if (m_step < 0)
        return;
    m_variants[m_variant].chain.removeAt(m_step);
    select(m_variant, std::min<int>(m_step, int(m_variants.at(m_variant).chain.size()) - 1));
    Q_EMIT changed();
}

void VariantChainEditor::addVariant()
{
    m_variants.append(PlanVariant{uniqueLabel(QStringLiteral("variant")), {}});
    rebuildVariantList();
    select(int(m_variants.size()) - 1, -1);
    Q_EMIT changed();
}

void VariantChainEditor::removeVariant()
{
    if (m_variant <= 0)
        return;
    m_variants.removeAt(m_variant);
    rebuildVariantList();
    select(m_variant - 1, -1);
    Q_EMIT changed();
}

} // namespace jb::gui
