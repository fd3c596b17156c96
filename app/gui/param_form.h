// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/param_schema.h"

#include <QHash>
#include <QJsonObject>
#include <QJsonValue>
#include <QWidget>

class QLabel;
class QFormLayout;

namespace jb::gui {

/// A form generated from a technique's ParamSchema: one editor per parameter, in declaration
/// order. int -> QSpinBox, double -> QDoubleSpinBox (both with the schema's range), bool ->
/// QCheckBox, choice -> QComboBox, string -> QLineEdit; the help text is the tooltip.
///
/// A loaded value the editor's range or type cannot hold (1.7 for a 0..1 parameter, 2.5 for an
/// int, "attention" outside the choices, "yes" for a bool) is kept as it is and shown as its
/// JSON text in the field (the spin box text reads "1.7", the combo box gets an extra
/// "attention (not a choice)" entry, the check box is partially checked with the text), so
/// what is on screen is what the plan holds. It is reported by errors() and the field is
/// marked invalid (markInvalid(): a light red background that keeps the spin box arrows)
/// until the user edits that field: nothing is clamped silently. Editing (typing, an arrow,
/// another entry) replaces the loaded value with the editor's. A double with more decimals
/// than the box shows (6) is kept and shown as its text the same way. The field's tooltip
/// lists its errors under the help text.
///
/// A required parameter (no default) starts unset: its field reads "(required)", the editor
/// keeps the schema's range (a spin box never goes below `min`) and the unset state is a
/// separate flag, cleared by the first edit (an arrow, or typing, even the value the box holds
/// underneath, which is `min`); it is an error until given.
///
/// Threads: GUI thread only.
class ParamForm : public QWidget
{
    Q_OBJECT
public:
    /// `owner` (the plugin id) is named in error messages.
    explicit ParamForm(const ParamSchema &schema, const QString &owner = QString(),
                       QWidget *parent = nullptr);

    /// Shows `params` (a plan step's params); parameters not given show their default.
    void setValues(const QJsonObject &params);
    /// The params as a plan would store them (unset required parameters are left out; values
    /// the editors could not show are returned as loaded).
    QJsonObject values() const;
    /// ParamSchema::validate() of values(), one line per problem ("params.sparsity: ...").
    QStringList errors() const;
    /// The editor widget of a parameter (tests), or nullptr.
    QWidget *editor(const QString &name) const { return m_editors.value(name); }
    const ParamSchema &schema() const { return m_schema; }
    /// True while `name` shows a loaded value its editor cannot hold, or is a required
    /// parameter not given yet (tests).
    bool isPending(const QString &name) const { return m_unshowable.contains(name); }

    /// Marks a field invalid (or clears the mark) with a palette change (light red base and
    /// button colours) rather than a style sheet, so that spin boxes keep their arrows and combo
    /// boxes their drop-down; the widget's "invalid" property says which (tests, screenshots).
    /// Shared by the plan designer's fields.
    static void markInvalid(QWidget *w, bool invalid);

Q_SIGNALS:
    /// A value changed (by the user or setValues()).
    void changed();

private:
    QWidget *createEditor(const ParamSpec &spec);
    void showValue(const ParamSpec &spec, const QJsonValue &value);
    QJsonValue editorValue(const ParamSpec &spec) const;
    void onEdited(const QString &name);
    void refreshMarks();

    ParamSchema m_schema;
    QString m_owner;
    QHash<QString, QWidget *> m_editors;
    /// Loaded values the editor cannot hold (shown as text), and required parameters not given
    /// yet (QJsonValue::Undefined); an edit of the field removes the entry.
    QHash<QString, QJsonValue> m_unshowable;
    QHash<QString, QString> m_tooltips; ///< the schema tooltip of each editor
    QLabel *m_message = nullptr;
    bool m_loading = false;
};

} // namespace jb::gui
