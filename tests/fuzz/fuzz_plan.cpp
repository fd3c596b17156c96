// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: the plan reader and validator (JSON text -> Plan), with one known plugin
// whose parameter schema is checked. Invariants: no crash, no sanitizer report; a failure has
// at least one message; a success round-trips (parse(serialise(p)) == p, same hash) and its
// grid expands to the number of runs the plan describes.
#include "engine/param_schema.h"
#include "engine/plan.h"
#include "engine/plan_grid.h"
#include "fuzz_support.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace {

const jb::ParamSchema &knownSchema()
{
    static const jb::ParamSchema schema = [] {
        const QByteArray json = R"([
            {"name": "sparsity", "type": "double", "default": 0.5, "min": 0.0, "max": 0.99},
            {"name": "steps", "type": "int", "default": 1, "min": 1, "max": 100},
            {"name": "scope", "type": "choice", "default": "global", "choices": ["global", "layer"]},
            {"name": "finetune", "type": "bool", "default": true}
        ])";
        QStringList errors;
        const std::optional<jb::ParamSchema> s =
            jb::ParamSchema::fromJson(QJsonDocument::fromJson(json).array(), &errors);
        if (!s)
            jb::fuzz::invariantFailed("the fuzz harness's schema is invalid:", errors.join(u'\n'));
        return *s;
    }();
    return schema;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace jb;
    PlanContext context;
    context.pluginIds = {QStringLiteral("prune.magnitude")};
    context.schemaFor = [](const QString &id) -> const ParamSchema * {
        return id == QStringLiteral("prune.magnitude") ? &knownSchema() : nullptr;
    };
    QStringList errors;
    const std::optional<Plan> plan = Plan::fromJsonText(
        QByteArray(reinterpret_cast<const char *>(data), qsizetype(size)), &errors, context);
    if (!plan) {
        if (errors.isEmpty())
            fuzz::invariantFailed("a rejected plan without a message");
        return 0;
    }
    QStringList again;
    const std::optional<Plan> reread = Plan::fromJsonText(plan->toJsonText(), &again, context);
    if (!reread)
        fuzz::invariantFailed("the canonical text of a valid plan is rejected:", again.join(u'\n'));
    if (!(*reread == *plan) || reread->hash() != plan->hash())
        fuzz::invariantFailed("the plan does not round-trip", QString::fromUtf8(plan->toJsonText()));
    const qsizetype expected = plan->variants.size() * plan->backends.size() * plan->repetitions;
    if (expected <= 100000 && expandGrid(*plan).size() != expected)
        fuzz::invariantFailed("the grid has the wrong number of runs");
    return 0;
}
