// SPDX-License-Identifier: GPL-3.0-or-later
// Private to the trainer and the evaluator (trainer.cpp, evaluator.cpp): the checks both make on
// a data set before they run a model over it. Not for plugins.
#pragma once

#include "arch_spec.h"
#include "dataset.h"
#include "model.h"

#include <QString>

namespace jb::detail {

/// False with *error (when error is not null) when `data` is empty, its inputs and targets differ
/// in length, or its samples are not the shape `model` expects. `role` names the data set in the
/// error ("training", "evaluation"). Called on the thread that trains or evaluates.
inline bool checkDataForModel(const Model &model, const Dataset &data, const QString &role,
                              QString *error)
{
    const int64_t n = data.size();
    if (n == 0 || !data.inputs.defined() || data.inputs.size(0) != n) {
        if (error)
            *error = QStringLiteral("%1 data set '%2' is empty or its inputs and targets differ "
                                    "in length")
                         .arg(role, data.name);
        return false;
    }
    if (data.sampleShape() != model.inputShape()) {
        if (error)
            *error = QStringLiteral("model '%1' expects samples %2, data set '%3' has %4")
                         .arg(model.name(), shapeToString(model.inputShape()), data.name,
                              shapeToString(data.sampleShape()));
        return false;
    }
    return true;
}

} // namespace jb::detail
