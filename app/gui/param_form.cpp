// SPDX-License-Identifier: GPL-3.0-or-later
#include "param_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

namespace jb::gui {

namespace {

const char *const kInvalidStyle = "border: 2px solid #d32f2f;";
const QString kRequired = QStringLiteral("(required)");

/// Spin boxes hold int; a schema without bounds gets the widest int range.
int intBound(const std::optional<double> &b, int fallback)
{
    if (!b)
        return fallback;
    return int(std::clamp(*b, double(std::numeric_limits<int>::min() + 1),
                          double(std::numeric_limits<int>::max())));
}

QString tooltipFor(const ParamSpec &spec)
{
    QString tip = spec.help.isEmpty() ? spec.name : spec.help;
    tip += QStringLiteral("\nExpected: ") + spec.expectation();
    if (spec.isRequired())
        tip += QStringLiteral("\nRequired: the plan must give a value.");
    return tip;
}

} // namespace

ParamForm::ParamForm(const ParamSchema &schema, const QString &owner, QWidget *parent)
    : QWidget(parent), m_schema(schema), m_owner(owner)
{
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    auto *form = new QFormLayout;
    outer->addLayout(form);
    for (const ParamSpec &spec : m_schema.specs()) {
        QWidget *w = createEditor(spec);
        w->setObjectName(spec.name);
        w->setToolTip(tooltipFor(spec));
        m_editors.insert(spec.name, w);
        auto *label = new QLabel(spec.name + (spec.isRequired() ? QStringLiteral(" *") : QString()));
        label->setToolTip(w->toolTip());
        form->addRow(label, w);
    }
    if (m_schema.isEmpty())
        outer->addWidget(new QLabel(tr("This technique has no parameters.")));
    m_message = new QLabel;
    m_message->setObjectName(QStringLiteral("paramErrors"));
    m_message->setWordWrap(true);
    m_message->setStyleSheet(QStringLiteral("color: #d32f2f;"));
    m_message->hide();
    outer->addWidget(m_message);
    setValues({});
}

QWidget *ParamForm::createEditor(const ParamSpec &spec)
{
    const QString name = spec.name;
    switch (spec.type) {
    case ParamType::Int: {
        auto *s = new QSpinBox;
        int lo = intBound(spec.min, -1000000000);
        if (spec.isRequired()) { // one step below the range means "not given"
            --lo;
            s->setSpecialValueText(kRequired);
        }
        s->setRange(lo, intBound(spec.max, 1000000000));
        connect(s, &QSpinBox::valueChanged, this, [this, name] { onEdited(name); });
        return s;
    }
    case ParamType::Double: {
        auto *s = new QDoubleSpinBox;
        s->setDecimals(6);
        double lo = spec.min.value_or(-1e12);
        const double hi = spec.max.value_or(1e12);
        s->setSingleStep(hi - lo <= 10 ? 0.05 : 1.0);
        if (spec.isRequired()) {
            lo -= s->singleStep();
            s->setSpecialValueText(kRequired);
        }
        s->setRange(lo, hi);
        connect(s, &QDoubleSpinBox::valueChanged, this, [this, name] { onEdited(name); });
        return s;
    }
    case ParamType::Bool: {
        auto *c = new QCheckBox;
        connect(c, &QCheckBox::toggled, this, [this, name] { onEdited(name); });
        return c;
    }
    case ParamType::Choice: {
        auto *c = new QComboBox;
        if (spec.isRequired())
            c->addItem(kRequired, QVariant());
        for (const QString &choice : spec.choices)
            c->addItem(choice, choice);
        connect(c, &QComboBox::currentIndexChanged, this, [this, name] { onEdited(name); });
        return c;
    }
    case ParamType::String: {
        auto *e = new QLineEdit;
        if (spec.isRequired())
            e->setPlaceholderText(kRequired);
        connect(e, &QLineEdit::textChanged, this, [this, name] { onEdited(name); });
        return e;
    }
    }
    return new QWidget;
}

void ParamForm::showValue(const ParamSpec &spec, const QJsonValue &value)
{
    QWidget *w = m_editors.value(spec.name);
    const bool unset = value.isUndefined();
    bool shown = true;
    switch (spec.type) {
    case ParamType::Int: {
        auto *s = static_cast<QSpinBox *>(w);
        const double v = value.toDouble(std::nan(""));
        if (unset) {
            s->setValue(s->minimum());
        } else if (value.isDouble() && v == std::floor(v) && v >= s->minimum() + (spec.isRequired() ? 1 : 0) &&
                   v <= s->maximum()) {
            s->setValue(int(v));
        } else {
            shown = false;
        }
        break;
    }
    case ParamType::Double: {
        auto *s = static_cast<QDoubleSpinBox *>(w);
        const double v = value.toDouble(std::nan(""));
        const double lo = spec.min.value_or(s->minimum());
        if (unset)
            s->setValue(s->minimum());
        else if (value.isDouble() && v >= lo && v <= s->maximum())
            s->setValue(v);
        else
            shown = false;
        break;
    }
    case ParamType::Bool:
        if (value.isBool())
            static_cast<QCheckBox *>(w)->setChecked(value.toBool());
        else
            shown = unset;
        break;
    case ParamType::Choice: {
        auto *c = static_cast<QComboBox *>(w);
        const int i = unset ? 0 : c->findData(value.toString());
        if (i >= 0 && (unset || value.isString()))
            c->setCurrentIndex(i);
        else
            shown = false;
        break;
    }
    case ParamType::String:
        if (value.isString() || unset)
            static_cast<QLineEdit *>(w)->setText(value.toString());
        else
            shown = false;
        break;
    }
    if (shown)
        m_unshowable.remove(spec.name);
    else
        m_unshowable.insert(spec.name, value);
}

void ParamForm::setValues(const QJsonObject &params)
{
    m_loading = true;
    m_unshowable.clear();
    for (const ParamSpec &spec : m_schema.specs())
        showValue(spec, params.contains(spec.name) ? params.value(spec.name) : spec.defaultValue);
    // Unknown keys of a loaded step are kept so that validation names them.
    for (auto it = params.constBegin(); it != params.constEnd(); ++it)
        if (!m_schema.find(it.key()))
            m_unshowable.insert(it.key(), it.value());
    m_loading = false;
    refreshMarks();
    Q_EMIT changed();
}

QJsonValue ParamForm::editorValue(const ParamSpec &spec) const
{
    QWidget *w = m_editors.value(spec.name);
    switch (spec.type) {
    case ParamType::Int: {
        auto *s = static_cast<QSpinBox *>(w);
        if (spec.isRequired() && s->value() == s->minimum())
            return QJsonValue(QJsonValue::Undefined);
        return s->value();
    }
    case ParamType::Double: {
        auto *s = static_cast<QDoubleSpinBox *>(w);
        if (spec.isRequired() && s->value() == s->minimum())
            return QJsonValue(QJsonValue::Undefined);
        return s->value();
    }
    case ParamType::Bool:
        return static_cast<QCheckBox *>(w)->isChecked();
    case ParamType::Choice: {
        const QVariant d = static_cast<QComboBox *>(w)->currentData();
        return d.isValid() ? QJsonValue(d.toString()) : QJsonValue(QJsonValue::Undefined);
    }
    case ParamType::String: {
        const QString text = static_cast<QLineEdit *>(w)->text();
        if (spec.isRequired() && text.isEmpty())
            return QJsonValue(QJsonValue::Undefined);
        return text;
    }
    }
    return QJsonValue(QJsonValue::Undefined);
}

QJsonObject ParamForm::values() const
{
    QJsonObject out;
    for (const ParamSpec &spec : m_schema.specs()) {
        const QJsonValue v = m_unshowable.contains(spec.name) ? m_unshowable.value(spec.name)
                                                              : editorValue(spec);
        if (!v.isUndefined())
            out.insert(spec.name, v);
    }
    for (auto it = m_unshowable.constBegin(); it != m_unshowable.constEnd(); ++it)
        if (!m_schema.find(it.key()))
            out.insert(it.key(), it.value());
    return out;
}

QStringList ParamForm::errors() const
{
    QStringList errors;
    QJsonObject filled;
    m_schema.validate(values(), QStringLiteral("params"), &filled, &errors, m_owner);
    return errors;
}

void ParamForm::onEdited(const QString &name)
{
    if (m_loading)
        return;
    m_unshowable.remove(name); // the user replaced the loaded value
    refreshMarks();
    Q_EMIT changed();
}

void ParamForm::refreshMarks()
{
    const QStringList errs = errors();
    for (auto it = m_editors.constBegin(); it != m_editors.constEnd(); ++it) {
        const QString prefix = QStringLiteral("params.") + it.key();
        bool bad = false;
        for (const QString &e : errs)
            if (e.startsWith(prefix + QLatin1Char(':')) || e.startsWith(prefix + QLatin1Char(' ')))
                bad = true;
        it.value()->setStyleSheet(bad ? QString::fromLatin1(kInvalidStyle) : QString());
    }
    m_message->setText(errs.join(QLatin1Char('\n')));
    m_message->setVisible(!errs.isEmpty());
}

} // namespace jb::gui
