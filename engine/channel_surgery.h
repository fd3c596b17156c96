// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "arch_spec.h"

#include <QString>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace jb {

/// Which slices of an old layer's tensors survive into the rebuilt layer, as indices into the
/// ORIGINAL model's tensors (sorted ascending). Empty means "all of them".
///   keptOut: dimension 0 of every tensor of the layer (conv/linear weight and bias, BN weight,
///            bias and running statistics, depthwise weight).
///   keptIn:  dimension 1 of a 2-D+ weight (conv with groups = 1, linear); ignored for 1-D
///            tensors.
struct ChannelMap
{
    std::vector<int64_t> keptOut;
    std::vector<int64_t> keptIn;
};

/// By layer path ("3", "5.body.0"). Layers without an entry are copied unchanged.
using ChannelMaps = std::map<QString, ChannelMap>;

/// Structured pruning's spec rewrite: removes output channels `channels` (indices of the
/// current spec) of the conv (groups = 1) or hidden linear layer at `layerPath`, and the
/// matching slices downstream: the BN/depthwise layers that follow, then the inputs of the
/// next conv or linear (through pooling, activation, dropout and flatten, where one channel is
/// H x W features). Returns the rewritten spec and adds the index maps to *maps, composed with
/// what *maps already holds, so several removals can be applied to one spec after the other
/// and the original model rebuilt once: SpecModel::rebuild(newSpec, *maps).
///
/// Refused, with an error naming the layer: the output layer (class logits), grouped convs,
/// a layer whose output feeds a residual addition (the last layer of a residual body or
/// shortcut, or a layer followed by a residual block), removing all or non-existent channels.
std::optional<ArchSpec> removeChannels(const ArchSpec &spec, const QString &layerPath,
                                       const std::vector<int64_t> &channels, ChannelMaps *maps,
                                       QString *error);

} // namespace jb
