// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "store_types.h"

namespace jb::db {

/// Decides whether the process that owns a Running run is still alive, robust against pid
/// reuse: the owner is stored as pid + host + a start token (Linux: kernel boot id and the
/// process start time from /proc/<pid>/stat).
/// Threads: any thread (stateless apart from a cached boot id).
class ProcessIdentity
{
public:
    enum class Liveness {
        Alive,   ///< same host, same pid, same start token
        Dead,    ///< same host and the pid is gone, a zombie, or another process now
        Unknown, ///< another host: cannot be decided from here
    };

    /// The calling process.
    static RunOwner current();
    /// The owner of the given pid on this host (empty token if unavailable).
    static RunOwner ofPid(qint64 pid);
    static Liveness liveness(const RunOwner &owner);
    /// This machine's host name as stored in run rows.
    static QString hostName();
};

} // namespace jb::db
