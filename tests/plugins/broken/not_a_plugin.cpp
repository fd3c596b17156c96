// SPDX-License-Identifier: GPL-3.0-or-later
// A plain shared library in a plugin folder: no Qt plugin metadata at all.
extern "C" int jb_test_not_a_plugin_answer()
{
    return 42;
}
