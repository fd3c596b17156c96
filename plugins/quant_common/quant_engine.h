// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/backend.h"

#include <QString>
#include <QStringList>

#include <c10/core/QEngine.h>

#include <optional>

namespace jb::quant {

/// Lower-case names of the quantized engines this libtorch supports ("onednn", "qnnpack").
/// Any thread.
QStringList supportedEngines();

/// The engine for a name ("onednn", "qnnpack", "fbgemm", "x86"); nullopt with an error that
/// names the engine and lists the supported ones when this libtorch lacks it.
std::optional<c10::QEngine> engineFromName(const QString &name, QString *error);
QString engineName(c10::QEngine engine);

/// Resolves a technique's `engine` parameter against the run's backend: "auto" takes the
/// backend's quantized engine, else onednn when available, else the first supported one. An
/// explicit engine that differs from an explicit backend engine is an error (the backend string
/// and the parameter would disagree about what was measured). Any thread.
std::optional<QString> resolveEngine(const QString &param, const Backend &backend,
                                     QString *error);

/// Sets libtorch's process-wide quantized engine for its lifetime and restores the previous one
/// (prepacking picks its kernels from the global engine). Use on the thread that does the work,
/// never while another thread runs quantized ops.
class EngineGuard
{
public:
    explicit EngineGuard(c10::QEngine engine);
    ~EngineGuard();
    EngineGuard(const EngineGuard &) = delete;
    EngineGuard &operator=(const EngineGuard &) = delete;

private:
    c10::QEngine m_previous;
};

} // namespace jb::quant
