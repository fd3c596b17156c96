// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: the plugin metadata validator (what QPluginLoader::metaData() returns for
// a plugin file: IID, className, MetaData with id, family, parameter schema...). Invariants:
// no crash, no sanitizer report; a rejection has a reason and (for bad metadata) a message;
// an accepted plugin has an id, a known family, and (without required parameters) an empty
// params object validates against its schema with the defaults filled.
#include "engine/technique_api.h"
#include "engine/technique_metadata.h"
#include "fuzz_support.h"

#include <QJsonDocument>
#include <QJsonObject>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace jb;
    const QJsonDocument doc =
        QJsonDocument::fromJson(QByteArray(reinterpret_cast<const char *>(data), qsizetype(size)));
    if (!doc.isObject())
        return 0;
    const PluginMetaDataCheck check = checkPluginMetaData(doc.object());
    if (!check.metadata) {
        if (check.rejection == PluginRejection::BadMetadata && check.errors.isEmpty())
            fuzz::invariantFailed("bad metadata without a message");
        return 0;
    }
    const TechniqueMetadata &m = *check.metadata;
    if (m.id.isEmpty() || !techniqueFamilies().contains(m.family))
        fuzz::invariantFailed("accepted metadata with an empty id or unknown family", m.id);
    for (const ParamSpec &spec : m.parameters.specs())
        if (spec.defaultValue.isUndefined())
            return 0; // a required parameter: an empty params object is rightly refused
    QStringList errors;
    QJsonObject filled;
    if (!m.parameters.validate(QJsonObject(), QStringLiteral("params"), &filled, &errors, m.id))
        fuzz::invariantFailed("the defaults of an accepted schema do not validate:",
                              errors.join(u'\n'));
    return 0;
}
