// SPDX-License-Identifier: GPL-3.0-or-later
#include "model_io.h"

#include "spec_model.h"
#include "torchscript_model.h"

#include <QCryptographicHash>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <QtEndian>

#include <torch/torch.h>

#include <cstring>

namespace jb {

namespace {

constexpr qsizetype kMagicSize = 8;
constexpr qsizetype kFixedSize = kMagicSize + 4 + 4;
constexpr qsizetype kMaxHeader = 64 * 1024 * 1024;

QJsonArray shapeJson(const std::vector<int64_t> &shape)
{
    QJsonArray a;
    for (int64_t v : shape)
        a.append(static_cast<qint64>(v));
    return a;
}

void appendU32(QByteArray *out, quint32 v)
{
    char b[4];
    qToLittleEndian(v, b);
    out->append(b, 4);
}

std::optional<torch::ScalarType> dtypeFromName(const QString &name)
{
    for (torch::ScalarType t : {torch::kFloat, torch::kHalf, torch::kBFloat16, torch::kDouble}) {
        if (name == QLatin1String(c10::toString(t)))
            return t;
    }
    return std::nullopt;
}

} // namespace

std::optional<QByteArray> serializeModel(const Model &model, QString *error,
                                         const QJsonObject &metadata)
{
    QJsonObject header;
    QByteArray payload;
    header[QStringLiteral("name")] = model.name();
    header[QStringLiteral("inputShape")] = shapeJson(model.inputShape());
    header[QStringLiteral("numClasses")] = static_cast<qint64>(model.numClasses());
    header[QStringLiteral("torch")] = QStringLiteral(TORCH_VERSION);
    header[QStringLiteral("metadata")] = metadata;
    header[QStringLiteral("dtype")] = QString::fromLatin1(c10::toString(model.computeDtype()));
    if (model.kind() == Model::Kind::TorchScript) {
        header[QStringLiteral("kind")] = QStringLiteral("torchscript");
        payload = static_cast<const TorchScriptModel &>(model).saveToBytes(error);
        if (payload.isEmpty())
            return std::nullopt;
    } else {
        const ArchSpec *spec = model.spec();
        if (!spec) {
            if (error)
                *error = QStringLiteral("model '%1' has neither a spec nor TorchScript; it "
                                        "cannot be saved")
                             .arg(model.name());
            return std::nullopt;
        }
        header[QStringLiteral("kind")] = QStringLiteral("spec");
        header[QStringLiteral("spec")] = spec->toJson();
        try {
            c10::Dict<std::string, torch::Tensor> dict;
            QJsonArray names;
            for (const auto &[name, t] : model.state()) {
                dict.insert(name, t.detach().cpu());
                names.append(QString::fromStdString(name));
            }
            header[QStringLiteral("tensors")] = names;
            const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
            payload = QByteArray(bytes.data(), static_cast<qsizetype>(bytes.size()));
        } catch (const std::exception &e) {
            if (error)
                *error = QStringLiteral("model '%1': serialising the weights failed: %2")
                             .arg(model.name(), exceptionText(e));
            return std::nullopt;
        }
    }
    header[QStringLiteral("payloadBytes")] = static_cast<qint64>(payload.size());
    header[QStringLiteral("payloadSha256")] =
        QString::fromLatin1(QCryptographicHash::hash(payload, QCryptographicHash::Sha256).toHex());
    const QByteArray headerBytes = QJsonDocument(header).toJson(QJsonDocument::Compact);

    QByteArray out;
    out.reserve(kFixedSize + headerBytes.size() + payload.size());
    out.append(model_io::kMagic, kMagicSize);
    appendU32(&out, model_io::kVersion);
    appendU32(&out, static_cast<quint32>(headerBytes.size()));
    out.append(headerBytes);
    out.append(payload);
    return out;
}

bool saveModel(const Model &model, const QString &path, QString *error, const QJsonObject &metadata)
{
    const std::optional<QByteArray> bytes = serializeModel(model, error, metadata);
    if (!bytes)
        return false;
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(*bytes) != bytes->size() || !file.commit()) {
        if (error)
            *error = QStringLiteral("cannot write model file '%1': %2 (check the folder exists "
                                    "and is writable)")
                         .arg(path, file.errorString());
        return false;
    }
    return true;
}

std::unique_ptr<Model> deserializeModel(const QByteArray &bytes, const QString &where,
                                        QString *error, QJsonObject *metadata)
{
    auto fail = [&](const QString &what) -> std::unique_ptr<Model> {
        if (error)
            *error = QStringLiteral("model file %1: %2").arg(where, what);
        return nullptr;
    };
    if (bytes.size() < kFixedSize ||
        std::memcmp(bytes.constData(), model_io::kMagic, kMagicSize) != 0)
        return fail(QStringLiteral("not a JouleBench model file (no 'JBMODEL' signature)"));
    const quint32 version = qFromLittleEndian<quint32>(bytes.constData() + kMagicSize);
    if (version != model_io::kVersion)
        return fail(QStringLiteral("container version %1 is not supported (this build reads %2)")
                        .arg(version)
                        .arg(model_io::kVersion));
    const quint32 headerSize = qFromLittleEndian<quint32>(bytes.constData() + kMagicSize + 4);
    if (headerSize > kMaxHeader || kFixedSize + static_cast<qsizetype>(headerSize) > bytes.size())
        return fail(QStringLiteral("the header (%1 bytes) does not fit in the file (%2 bytes); the "
                                   "file is truncated or corrupt")
                        .arg(headerSize)
                        .arg(bytes.size()));
    QJsonParseError parseError;
    const QJsonDocument doc =
        QJsonDocument::fromJson(bytes.mid(kFixedSize, headerSize), &parseError);
    if (!doc.isObject())
        return fail(QStringLiteral("the header is not valid JSON (%1); the file is corrupt")
                        .arg(parseError.errorString()));
    const QJsonObject header = doc.object();
    const QByteArray payload = bytes.mid(kFixedSize + headerSize);
    const qint64 expectedPayload = header.value(QStringLiteral("payloadBytes")).toInteger(-1);
    if (expectedPayload != payload.size())
        return fail(QStringLiteral("the weights take %1 bytes, the header says %2; the file is "
                                   "truncated or corrupt")
                        .arg(payload.size())
                        .arg(expectedPayload));
    const QString sha =
        QString::fromLatin1(QCryptographicHash::hash(payload, QCryptographicHash::Sha256).toHex());
    if (sha != header.value(QStringLiteral("payloadSha256")).toString())
        return fail(QStringLiteral("the weights' SHA-256 does not match the header; the file is "
                                   "corrupt"));

    std::vector<int64_t> inputShape;
    for (const QJsonValue &v : header.value(QStringLiteral("inputShape")).toArray())
        inputShape.push_back(v.toInteger());
    const int64_t numClasses = header.value(QStringLiteral("numClasses")).toInteger();
    const QString kind = header.value(QStringLiteral("kind")).toString();
    const QString name = header.value(QStringLiteral("name")).toString();

    std::unique_ptr<Model> model;
    if (kind == QLatin1String("torchscript")) {
        model =
            TorchScriptModel::loadFromBytes(payload, where, name, inputShape, numClasses, error);
        if (!model)
            return nullptr;
    } else if (kind == QLatin1String("spec")) {
        QString why;
        const auto spec = ArchSpec::fromJson(header.value(QStringLiteral("spec")).toObject(), &why);
        if (!spec)
            return fail(QStringLiteral("its architecture spec is invalid: ") + why);
        auto specModel = SpecModel::create(*spec, &why);
        if (!specModel)
            return fail(why);
        const QString dtypeName =
            header.value(QStringLiteral("dtype")).toString(QStringLiteral("Float"));
        const std::optional<torch::ScalarType> dtype = dtypeFromName(dtypeName);
        if (!dtype)
            return fail(QStringLiteral("unknown compute dtype '%1'").arg(dtypeName));
        if (*dtype != torch::kFloat)
            specModel->setComputeDtype(*dtype);
        NamedTensors tensors;
        try {
            const c10::IValue value =
                torch::pickle_load(std::vector<char>(payload.begin(), payload.end()));
            if (!value.isGenericDict())
                return fail(QStringLiteral("the weights are not a dictionary of tensors"));
            for (const auto &item : value.toGenericDict()) {
                if (!item.key().isString() || !item.value().isTensor())
                    return fail(QStringLiteral("the weights are not a dictionary of tensors"));
                tensors.emplace_back(item.key().toStringRef(), item.value().toTensor());
            }
        } catch (const std::exception &e) {
            return fail(QStringLiteral("the weights cannot be read: ") + exceptionText(e));
        }
        if (!specModel->loadState(tensors, &why))
            return fail(why);
        model = std::move(specModel);
    } else {
        return fail(
            QStringLiteral("unknown model kind '%1' (expected spec or torchscript)").arg(kind));
    }
    model->setTraining(false);
    if (metadata)
        *metadata = header.value(QStringLiteral("metadata")).toObject();
    return model;
}

std::unique_ptr<Model> loadModel(const QString &path, QString *error, QJsonObject *metadata)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        if (error)
            *error =
                QStringLiteral("cannot open model file '%1': %2").arg(path, file.errorString());
        return nullptr;
    }
    const QByteArray bytes = file.readAll();
    return deserializeModel(bytes, QLatin1Char('\'') + path + QLatin1Char('\''), error, metadata);
}

} // namespace jb
