// SPDX-License-Identifier: GPL-3.0-or-later
#include "channel_surgery.h"

#include <QStringList>

#include <algorithm>
#include <set>

namespace jb {

namespace {

void compose(std::vector<int64_t> *existing, const std::vector<int64_t> &keptNow)
{
    if (existing->empty()) {
        *existing = keptNow;
        return;
    }
    std::vector<int64_t> composed;
    composed.reserve(keptNow.size());
    for (int64_t k : keptNow)
        composed.push_back((*existing)[static_cast<size_t>(k)]);
    *existing = std::move(composed);
}

QString label(const QString &path, const LayerSpec &l)
{
    return QStringLiteral("layer %1 (%2)").arg(path, layerKindName(l.kind));
}

} // namespace

std::optional<ArchSpec> removeChannels(const ArchSpec &spec, const QString &layerPath,
                                       const std::vector<int64_t> &channels, ChannelMaps *maps,
                                       QString *error)
{
    auto fail = [error](const QString &what) {
        if (error)
            *error = QStringLiteral("removing channels: ") + what;
        return std::nullopt;
    };
    std::vector<LayerShape> shapes;
    if (!spec.inferShapes(&shapes, error))
        return std::nullopt;
    const LayerSpec *target = spec.layerAt(layerPath);
    if (!target)
        return fail(QStringLiteral("no layer at path '%1' in spec '%2'").arg(layerPath, spec.name));
    if (!(target->kind == LayerKind::Conv && target->groups == 1) &&
        target->kind != LayerKind::Linear)
        return fail(QStringLiteral("%1: only convs with groups = 1 and linear layers have "
                                   "removable output channels")
                        .arg(label(layerPath, *target)));

    const int64_t width = target->out;
    std::set<int64_t> removed;
    for (int64_t c : channels) {
        if (c < 0 || c >= width)
            return fail(QStringLiteral("%1: channel %2 does not exist (it has %3)")
                            .arg(label(layerPath, *target))
                            .arg(c)
                            .arg(width));
        removed.insert(c);
    }
    if (removed.empty())
        return fail(QStringLiteral("%1: no channels given").arg(label(layerPath, *target)));
    if (static_cast<int64_t>(removed.size()) >= width)
        return fail(QStringLiteral("%1: cannot remove all %2 channels")
                        .arg(label(layerPath, *target))
                        .arg(width));
    std::vector<int64_t> kept;
    for (int64_t c = 0; c < width; ++c) {
        if (!removed.count(c))
            kept.push_back(c);
    }

    // The list that holds the target, and the target's index in it.
    const qsizetype dot = layerPath.lastIndexOf(QLatin1Char('.'));
    const QString prefix = dot < 0 ? QString() : layerPath.left(dot);
    const size_t index = layerPath.mid(dot + 1).toULongLong();
    const std::vector<LayerSpec> *list = &spec.layers;
    bool insideResidual = false;
    if (!prefix.isEmpty()) {
        const qsizetype dot2 = prefix.lastIndexOf(QLatin1Char('.'));
        const LayerSpec *block = spec.layerAt(prefix.left(dot2));
        list = prefix.endsWith(QLatin1String("body")) ? &block->body : &block->shortcut;
        insideResidual = true;
    }
    auto pathOf = [&prefix](size_t i) {
        return prefix.isEmpty() ? QString::number(i)
                                : prefix + QLatin1Char('.') + QString::number(i);
    };
    auto shapeOf = [&shapes](const QString &path) -> const LayerShape * {
        for (const LayerShape &s : shapes) {
            if (s.path == path)
                return &s;
        }
        return nullptr;
    };

    ArchSpec out = spec;
    ChannelMaps updated = maps ? *maps : ChannelMaps();
    out.layerAt(layerPath)->out = static_cast<int64_t>(kept.size());
    compose(&updated[layerPath].keptOut, kept);

    std::vector<int64_t> current = kept; // surviving indices in the flowing tensor
    bool consumed = false;
    for (size_t i = index + 1; i < list->size() && !consumed; ++i) {
        const LayerSpec &l = (*list)[i];
        const QString path = pathOf(i);
        switch (l.kind) {
        case LayerKind::BatchNorm:
            compose(&updated[path].keptOut, current);
            break;
        case LayerKind::Activation:
        case LayerKind::Dropout:
        case LayerKind::Pool:
            break;
        case LayerKind::DepthwiseConv: {
            std::vector<int64_t> expanded;
            for (int64_t c : current) {
                for (int64_t j = 0; j < l.multiplier; ++j)
                    expanded.push_back(c * l.multiplier + j);
            }
            compose(&updated[path].keptOut, expanded);
            current = std::move(expanded);
            break;
        }
        case LayerKind::Flatten: {
            const LayerShape *s = shapeOf(path);
            int64_t perChannel = 1;
            for (size_t d = 1; d < s->input.size(); ++d)
                perChannel *= s->input[d];
            std::vector<int64_t> features;
            features.reserve(current.size() * static_cast<size_t>(perChannel));
            for (int64_t c : current) {
                for (int64_t j = 0; j < perChannel; ++j)
                    features.push_back(c * perChannel + j);
            }
            current = std::move(features);
            break;
        }
        case LayerKind::Conv:
            if (l.groups != 1)
                return fail(QStringLiteral("%1 feeds %2, a grouped conv (groups %3); removing its "
                                           "input channels is not supported")
                                .arg(label(layerPath, *target), label(path, l))
                                .arg(l.groups));
            compose(&updated[path].keptIn, current);
            consumed = true;
            break;
        case LayerKind::Linear:
            compose(&updated[path].keptIn, current);
            consumed = true;
            break;
        case LayerKind::Residual:
            return fail(QStringLiteral("%1 feeds residual block %2, whose input is added to its "
                                       "output; prune a layer inside the block body instead")
                            .arg(label(layerPath, *target), path));
        }
    }
    if (!consumed) {
        if (insideResidual)
            return fail(QStringLiteral("%1: its output is added in residual block %2; only "
                                       "layers followed by another conv or linear inside the "
                                       "body can lose channels")
                            .arg(label(layerPath, *target),
                                 prefix.left(prefix.lastIndexOf(QLatin1Char('.')))));
        return fail(QStringLiteral("%1 produces the model's output (one logit per class); its "
                                   "channels cannot be removed")
                        .arg(label(layerPath, *target)));
    }
    QString why;
    if (!out.inferShapes(nullptr, &why))
        return fail(QStringLiteral("the rewritten spec is invalid: ") + why);
    if (maps)
        *maps = std::move(updated);
    return out;
}

} // namespace jb
