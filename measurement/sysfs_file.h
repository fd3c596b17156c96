// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QString>

#include <optional>
#include <string_view>

namespace jb {

/// A small sysfs or procfs file kept open and re-read with pread(fd, buf, n, 0).
///
/// Polling a counter this way costs one syscall per read (sysfs regenerates the attribute on
/// every read at offset 0), instead of open + read + close: this is what keeps the Sampler's
/// overhead low. Move-only; closes the descriptor on destruction. Not thread-safe: one
/// thread reads a given SysfsFile at a time.
class SysfsFile
{
public:
    SysfsFile() = default;
    ~SysfsFile();
    SysfsFile(SysfsFile &&other) noexcept;
    SysfsFile &operator=(SysfsFile &&other) noexcept;
    SysfsFile(const SysfsFile &) = delete;
    SysfsFile &operator=(const SysfsFile &) = delete;

    /// Opens path read-only. On failure *errnoOut (if given) holds errno and *error says why,
    /// with permissionFix appended when the cause is EACCES or EPERM.
    bool open(const QString &path, QString *error, const QString &permissionFix = {},
              int *errnoOut = nullptr);
    bool isOpen() const { return m_fd >= 0; }
    const QString &path() const { return m_path; }
    void close();

    /// Reads the file from offset 0 and parses one unsigned decimal integer (leading zeros,
    /// surrounding whitespace allowed). The error names the file and quotes bad content.
    bool readUInt64(quint64 *value, QString *error) const;
    /// Reads up to capacity bytes from offset 0; returns the count, or -1 with errno set.
    long readRaw(char *buffer, long capacity) const;

private:
    friend bool readTextFile(const QString &path, QString *content, QString *error);
    int m_fd = -1;
    QString m_path;
};

/// Parses an unsigned decimal integer surrounded by optional whitespace; nullopt when the text
/// is anything else (empty, sign, letters, overflow).
std::optional<quint64> parseUInt64(std::string_view text);

/// "cannot read <path>: <strerror(errno)>", followed by permissionFix for EACCES/EPERM.
QString describeReadError(const QString &path, int errnoValue, const QString &permissionFix = {});

/// Reads a whole small text file (sysfs attribute, /proc file) in one go, trimmed.
bool readTextFile(const QString &path, QString *content, QString *error);

} // namespace jb
