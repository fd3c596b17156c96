// SPDX-License-Identifier: GPL-3.0-or-later
// The knowledge-distillation loss of Hinton, Vinyals, Dean (2015), on its own so that the test
// can check it against a hand-computed example (plugins/distill_kd/tst_distill_kd.cpp).
#pragma once

#include <torch/torch.h>

namespace jb::plugins::kd {

/// KL(softmax(teacher / T) || softmax(student / T)), summed over the classes and averaged over
/// the batch (PyTorch's reduction "batchmean"). The teacher's logits are treated as constants.
/// Both logits [N, K]; any thread.
inline torch::Tensor softTargetLoss(const torch::Tensor &studentLogits,
                                    const torch::Tensor &teacherLogits, double temperature)
{
    const torch::Tensor logStudent = torch::log_softmax(studentLogits / temperature, 1);
    const torch::Tensor logTeacher =
        torch::log_softmax(teacherLogits.detach().to(studentLogits.scalar_type()) / temperature, 1);
    return (logTeacher.exp() * (logTeacher - logStudent)).sum() /
           static_cast<double>(studentLogits.size(0));
}

/// The distillation loss minimised by the student:
///   alpha x T^2 x KL(softmax(teacher/T) || softmax(student/T))  (batchmean)
///   + (1 - alpha) x CE(student, targets)                           (mean over the batch).
/// The T^2 factor keeps the soft term's gradients on the scale of the hard term's when T
/// changes (Hinton et al., section 2). A scalar with grad through `studentLogits` only.
inline torch::Tensor distillationLoss(const torch::Tensor &studentLogits,
                                      const torch::Tensor &teacherLogits,
                                      const torch::Tensor &targets, double temperature,
                                      double alpha)
{
    torch::Tensor loss = alpha * temperature * temperature *
                         softTargetLoss(studentLogits, teacherLogits, temperature);
    if (alpha < 1.0)
        loss = loss + (1.0 - alpha) * torch::cross_entropy_loss(studentLogits, targets);
    return loss;
}

} // namespace jb::plugins::kd
