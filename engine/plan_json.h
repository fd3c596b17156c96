// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Helpers shared by the plan reader and the parameter schema: strict reading of JSON objects
// that names every error by its key path ("training.epochs: \"2\" is a string, expected an
// integer"), reports unknown keys with a "did you mean" suggestion, and formats values the
// same way everywhere. Pure Qt Core; the GUI uses the plan reader too.
//
// Threads: everything here is reentrant; call from any thread.

#include <QByteArray>
#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QSet>
#include <QString>
#include <QStringList>

#include <optional>

namespace jb::planjson {

/// Levenshtein distance, case-insensitive (a wrong capital is the commonest typo in keys).
int editDistance(const QString &a, const QString &b);

/// The candidate closest to `word` when it is close enough to be a plausible typo
/// (distance <= max(1, min(3, length/3)), or equal ignoring case), else an empty string.
QString closestMatch(const QString &word, const QStringList &candidates);

/// ` (did you mean "x"?)` or an empty string.
QString didYouMean(const QString &word, const QStringList &candidates);

/// A value as it appears in a message: strings quoted, numbers in shortest round-trip form
/// (doubles keep a ".0" when integral, so 1.0 reads as 1.0), arrays and objects compact,
/// shortened to about 60 characters.
QString formatValue(const QJsonValue &value);
/// A double in shortest round-trip form with ".0" when integral ("1.0", "0.001", "1e+21").
QString formatDouble(double value);
/// The JSON type of a value, with article: "a string", "a number", "an array", ...
QString describeType(const QJsonValue &value);

/// `parent.key`, or `key` at the root.
QString childPath(const QString &parent, const QString &key);
/// `parent[index]`.
QString indexPath(const QString &parent, qsizetype index);

/// Parses JSON text. On a syntax error returns nullopt and appends one message with line and
/// column. Duplicate keys are reported as errors too (Qt keeps the last one silently, which
/// would quietly change an experiment). `what` names the source in messages (a file name).
std::optional<QJsonObject> parseObject(const QByteArray &json, const QString &what,
                                       QStringList *errors);

/// Paths of keys that occur twice in one object of syntactically valid JSON text, e.g.
/// "training.epochs" or "variants[1].label".
QStringList duplicateKeys(const QByteArray &json);

/// The checks a number must pass; used by ObjectReader and by ParamSchema.
struct NumberRange
{
    std::optional<double> min;
    std::optional<double> max;
    bool minExclusive = false; ///< "above min" instead of "at least min"
};

/// Checks an integer value (a JSON number without fraction that fits 2^53). Appends an error
/// "path: value ..." and returns nullopt when it is not one or is out of range.
std::optional<qint64> checkInteger(const QJsonValue &value, const QString &path,
                                   const NumberRange &range, QStringList *errors);
/// Checks a number; same contract as checkInteger().
std::optional<double> checkNumber(const QJsonValue &value, const QString &path,
                                  const NumberRange &range, QStringList *errors);
/// "allowed range 1 to 1000" when both bounds are inclusive, else "at least 0",
/// "above 0.0 and at most 10.0", ...; "" without bounds.
QString describeRange(const NumberRange &range, bool integer);

/// Reads one JSON object strictly: every getter records the key as known, finish() reports
/// the keys nobody asked for as "path.key: unknown key (did you mean ...?)". Getters return
/// nullopt (and record an error) when a value is missing-and-required or invalid; a missing
/// optional value returns its default without error.
class ObjectReader
{
public:
    /// `path` is the object's own path ("" for the root, "training", "variants[2]").
    ObjectReader(const QJsonObject &object, const QString &path, QStringList *errors);

    const QString &path() const { return m_path; }
    QString pathOf(const QString &key) const { return childPath(m_path, key); }
    /// Declares a key as known (for keys read by hand with value()).
    void declare(const QString &key) { m_known.append(key); }
    bool contains(const QString &key) const { return m_object.contains(key); }
    /// The raw value; declares the key.
    QJsonValue value(const QString &key);
    /// Adds an error prefixed with the path of `key`.
    void error(const QString &key, const QString &message);

    std::optional<qint64> integer(const QString &key, std::optional<qint64> fallback,
                                  const NumberRange &range);
    std::optional<double> number(const QString &key, std::optional<double> fallback,
                                 const NumberRange &range);
    std::optional<bool> boolean(const QString &key, std::optional<bool> fallback);
    /// A string; `allowEmpty` false rejects "".
    std::optional<QString> string(const QString &key, std::optional<QString> fallback,
                                  bool allowEmpty = false);
    /// A string that must be one of `choices`.
    std::optional<QString> choice(const QString &key, std::optional<QString> fallback,
                                  const QStringList &choices);
    /// A nested object; missing -> empty object when !required, error when required.
    std::optional<QJsonObject> object(const QString &key, bool required);
    /// An array; missing -> nullopt without error when !required (check contains() first).
    std::optional<QJsonArray> array(const QString &key, bool required);

    /// Reports unknown keys. Call once, after all getters.
    void finish();

private:
    bool fetch(const QString &key, bool required, const QString &expected, QJsonValue *out);

    QJsonObject m_object;
    QString m_path;
    QStringList *m_errors;
    QStringList m_known;
};

} // namespace jb::planjson
