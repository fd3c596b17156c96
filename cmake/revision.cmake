# SPDX-License-Identifier: GPL-3.0-or-later
# Writes jb_revision.h with the source tree's git revision; rewrites only on change.
execute_process(COMMAND git -C ${SRC} describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT rev)
    set(rev "unknown")
endif()
set(content "#pragma once\n#define JOULEBENCH_GIT_REVISION \"${rev}\"\n")
if(EXISTS ${OUT})
    file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${content}")
    file(WRITE ${OUT} "${content}")
endif()
