# SPDX-License-Identifier: GPL-3.0-or-later
# Growing models (Net2Net widening and deepening, engine/net2net.h): function preservation.
jb_add_qt_test(tst_net2net SOURCES tst_net2net.cpp LIBS jb_engine TORCH TIMEOUT 120
               LABELS engine models)
