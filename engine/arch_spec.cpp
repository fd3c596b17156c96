// SPDX-License-Identifier: GPL-3.0-or-later
#include "arch_spec.h"

#include <QJsonValue>
#include <QSet>
#include <QStringList>

#include <cmath>

namespace jb {

namespace {

struct KindName
{
    LayerKind kind;
    const char *name;
};

constexpr KindName kKindNames[] = {
    {LayerKind::Conv, "conv"},           {LayerKind::DepthwiseConv, "depthwise"},
    {LayerKind::BatchNorm, "batchnorm"}, {LayerKind::Activation, "activation"},
    {LayerKind::Pool, "pool"},           {LayerKind::Linear, "linear"},
    {LayerKind::Dropout, "dropout"},     {LayerKind::Flatten, "flatten"},
    {LayerKind::Residual, "residual"},
};

const QStringList &activationNames()
{
    static const QStringList names = {QStringLiteral("relu"), QStringLiteral("relu6"),
                                      QStringLiteral("tanh"), QStringLiteral("sigmoid"),
                                      QStringLiteral("gelu"), QStringLiteral("silu")};
    return names;
}

QJsonArray shapeToJson(const std::vector<int64_t> &shape)
{
    QJsonArray a;
    for (int64_t v : shape)
        a.append(static_cast<qint64>(v));
    return a;
}

QJsonArray layersToJson(const std::vector<LayerSpec> &layers);

QJsonObject layerToJson(const LayerSpec &l)
{
    QJsonObject o;
    o[QStringLiteral("type")] = layerKindName(l.kind);
    switch (l.kind) {
    case LayerKind::Conv:
        o[QStringLiteral("out")] = static_cast<qint64>(l.out);
        o[QStringLiteral("kernel")] = static_cast<qint64>(l.kernel);
        o[QStringLiteral("stride")] = static_cast<qint64>(l.stride);
        o[QStringLiteral("padding")] = static_cast<qint64>(l.padding);
        if (l.groups != 1)
            o[QStringLiteral("groups")] = static_cast<qint64>(l.groups);
        o[QStringLiteral("bias")] = l.bias;
        break;
    case LayerKind::DepthwiseConv:
        o[QStringLiteral("kernel")] = static_cast<qint64>(l.kernel);
        o[QStringLiteral("stride")] = static_cast<qint64>(l.stride);
        o[QStringLiteral("padding")] = static_cast<qint64>(l.padding);
        if (l.multiplier != 1)
            o[QStringLiteral("multiplier")] = static_cast<qint64>(l.multiplier);
        o[QStringLiteral("bias")] = l.bias;
        break;
    case LayerKind::BatchNorm:
        o[QStringLiteral("eps")] = l.eps;
        o[QStringLiteral("momentum")] = l.momentum;
        break;
    case LayerKind::Activation:
        o[QStringLiteral("fn")] = l.activation;
        break;
    case LayerKind::Pool:
        o[QStringLiteral("mode")] = poolModeName(l.pool);
        if (l.pool != PoolMode::GlobalAvg) {
            o[QStringLiteral("kernel")] = static_cast<qint64>(l.kernel);
            o[QStringLiteral("stride")] = static_cast<qint64>(l.stride);
            o[QStringLiteral("padding")] = static_cast<qint64>(l.padding);
        }
        break;
    case LayerKind::Linear:
        o[QStringLiteral("out")] = static_cast<qint64>(l.out);
        o[QStringLiteral("bias")] = l.bias;
        break;
    case LayerKind::Dropout:
        o[QStringLiteral("p")] = l.p;
        break;
    case LayerKind::Flatten:
        break;
    case LayerKind::Residual:
        o[QStringLiteral("body")] = layersToJson(l.body);
        o[QStringLiteral("shortcut")] = layersToJson(l.shortcut);
        break;
    }
    if (!l.impl.isEmpty()) {
        o[QStringLiteral("impl")] = l.impl;
        if (!l.implOptions.isEmpty())
            o[QStringLiteral("implOptions")] = l.implOptions;
    }
    return o;
}

QJsonArray layersToJson(const std::vector<LayerSpec> &layers)
{
    QJsonArray a;
    for (const LayerSpec &l : layers)
        a.append(layerToJson(l));
    return a;
}

/// Reads the keys of one JSON object, remembering which were used so unknown keys (typos) are
/// reported instead of ignored.
class KeyReader
{
public:
    KeyReader(const QJsonObject &o, QString where, QString *error)
        : m_o(o), m_where(std::move(where)), m_error(error)
    {
    }

    bool integer(const char *key, int64_t *out, bool required = false)
    {
        const QString k = QString::fromLatin1(key);
        m_used.insert(k);
        const QJsonValue v = m_o.value(k);
        if (v.isUndefined())
            return required ? fail(QStringLiteral("missing key '%1'").arg(k)) : true;
        const double d = v.toDouble(std::nan(""));
        if (!v.isDouble() || std::floor(d) != d)
            return fail(QStringLiteral("key '%1' must be an integer").arg(k));
        *out = static_cast<int64_t>(d);
        return true;
    }
    bool number(const char *key, double *out)
    {
        const QString k = QString::fromLatin1(key);
        m_used.insert(k);
        const QJsonValue v = m_o.value(k);
        if (v.isUndefined())
            return true;
        if (!v.isDouble())
            return fail(QStringLiteral("key '%1' must be a number").arg(k));
        *out = v.toDouble();
        return true;
    }
    bool boolean(const char *key, bool *out)
    {
        const QString k = QString::fromLatin1(key);
        m_used.insert(k);
        const QJsonValue v = m_o.value(k);
        if (v.isUndefined())
            return true;
        if (!v.isBool())
            return fail(QStringLiteral("key '%1' must be true or false").arg(k));
        *out = v.toBool();
        return true;
    }
    bool string(const char *key, QString *out, bool required = false)
    {
        const QString k = QString::fromLatin1(key);
        m_used.insert(k);
        const QJsonValue v = m_o.value(k);
        if (v.isUndefined())
            return required ? fail(QStringLiteral("missing key '%1'").arg(k)) : true;
        if (!v.isString())
            return fail(QStringLiteral("key '%1' must be a string").arg(k));
        *out = v.toString();
        return true;
    }
    QJsonValue take(const char *key)
    {
        const QString k = QString::fromLatin1(key);
        m_used.insert(k);
        return m_o.value(k);
    }
    bool noUnknownKeys()
    {
        for (auto it = m_o.begin(); it != m_o.end(); ++it) {
            if (!m_used.contains(it.key()))
                return fail(QStringLiteral("unknown key '%1'").arg(it.key()));
        }
        return true;
    }
    bool fail(const QString &what)
    {
        if (m_error)
            *m_error = m_where + QStringLiteral(": ") + what;
        return false;
    }

private:
    const QJsonObject &m_o;
    QString m_where;
    QString *m_error;
    QSet<QString> m_used;
};

bool layersFromJson(const QJsonValue &value, const QString &where, std::vector<LayerSpec> *out,
                    QString *error);

bool layerFromJson(const QJsonObject &o, const QString &where, LayerSpec *l, QString *error)
{
    KeyReader r(o, where, error);
    QString type;
    if (!r.string("type", &type, true))
        return false;
    const auto kind = layerKindFromName(type);
    if (!kind) {
        QStringList known;
        for (const KindName &k : kKindNames)
            known << QString::fromLatin1(k.name);
        return r.fail(QStringLiteral("unknown layer type '%1' (known: %2)")
                          .arg(type, known.join(QStringLiteral(", "))));
    }
    l->kind = *kind;
    switch (l->kind) {
    case LayerKind::Conv:
        if (!r.integer("out", &l->out, true) || !r.integer("kernel", &l->kernel, true) ||
            !r.integer("stride", &l->stride) || !r.integer("padding", &l->padding) ||
            !r.integer("groups", &l->groups) || !r.boolean("bias", &l->bias))
            return false;
        break;
    case LayerKind::DepthwiseConv:
        if (!r.integer("kernel", &l->kernel, true) || !r.integer("stride", &l->stride) ||
            !r.integer("padding", &l->padding) || !r.integer("multiplier", &l->multiplier) ||
            !r.boolean("bias", &l->bias))
            return false;
        break;
    case LayerKind::BatchNorm:
        if (!r.number("eps", &l->eps) || !r.number("momentum", &l->momentum))
            return false;
        break;
    case LayerKind::Activation:
        if (!r.string("fn", &l->activation, true))
            return false;
        break;
    case LayerKind::Pool: {
        QString mode;
        if (!r.string("mode", &mode, true))
            return false;
        if (mode == QLatin1String("max"))
            l->pool = PoolMode::Max;
        else if (mode == QLatin1String("avg"))
            l->pool = PoolMode::Avg;
        else if (mode == QLatin1String("global-avg"))
            l->pool = PoolMode::GlobalAvg;
        else
            return r.fail(
                QStringLiteral("pool mode '%1' unknown (known: max, avg, global-avg)").arg(mode));
        // Like torch.nn.MaxPool2d, the stride defaults to the kernel size.
        l->stride = 0;
        if (!r.integer("kernel", &l->kernel, l->pool != PoolMode::GlobalAvg) ||
            !r.integer("stride", &l->stride) || !r.integer("padding", &l->padding))
            return false;
        if (l->stride == 0)
            l->stride = l->pool == PoolMode::GlobalAvg ? 1 : l->kernel;
        if (l->pool == PoolMode::GlobalAvg)
            l->kernel = 1;
        break;
    }
    case LayerKind::Linear:
        if (!r.integer("out", &l->out, true) || !r.boolean("bias", &l->bias))
            return false;
        break;
    case LayerKind::Dropout:
        if (!r.number("p", &l->p))
            return false;
        break;
    case LayerKind::Flatten:
        break;
    case LayerKind::Residual:
        if (!layersFromJson(r.take("body"), where + QStringLiteral(".body"), &l->body, error))
            return false;
        if (o.contains(QStringLiteral("shortcut")) &&
            !layersFromJson(r.take("shortcut"), where + QStringLiteral(".shortcut"), &l->shortcut,
                            error))
            return false;
        break;
    }
    if (!r.string("impl", &l->impl))
        return false;
    const QJsonValue opts = r.take("implOptions");
    if (!opts.isUndefined()) {
        if (!opts.isObject())
            return r.fail(QStringLiteral("key 'implOptions' must be an object"));
        l->implOptions = opts.toObject();
    }
    return r.noUnknownKeys();
}

bool layersFromJson(const QJsonValue &value, const QString &where, std::vector<LayerSpec> *out,
                    QString *error)
{
    if (!value.isArray()) {
        if (error)
            *error = where + QStringLiteral(": expected an array of layers");
        return false;
    }
    const QJsonArray a = value.toArray();
    out->clear();
    out->reserve(a.size());
    for (qsizetype i = 0; i < a.size(); ++i) {
        const QString path = where + QLatin1Char('.') + QString::number(i);
        if (!a.at(i).isObject()) {
            if (error)
                *error = path + QStringLiteral(": a layer must be a JSON object");
            return false;
        }
        LayerSpec l;
        if (!layerFromJson(a.at(i).toObject(), path, &l, error))
            return false;
        out->push_back(std::move(l));
    }
    return true;
}

// ---- shape inference -------------------------------------------------------------------------

QString layerLabel(const QString &path, const LayerSpec &l)
{
    return QStringLiteral("layer %1 (%2)").arg(path, layerKindName(l.kind));
}

bool failAt(QString *error, const QString &path, const LayerSpec &l, const QString &what)
{
    if (error)
        *error = layerLabel(path, l) + QStringLiteral(": ") + what;
    return false;
}

bool spatialOut(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t *out)
{
    const int64_t span = in + 2 * padding - kernel;
    if (span < 0)
        return false;
    *out = span / stride + 1;
    return true;
}

bool inferSequence(const std::vector<LayerSpec> &layers, const QString &prefix,
                   std::vector<int64_t> shape, std::vector<int64_t> *outShape,
                   std::vector<LayerShape> *shapes, QString *error);

bool inferLayer(const LayerSpec &l, const QString &path, const std::vector<int64_t> &in,
                std::vector<int64_t> *out, std::vector<LayerShape> *shapes, QString *error)
{
    const QString got = shapeToString(in);
    // Record before recursing so pre-order holds for residual blocks.
    size_t slot = 0;
    if (shapes) {
        slot = shapes->size();
        shapes->push_back({path, &l, in, {}});
    }
    switch (l.kind) {
    case LayerKind::Conv:
    case LayerKind::DepthwiseConv: {
        if (in.size() != 3)
            return failAt(error, path, l,
                          QStringLiteral("expects an input [C, H, W], got %1").arg(got));
        if (l.kernel < 1 || l.stride < 1 || l.padding < 0)
            return failAt(error, path, l,
                          QStringLiteral("kernel %1, stride %2, padding %3: kernel and stride must "
                                         "be >= 1 and padding >= 0")
                              .arg(l.kernel)
                              .arg(l.stride)
                              .arg(l.padding));
        int64_t outC = 0;
        if (l.kind == LayerKind::Conv) {
            if (l.out < 1)
                return failAt(error, path, l,
                              QStringLiteral("out-channels must be >= 1, got %1").arg(l.out));
            if (l.groups < 1 || in[0] % l.groups != 0 || l.out % l.groups != 0)
                return failAt(error, path, l,
                              QStringLiteral("groups %1 must divide in-channels %2 and "
                                             "out-channels %3")
                                  .arg(l.groups)
                                  .arg(in[0])
                                  .arg(l.out));
            outC = l.out;
        } else {
            if (l.multiplier < 1)
                return failAt(error, path, l,
                              QStringLiteral("multiplier must be >= 1, got %1").arg(l.multiplier));
            outC = in[0] * l.multiplier;
        }
        int64_t h = 0, w = 0;
        if (!spatialOut(in[1], l.kernel, l.stride, l.padding, &h) ||
            !spatialOut(in[2], l.kernel, l.stride, l.padding, &w))
            return failAt(error, path, l,
                          QStringLiteral("kernel %1 is larger than the padded input %2 "
                                         "(padding %3)")
                              .arg(l.kernel)
                              .arg(got)
                              .arg(l.padding));
        *out = {outC, h, w};
        break;
    }
    case LayerKind::BatchNorm:
        if (in.size() != 3 && in.size() != 1)
            return failAt(error, path, l,
                          QStringLiteral("expects an input [C, H, W] or [F], got %1").arg(got));
        if (!(l.eps > 0) || l.momentum < 0 || l.momentum > 1)
            return failAt(error, path, l, QStringLiteral("eps must be > 0 and momentum in [0, 1]"));
        *out = in;
        break;
    case LayerKind::Activation:
        if (!activationNames().contains(l.activation))
            return failAt(error, path, l,
                          QStringLiteral("unknown activation '%1' (known: %2)")
                              .arg(l.activation, activationNames().join(QStringLiteral(", "))));
        *out = in;
        break;
    case LayerKind::Pool:
        if (in.size() != 3)
            return failAt(error, path, l,
                          QStringLiteral("expects an input [C, H, W], got %1").arg(got));
        if (l.pool == PoolMode::GlobalAvg) {
            *out = {in[0], 1, 1};
        } else {
            const int64_t stride = l.stride == 0 ? l.kernel : l.stride;
            if (l.kernel < 1 || stride < 1 || l.padding < 0 || l.padding * 2 > l.kernel)
                return failAt(error, path, l,
                              QStringLiteral("kernel %1, stride %2, padding %3: kernel and "
                                             "stride must be >= 1, 0 <= padding <= kernel/2")
                                  .arg(l.kernel)
                                  .arg(stride)
                                  .arg(l.padding));
            int64_t h = 0, w = 0;
            if (!spatialOut(in[1], l.kernel, stride, l.padding, &h) ||
                !spatialOut(in[2], l.kernel, stride, l.padding, &w))
                return failAt(
                    error, path, l,
                    QStringLiteral("kernel %1 is larger than the input %2").arg(l.kernel).arg(got));
            *out = {in[0], h, w};
        }
        break;
    case LayerKind::Linear:
        if (in.size() != 1)
            return failAt(error, path, l,
                          QStringLiteral("expects a flat input [F], got %1; add a 'flatten' "
                                         "layer before it")
                              .arg(got));
        if (l.out < 1)
            return failAt(error, path, l,
                          QStringLiteral("out-features must be >= 1, got %1").arg(l.out));
        *out = {l.out};
        break;
    case LayerKind::Dropout:
        if (l.p < 0 || l.p >= 1)
            return failAt(error, path, l, QStringLiteral("p must be in [0, 1), got %1").arg(l.p));
        *out = in;
        break;
    case LayerKind::Flatten: {
        int64_t n = 1;
        for (int64_t v : in)
            n *= v;
        *out = {n};
        break;
    }
    case LayerKind::Residual: {
        if (l.body.empty())
            return failAt(error, path, l, QStringLiteral("the body has no layers"));
        std::vector<int64_t> bodyOut, shortOut = in;
        if (!inferSequence(l.body, path + QStringLiteral(".body"), in, &bodyOut, shapes, error))
            return false;
        if (!l.shortcut.empty() && !inferSequence(l.shortcut, path + QStringLiteral(".shortcut"),
                                                  in, &shortOut, shapes, error))
            return false;
        if (bodyOut != shortOut)
            return failAt(error, path, l,
                          QStringLiteral("body output %1 does not match the %2 output %3; add a "
                                         "shortcut (1x1 conv with the same stride) or fix the "
                                         "body")
                              .arg(shapeToString(bodyOut),
                                   l.shortcut.empty() ? QStringLiteral("identity shortcut")
                                                      : QStringLiteral("shortcut"),
                                   shapeToString(shortOut)));
        *out = bodyOut;
        break;
    }
    }
    if (shapes)
        (*shapes)[slot].output = *out;
    return true;
}

bool inferSequence(const std::vector<LayerSpec> &layers, const QString &prefix,
                   std::vector<int64_t> shape, std::vector<int64_t> *outShape,
                   std::vector<LayerShape> *shapes, QString *error)
{
    for (size_t i = 0; i < layers.size(); ++i) {
        const QString path =
            prefix.isEmpty() ? QString::number(i) : prefix + QLatin1Char('.') + QString::number(i);
        std::vector<int64_t> next;
        if (!inferLayer(layers[i], path, shape, &next, shapes, error))
            return false;
        shape = std::move(next);
    }
    *outShape = std::move(shape);
    return true;
}

template <typename Spec, typename Layer> Layer *findLayer(Spec &spec, const QString &path)
{
    const QStringList parts = path.split(QLatin1Char('.'));
    auto *list = &spec.layers;
    Layer *current = nullptr;
    for (qsizetype i = 0; i < parts.size(); ++i) {
        if (current) {
            if (current->kind != LayerKind::Residual)
                return nullptr;
            if (parts[i] == QLatin1String("body"))
                list = &current->body;
            else if (parts[i] == QLatin1String("shortcut"))
                list = &current->shortcut;
            else
                return nullptr;
            if (++i >= parts.size())
                return nullptr;
        }
        bool ok = false;
        const qlonglong idx = parts[i].toLongLong(&ok);
        if (!ok || idx < 0 || idx >= static_cast<qlonglong>(list->size()))
            return nullptr;
        current = &(*list)[static_cast<size_t>(idx)];
    }
    return current;
}

} // namespace

bool LayerSpec::operator==(const LayerSpec &o) const
{
    return layerToJson(*this) == layerToJson(o);
}

QJsonObject ArchSpec::toJson() const
{
    QJsonObject o;
    o[QStringLiteral("format")] = QStringLiteral("joulebench-arch");
    o[QStringLiteral("version")] = kFormatVersion;
    o[QStringLiteral("name")] = name;
    o[QStringLiteral("input")] = shapeToJson(inputShape);
    o[QStringLiteral("classes")] = static_cast<qint64>(numClasses);
    o[QStringLiteral("layers")] = layersToJson(layers);
    return o;
}

std::optional<ArchSpec> ArchSpec::fromJson(const QJsonObject &json, QString *error)
{
    KeyReader r(json, QStringLiteral("architecture spec"), error);
    QString format;
    int64_t version = 0;
    if (!r.string("format", &format, true) || !r.integer("version", &version, true))
        return std::nullopt;
    if (format != QLatin1String("joulebench-arch")) {
        r.fail(QStringLiteral("format is '%1', expected 'joulebench-arch'").arg(format));
        return std::nullopt;
    }
    if (version < 1 || version > kFormatVersion) {
        r.fail(QStringLiteral("version %1 is not supported (this build reads 1..%2)")
                   .arg(version)
                   .arg(kFormatVersion));
        return std::nullopt;
    }
    ArchSpec spec;
    if (!r.string("name", &spec.name) || !r.integer("classes", &spec.numClasses, true))
        return std::nullopt;
    const QJsonValue input = r.take("input");
    if (!input.isArray() || input.toArray().isEmpty()) {
        r.fail(QStringLiteral("key 'input' must be a non-empty array of sizes, e.g. [1, 28, 28]"));
        return std::nullopt;
    }
    for (const QJsonValue &v : input.toArray()) {
        const double d = v.toDouble(-1);
        if (!v.isDouble() || d < 1 || std::floor(d) != d) {
            r.fail(QStringLiteral("key 'input' must hold positive integers"));
            return std::nullopt;
        }
        spec.inputShape.push_back(static_cast<int64_t>(d));
    }
    if (!layersFromJson(r.take("layers"), QStringLiteral("layers"), &spec.layers, error))
        return std::nullopt;
    if (!r.noUnknownKeys())
        return std::nullopt;
    if (!spec.validate(error))
        return std::nullopt;
    return spec;
}

bool ArchSpec::inferShapes(std::vector<LayerShape> *shapes, QString *error) const
{
    if (shapes)
        shapes->clear();
    if (inputShape.empty()) {
        if (error)
            *error = QStringLiteral("architecture spec '%1': the input shape is empty").arg(name);
        return false;
    }
    if (numClasses < 1) {
        if (error)
            *error = QStringLiteral("architecture spec '%1': classes must be >= 1").arg(name);
        return false;
    }
    if (layers.empty()) {
        if (error)
            *error = QStringLiteral("architecture spec '%1' has no layers").arg(name);
        return false;
    }
    std::vector<int64_t> out;
    if (!inferSequence(layers, QString(), inputShape, &out, shapes, error))
        return false;
    if (out != std::vector<int64_t>{numClasses}) {
        if (error)
            *error = QStringLiteral("architecture spec '%1': the final output is %2, expected "
                                    "[%3] (one logit per class); end with a 'linear' layer of "
                                    "out = %3")
                         .arg(name, shapeToString(out))
                         .arg(numClasses);
        return false;
    }
    return true;
}

const LayerSpec *ArchSpec::layerAt(const QString &path) const
{
    return findLayer<const ArchSpec, const LayerSpec>(*this, path);
}

LayerSpec *ArchSpec::layerAt(const QString &path)
{
    return findLayer<ArchSpec, LayerSpec>(*this, path);
}

bool ArchSpec::operator==(const ArchSpec &other) const
{
    return toJson() == other.toJson();
}

QString layerKindName(LayerKind kind)
{
    for (const KindName &k : kKindNames) {
        if (k.kind == kind)
            return QString::fromLatin1(k.name);
    }
    return QStringLiteral("?");
}

std::optional<LayerKind> layerKindFromName(const QString &name)
{
    for (const KindName &k : kKindNames) {
        if (name == QLatin1String(k.name))
            return k.kind;
    }
    return std::nullopt;
}

QString poolModeName(PoolMode mode)
{
    switch (mode) {
    case PoolMode::Max:
        return QStringLiteral("max");
    case PoolMode::Avg:
        return QStringLiteral("avg");
    case PoolMode::GlobalAvg:
        return QStringLiteral("global-avg");
    }
    return QStringLiteral("?");
}

QString shapeToString(const std::vector<int64_t> &shape)
{
    QStringList parts;
    for (int64_t v : shape)
        parts << QString::number(v);
    return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
}

namespace layers {

LayerSpec conv(int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool bias)
{
    LayerSpec l;
    l.kind = LayerKind::Conv;
    l.out = out;
    l.kernel = kernel;
    l.stride = stride;
    l.padding = padding;
    l.bias = bias;
    return l;
}

LayerSpec depthwise(int64_t kernel, int64_t stride, int64_t padding, bool bias)
{
    LayerSpec l;
    l.kind = LayerKind::DepthwiseConv;
    l.kernel = kernel;
    l.stride = stride;
    l.padding = padding;
    l.bias = bias;
    return l;
}

LayerSpec batchNorm()
{
    LayerSpec l;
    l.kind = LayerKind::BatchNorm;
    return l;
}

LayerSpec act(const QString &fn)
{
    LayerSpec l;
    l.kind = LayerKind::Activation;
    l.activation = fn;
    return l;
}

LayerSpec maxPool(int64_t kernel, int64_t stride, int64_t padding)
{
    LayerSpec l;
    l.kind = LayerKind::Pool;
    l.pool = PoolMode::Max;
    l.kernel = kernel;
    l.stride = stride == 0 ? kernel : stride;
    l.padding = padding;
    return l;
}

LayerSpec avgPool(int64_t kernel, int64_t stride, int64_t padding)
{
    LayerSpec l = maxPool(kernel, stride, padding);
    l.pool = PoolMode::Avg;
    return l;
}

LayerSpec globalAvgPool()
{
    LayerSpec l;
    l.kind = LayerKind::Pool;
    l.pool = PoolMode::GlobalAvg;
    l.kernel = 1;
    l.stride = 1;
    return l;
}

LayerSpec linear(int64_t out, bool bias)
{
    LayerSpec l;
    l.kind = LayerKind::Linear;
    l.out = out;
    l.bias = bias;
    return l;
}

LayerSpec dropout(double p)
{
    LayerSpec l;
    l.kind = LayerKind::Dropout;
    l.p = p;
    return l;
}

LayerSpec flatten()
{
    LayerSpec l;
    l.kind = LayerKind::Flatten;
    return l;
}

LayerSpec residual(std::vector<LayerSpec> body, std::vector<LayerSpec> shortcut)
{
    LayerSpec l;
    l.kind = LayerKind::Residual;
    l.body = std::move(body);
    l.shortcut = std::move(shortcut);
    return l;
}

} // namespace layers

} // namespace jb
