// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace jb {

/// The type of one technique parameter, as written in plugin metadata ("int", "double",
/// "bool", "choice", "string").
enum class ParamType { Int, Double, Bool, Choice, String };

/// "int", "double", ... for a type.
QString paramTypeName(ParamType type);
/// The type for a name, or nullopt for an unknown name.
std::optional<ParamType> paramTypeFromName(const QString &name);

/// One typed, bounded parameter of a technique plugin. The GUI builds its forms from these;
/// plan validation checks a step's params against them.
///
/// JSON form (an element of the plugin metadata's "parameters" array):
/// \code
/// { "name": "sparsity", "type": "double", "default": 0.5, "min": 0.0, "max": 1.0,
///   "help": "Fraction of weights set to zero." }
/// { "name": "scope", "type": "choice", "choices": ["global", "layer"], "default": "global" }
/// \endcode
/// A parameter without "default" is required: every plan must give it.
struct ParamSpec
{
    QString name; ///< identifier, [A-Za-z_][A-Za-z0-9_]*
    ParamType type = ParamType::Double;
    QJsonValue defaultValue{QJsonValue::Undefined}; ///< Undefined: the parameter is required
    std::optional<double> min;                      ///< int and double only, inclusive
    std::optional<double> max;                      ///< int and double only, inclusive
    QStringList choices;                            ///< choice only, non-empty
    QString help; ///< one sentence for tooltips and `plugins --describe`

    bool isRequired() const { return defaultValue.isUndefined(); }
    /// The spec in its metadata JSON form (defaults and bounds in their typed form).
    QJsonObject toJson() const;
    /// "a number (allowed range 0.0 to 1.0)", "one of \"global\", \"layer\"", ...
    QString expectation() const;

    bool operator==(const ParamSpec &other) const = default;
};

/// The parameter list of one technique, in declaration order.
///
/// Threads: a value type; const methods may be called from any thread concurrently.
class ParamSchema
{
public:
    ParamSchema() = default;
    explicit ParamSchema(QList<ParamSpec> specs) : m_specs(std::move(specs)) {}

    /// Reads the "parameters" array of a plugin's metadata object (absent = no parameters).
    /// Every problem is appended to *errors as "parameters[i].key: ...", and nullopt is
    /// returned if there was any.
    static std::optional<ParamSchema> fromMetadata(const QJsonObject &metadata,
                                                   QStringList *errors);
    /// Reads a "parameters" array; `path` prefixes the messages.
    static std::optional<ParamSchema> fromJson(const QJsonArray &parameters, QStringList *errors,
                                               const QString &path = QStringLiteral("parameters"));
    /// The array form; fromJson(toJson()) == *this.
    QJsonArray toJson() const;

    const QList<ParamSpec> &specs() const { return m_specs; }
    bool isEmpty() const { return m_specs.isEmpty(); }
    QStringList names() const;
    /// The spec with this name, or nullptr.
    const ParamSpec *find(const QString &name) const;
    /// The default of every optional parameter.
    QJsonObject defaults() const;

    /// Checks `params` (a plan step's "params" object) and writes into *filled the params
    /// with defaults added and numbers in their typed form (ints as integers). Errors are
    /// appended as "path.name: value ..., expected ..." (unknown parameter with a "did you
    /// mean", wrong type, below min / above max, not one of the choices, missing required).
    /// `owner` (the plugin id) is named in the messages. Returns true when there was none.
    bool validate(const QJsonObject &params, const QString &path, QJsonObject *filled,
                  QStringList *errors, const QString &owner = QString()) const;

    bool operator==(const ParamSchema &other) const = default;

private:
    QList<ParamSpec> m_specs;
};

} // namespace jb
