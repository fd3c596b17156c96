// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "model.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

#include <memory>
#include <optional>

namespace jb {

/// One file per model: what it is (spec or TorchScript), its architecture and its weights, so
/// a run's artifact can be evaluated again later.
///
/// Layout (all integers little-endian):
///   bytes 0..7   magic "JBMODEL\n"
///   uint32       container version (1)
///   uint32       H, length of the header
///   H bytes      header, UTF-8 JSON: {"kind": "spec" | "torchscript", "name", "inputShape",
///                "numClasses", "spec" (kind spec: ArchSpec::toJson()), "tensors" (names in
///                order), "dtype" (compute dtype: Float, Half, BFloat16), "payloadBytes",
///                "payloadSha256" (hex), "metadata" (caller's object), "torch" (libtorch
///                version that wrote it)}
///   P bytes      payload: kind spec -> torch::pickle_save() of a Dict[str, Tensor] with every
///                parameter and buffer (CPU); kind torchscript -> the module as saved by
///                torch::jit::Module::save().
/// Nothing may follow the payload. Loading checks the magic, version, sizes, SHA-256, the spec
/// (shape inference) and that every tensor matches the built model, so a truncated, corrupt or
/// foreign file is an error that names the file and what is wrong.
///
/// Threads: any thread, for a model no other thread is using.
namespace model_io {
inline constexpr char kMagic[] = "JBMODEL\n";
inline constexpr quint32 kVersion = 1;
} // namespace model_io

/// The file's bytes for `model`, or nullopt with *error.
std::optional<QByteArray> serializeModel(const Model &model, QString *error,
                                         const QJsonObject &metadata = {});
/// Writes atomically (QSaveFile): an existing file is replaced only when all was written.
bool saveModel(const Model &model, const QString &path, QString *error,
               const QJsonObject &metadata = {});

/// Reads a model back (on the CPU, in eval mode). *metadata receives the saved metadata.
std::unique_ptr<Model> deserializeModel(const QByteArray &bytes, const QString &where,
                                        QString *error, QJsonObject *metadata = nullptr);
std::unique_ptr<Model> loadModel(const QString &path, QString *error,
                                 QJsonObject *metadata = nullptr);

} // namespace jb
