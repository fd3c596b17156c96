// SPDX-License-Identifier: GPL-3.0-or-later
#include "param_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QSignalBlocker>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace jb::gui {

namespace {

const QString kRequired = QStringLiteral("(required)");
const QColor kInvalidBase(0xff, 0xcd, 0xd2); // light red: text stays readable, arrows stay

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

/// A value as the plan file writes it: 12.5, "attention", true.
QString jsonText(const QJsonValue &v)
{
    const QByteArray a = QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(a.mid(1, a.size() - 2));
}

/// A spin box that can show a text instead of its value (a loaded value out of its range or
/// type, "(required)") without widening its range. The text goes at the first edit.
template <class Base>
class TextSpinBox : public Base
{
public:
    using Value = decltype(std::declval<const Base &>().value());

    void setOverride(const QString &text)
    {
        m_override = text;
        refresh();
    }
    bool hasOverride() const { return !m_override.isNull(); }
    /// Drops the text; the value shows again unless the user is typing over it.
    void dropOverride()
    {
        if (m_override.isNull())
            return;
        const bool shown = this->lineEdit()->text() == m_override;
        m_override = QString();
        if (shown)
            refresh();
    }
    QLineEdit *edit() const { return this->lineEdit(); }

protected:
    QString textFromValue(Value v) const override
    {
        return m_override.isNull() ? Base::textFromValue(v) : m_override;
    }

private:
    void refresh() { this->setSuffix(this->suffix()); } // re-renders the text (updateEdit)
    QString m_override;
};
using IntSpin = TextSpinBox<QSpinBox>;
using DoubleSpin = TextSpinBox<QDoubleSpinBox>;

} // namespace

void ParamForm::markInvalid(QWidget *w, bool invalid)
{
    if (w->property("invalid").toBool() == invalid && w->property("invalid").isValid())
        return;
    w->setProperty("invalid", invalid);
    if (!invalid) {
        w->setPalette(QPalette()); // inherit again
        return;
    }
    QPalette p = w->palette();
    for (QPalette::ColorRole role : {QPalette::Base, QPalette::Button})
        p.setColor(role, kInvalidBase);
    w->setPalette(p);
}

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
        m_tooltips.insert(spec.name, w->toolTip());
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
        auto *s = new IntSpin;
        s->setRange(intBound(spec.min, -1000000000), intBound(spec.max, 1000000000));
        connect(s, &QSpinBox::valueChanged, this, [this, name] { onEdited(name); });
        // Typing the value the box already holds changes no value but is an edit.
        connect(s->edit(), &QLineEdit::textEdited, this, [this, name] { onEdited(name); });
        return s;
    }
    case ParamType::Double: {
        auto *s = new DoubleSpin;
        s->setDecimals(6);
        const double lo = spec.min.value_or(-1e12);
        const double hi = spec.max.value_or(1e12);
        s->setSingleStep(hi - lo <= 10 ? 0.05 : 1.0);
        s->setRange(lo, hi);
        connect(s, &QDoubleSpinBox::valueChanged, this, [this, name] { onEdited(name); });
        connect(s->edit(), &QLineEdit::textEdited, this, [this, name] { onEdited(name); });
        return s;
    }
    case ParamType::Bool: {
        auto *c = new QCheckBox;
        connect(c, &QCheckBox::stateChanged, this, [this, name] { onEdited(name); });
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
    case ParamType::Int:
    case ParamType::Double: {
        // The box keeps the schema's range; a value it cannot hold is shown as text, with the
        // nearest value it can hold underneath (so that an arrow moves towards the range).
        const double v = value.toDouble(std::nan(""));
        const bool isInt = spec.type == ParamType::Int;
        double lo, hi;
        if (isInt) {
            lo = static_cast<QSpinBox *>(w)->minimum();
            hi = static_cast<QSpinBox *>(w)->maximum();
        } else {
            lo = static_cast<QDoubleSpinBox *>(w)->minimum();
            hi = static_cast<QDoubleSpinBox *>(w)->maximum();
        }
        bool fits = value.isDouble() && v >= lo && v <= hi && (!isInt || v == std::floor(v));
        const double under = value.isDouble() && !std::isnan(v) ? std::clamp(v, lo, hi) : lo;
        if (isInt) {
            static_cast<IntSpin *>(w)->setValue(int(fits ? v : std::round(under)));
        } else {
            auto *d = static_cast<DoubleSpin *>(w);
            d->setValue(fits ? v : under);
            fits = fits && d->value() == v; // more decimals than the box shows: kept as loaded
        }
        const QString text = fits ? QString() : unset ? kRequired : jsonText(value);
        if (isInt)
            static_cast<IntSpin *>(w)->setOverride(text);
        else
            static_cast<DoubleSpin *>(w)->setOverride(text);
        shown = fits;
        break;
    }
    case ParamType::Bool: {
        auto *c = static_cast<QCheckBox *>(w);
        c->setTristate(!value.isBool() && !unset);
        c->setText(value.isBool() || unset ? QString() : jsonText(value));
        if (value.isBool() || unset)
            c->setChecked(value.toBool());
        else
            c->setCheckState(Qt::PartiallyChecked);
        shown = value.isBool() || unset;
        break;
    }
    case ParamType::Choice: {
        auto *c = static_cast<QComboBox *>(w);
        for (int i = c->count() - 1; i >= 0; --i) // an earlier load's extra entry
            if (c->itemData(i, Qt::UserRole + 1).toBool())
                c->removeItem(i);
        const int i = unset ? 0 : value.isString() ? c->findData(value.toString()) : -1;
        if (i >= 0) {
            c->setCurrentIndex(i);
        } else {
            const QString text = value.isString() ? value.toString() : jsonText(value);
            c->addItem(tr("%1 (not a choice)").arg(text), QVariant());
            c->setItemData(c->count() - 1, true, Qt::UserRole + 1);
            c->setCurrentIndex(c->count() - 1);
            shown = false;
        }
        break;
    }
    case ParamType::String: {
        auto *e = static_cast<QLineEdit *>(w);
        e->setText(value.isString() || unset ? value.toString() : jsonText(value));
        shown = value.isString() || (unset && !spec.isRequired());
        break;
    }
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
    case ParamType::Int:
        return static_cast<QSpinBox *>(w)->value();
    case ParamType::Double:
        return static_cast<QDoubleSpinBox *>(w)->value();
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
    const ParamSpec *spec = m_schema.find(name);
    QWidget *w = m_editors.value(name);
    if (m_unshowable.remove(name) && spec) { // the user replaced the loaded (or unset) value
        switch (spec->type) {
        case ParamType::Int:
            static_cast<IntSpin *>(w)->dropOverride();
            break;
        case ParamType::Double:
            static_cast<DoubleSpin *>(w)->dropOverride();
            break;
        case ParamType::Bool: {
            auto *c = static_cast<QCheckBox *>(w);
            const QSignalBlocker block(c);
            c->setText(QString());
            c->setTristate(false);
            if (c->checkState() == Qt::PartiallyChecked)
                c->setCheckState(Qt::Checked);
            break;
        }
        case ParamType::Choice: {
            auto *c = static_cast<QComboBox *>(w);
            const QSignalBlocker block(c);
            for (int i = c->count() - 1; i >= 0; --i)
                if (i != c->currentIndex() && c->itemData(i, Qt::UserRole + 1).toBool())
                    c->removeItem(i);
            break;
        }
        case ParamType::String:
            break;
        }
    }
    refreshMarks();
    Q_EMIT changed();
}

void ParamForm::refreshMarks()
{
    const QStringList errs = errors();
    for (auto it = m_editors.constBegin(); it != m_editors.constEnd(); ++it) {
        const QString prefix = QStringLiteral("params.") + it.key();
        QStringList mine;
        for (const QString &e : errs)
            if (e.startsWith(prefix + QLatin1Char(':')) || e.startsWith(prefix + QLatin1Char(' ')))
                mine.append(e);
        markInvalid(it.value(), !mine.isEmpty());
        // The tooltip names the problem too: the colour alone does not say what is wrong.
        it.value()->setToolTip(mine.isEmpty() ? m_tooltips.value(it.key())
                                              : m_tooltips.value(it.key()) + QStringLiteral("\n\n") +
                                                    mine.join(u'\n'));
    }
    m_message->setText(errs.join(QLatin1Char('\n')));
    m_message->setVisible(!errs.isEmpty());
}

} // namespace jb::gui
