// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: the JSONL run-event reader (what the GUI reads from a worker's stdout).
// Invariants: no crash, no sanitizer report; a rejected line has a message; an accepted event
// is written back to JSON that parses again to an equal event.
#include "engine/run_events.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace jb;
    QString error;
    const std::optional<RunEvent> event =
        parseRunEvent(QByteArrayView(reinterpret_cast<const char *>(data), qsizetype(size)), &error);
    if (!event) {
        if (error.isEmpty())
            fuzz::invariantFailed("a rejected line without a message");
        return 0;
    }
    QString again;
    const std::optional<RunEvent> reread = parseRunEvent(runEventToJson(*event), &again);
    if (!reread)
        fuzz::invariantFailed("a written event does not parse again:", again);
    return 0;
}
