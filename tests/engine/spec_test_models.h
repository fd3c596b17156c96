// SPDX-License-Identifier: GPL-3.0-or-later
// Small architecture specs and model tweaks shared by the tests of spec models, channel surgery
// and Net2Net growth.
#pragma once

#include "engine/arch_spec.h"
#include "engine/model.h"

#include <torch/torch.h>

namespace jb::test {

/// A small residual net on 3x8x8 inputs: an identity-shortcut block and a strided block with a
/// depthwise conv and a conv shortcut, then global pooling and a linear head.
inline ArchSpec smallResNet()
{
    using namespace jb::layers;
    ArchSpec s;
    s.name = QStringLiteral("resnet");
    s.inputShape = {3, 8, 8};
    s.numClasses = 4;
    s.layers = {
        conv(4, 3, 1, 1, false),
        batchNorm(),
        act(),
        residual(
            {conv(6, 3, 1, 1, false), batchNorm(), act(), conv(4, 3, 1, 1, false), batchNorm()}),
        act(),
        residual({depthwise(3, 2, 1), batchNorm(), conv(5, 1, 1, 0, false), act(), conv(8, 1)},
                 {conv(8, 1, 2, 0, false), batchNorm()}),
        globalAvgPool(),
        flatten(),
        linear(4)};
    return s;
}

/// Non-trivial batch-norm statistics and 1-d parameters (scales, shifts, biases), so that in
/// eval mode the output depends on every channel.
inline void randomiseBatchNorm(Model &m)
{
    torch::NoGradGuard g;
    for (auto &[name, t] : m.namedBuffers()) {
        if (name.ends_with("running_mean"))
            t.uniform_(-0.5, 0.5);
        else if (name.ends_with("running_var"))
            t.uniform_(0.5, 2.0);
    }
    for (auto &[name, t] : m.namedParameters()) {
        if (t.dim() == 1)
            t.uniform_(-0.5, 1.5);
    }
}

} // namespace jb::test
