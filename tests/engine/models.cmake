# SPDX-License-Identifier: GPL-3.0-or-later
# Models (architecture spec, zoo, spec models, channel surgery, TorchScript import, model files),
# training, evaluation, inference timing and model metrics.
foreach(_t tst_arch_spec tst_spec_model tst_model_metrics tst_trainer tst_evaluator tst_model_io)
    jb_add_qt_test(${_t} SOURCES ${_t}.cpp LIBS jb_engine TORCH TIMEOUT 120 LABELS engine models)
endforeach()
