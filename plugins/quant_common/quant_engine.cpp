// SPDX-License-Identifier: GPL-3.0-or-later
#include "quant_engine.h"

#include <ATen/Context.h>

using namespace Qt::StringLiterals;

namespace jb::quant {

QString engineName(c10::QEngine engine)
{
    switch (engine) {
    case c10::QEngine::ONEDNN:
        return u"onednn"_s;
    case c10::QEngine::QNNPACK:
        return u"qnnpack"_s;
    case c10::QEngine::FBGEMM:
        return u"fbgemm"_s;
    case c10::QEngine::X86:
        return u"x86"_s;
    case c10::QEngine::NoQEngine:
        break;
    }
    return u"none"_s;
}

QStringList supportedEngines()
{
    QStringList names;
    for (c10::QEngine e : at::globalContext().supportedQEngines()) {
        if (e != c10::QEngine::NoQEngine)
            names.append(engineName(e));
    }
    return names;
}

std::optional<c10::QEngine> engineFromName(const QString &name, QString *error)
{
    for (c10::QEngine e : at::globalContext().supportedQEngines()) {
        if (e != c10::QEngine::NoQEngine && engineName(e) == name)
            return e;
    }
    if (error)
        *error = u"quantized engine '%1' is not available in this libtorch (available: %2); "
                 "choose one of those for params.engine or the backend"_s
                     .arg(name, supportedEngines().join(u", "_s));
    return std::nullopt;
}

std::optional<QString> resolveEngine(const QString &param, const Backend &backend,
                                     QString *error)
{
    QString name = param;
    if (param == u"auto"_s || param.isEmpty()) {
        const QStringList supported = supportedEngines();
        if (!backend.quantizedEngine.isEmpty())
            name = backend.quantizedEngine;
        else if (supported.contains(u"onednn"_s))
            name = u"onednn"_s;
        else if (!supported.isEmpty())
            name = supported.first();
        else {
            if (error)
                *error = u"this libtorch has no quantized engine; int8 quantization cannot run"_s;
            return std::nullopt;
        }
    } else if (!backend.quantizedEngine.isEmpty() && backend.quantizedEngine != param) {
        if (error)
            *error = u"params.engine is '%1' but backend '%2' asks for quantized engine '%3'; "
                     "make them agree (or set params.engine to \"auto\")"_s
                         .arg(param, backend.toString(), backend.quantizedEngine);
        return std::nullopt;
    }
    if (backend.kind != Backend::Kind::Cpu) {
        if (error)
            *error = u"int8 quantized kernels run on the CPU only; backend '%1' is not "
                     "supported (use a cpu backend)"_s.arg(backend.toString());
        return std::nullopt;
    }
    if (!engineFromName(name, error))
        return std::nullopt;
    return name;
}

EngineGuard::EngineGuard(c10::QEngine engine) : m_previous(at::globalContext().qEngine())
{
    at::globalContext().setQEngine(engine);
}

EngineGuard::~EngineGuard()
{
    at::globalContext().setQEngine(m_previous);
}

} // namespace jb::quant
