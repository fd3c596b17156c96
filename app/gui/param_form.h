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
/// Values the editors cannot show (a loaded plan with 1.7 for a 0..1 parameter, a wrong type)
/// are kept as they are, reported by errors() and marked with a red border until the user
/// edits that field: nothing is clamped silently. A required parameter (no default) starts
/// unset ("(required)") and is an error until given.
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
    QHash<QString, QJsonValue> m_unshowable; ///< loaded values the editor cannot hold
    QLabel *m_message = nullptr;
    bool m_loading = false;
};

} // namespace jb::gui
