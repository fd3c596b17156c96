// SPDX-License-Identifier: GPL-3.0-or-later
// Shared by the fuzz targets: writing fuzzer input to files (the data-set readers read files)
// and aborting on a broken invariant so that libFuzzer records the input as a crash.
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QString>
#include <QTemporaryDir>

#include <cstdio>
#include <cstdlib>

namespace jb::fuzz {

/// A private folder for the target's files, in /dev/shm when present (no disk I/O per input).
inline const QString &scratchDir()
{
    static QTemporaryDir dir(QDir(QStringLiteral("/dev/shm")).exists()
                                 ? QStringLiteral("/dev/shm/jb-fuzz-XXXXXX")
                                 : QDir::tempPath() + QStringLiteral("/jb-fuzz-XXXXXX"));
    if (!dir.isValid()) {
        std::fprintf(stderr, "fuzz: cannot create a scratch folder\n");
        std::abort();
    }
    static const QString path = dir.path();
    return path;
}

/// Writes `bytes` to scratchDir()/name and returns the path (aborts if it cannot: that is a
/// harness problem, not a finding in the code under test).
inline QString writeScratch(const QString &name, const QByteArray &bytes)
{
    const QString path = scratchDir() + u'/' + name;
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size()) {
        std::fprintf(stderr, "fuzz: cannot write %s\n", qPrintable(path));
        std::abort();
    }
    return path;
}

/// An invariant of the code under test does not hold: report it and crash on purpose.
[[noreturn]] inline void invariantFailed(const char *what, const QString &detail = QString())
{
    std::fprintf(stderr, "fuzz invariant failed: %s %s\n", what, qPrintable(detail));
    std::abort();
}

/// Splits the input in two at a position chosen by its first two bytes (for targets that read
/// a pair of files, like IDX images + labels).
inline std::pair<QByteArray, QByteArray> splitInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return {QByteArray(reinterpret_cast<const char *>(data), qsizetype(size)), QByteArray()};
    const size_t rest = size - 2;
    const size_t cut = rest == 0 ? 0 : (size_t(data[0]) << 8 | data[1]) % (rest + 1);
    const char *p = reinterpret_cast<const char *>(data + 2);
    return {QByteArray(p, qsizetype(cut)), QByteArray(p + cut, qsizetype(rest - cut))};
}

} // namespace jb::fuzz
