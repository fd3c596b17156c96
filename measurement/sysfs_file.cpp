// SPDX-License-Identifier: GPL-3.0-or-later
#include "sysfs_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace jb {

SysfsFile::~SysfsFile()
{
    close();
}

SysfsFile::SysfsFile(SysfsFile &&other) noexcept : m_fd(other.m_fd), m_path(std::move(other.m_path))
{
    other.m_fd = -1;
}

SysfsFile &SysfsFile::operator=(SysfsFile &&other) noexcept
{
    if (this != &other) {
        close();
        m_fd = other.m_fd;
        m_path = std::move(other.m_path);
        other.m_fd = -1;
    }
    return *this;
}

void SysfsFile::close()
{
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
}

bool SysfsFile::open(const QString &path, QString *error, const QString &permissionFix,
                     int *errnoOut)
{
    close();
    m_path = path;
    const QByteArray native = path.toLocal8Bit();
    m_fd = ::open(native.constData(), O_RDONLY | O_CLOEXEC);
    if (m_fd < 0) {
        const int e = errno;
        if (errnoOut)
            *errnoOut = e;
        if (error)
            *error = describeReadError(path, e, permissionFix);
        return false;
    }
    if (errnoOut)
        *errnoOut = 0;
    return true;
}

long SysfsFile::readRaw(char *buffer, long capacity) const
{
    ssize_t n;
    do {
        n = ::pread(m_fd, buffer, static_cast<size_t>(capacity), 0);
    } while (n < 0 && errno == EINTR);
    return static_cast<long>(n);
}

bool SysfsFile::readUInt64(quint64 *value, QString *error) const
{
    char buffer[64];
    const long n = readRaw(buffer, sizeof buffer);
    if (n < 0) {
        if (error)
            *error = describeReadError(m_path, errno);
        return false;
    }
    const std::optional<quint64> v = parseUInt64(std::string_view(buffer, static_cast<size_t>(n)));
    if (!v) {
        if (error)
            *error = QStringLiteral("%1 holds '%2', not an unsigned integer")
                         .arg(m_path, QString::fromLatin1(buffer, n).trimmed().left(40));
        return false;
    }
    *value = *v;
    return true;
}

std::optional<quint64> parseUInt64(std::string_view text)
{
    auto isSpace = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
    size_t i = 0;
    while (i < text.size() && isSpace(text[i]))
        ++i;
    size_t end = text.size();
    while (end > i && isSpace(text[end - 1]))
        --end;
    if (i == end)
        return std::nullopt;
    quint64 value = 0;
    for (; i < end; ++i) {
        const char c = text[i];
        if (c < '0' || c > '9')
            return std::nullopt;
        const quint64 digit = static_cast<quint64>(c - '0');
        if (value > (~quint64(0) - digit) / 10)
            return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

QString describeReadError(const QString &path, int errnoValue, const QString &permissionFix)
{
    QString text = QStringLiteral("cannot read %1: %2")
                       .arg(path, QString::fromLocal8Bit(std::strerror(errnoValue)));
    if ((errnoValue == EACCES || errnoValue == EPERM) && !permissionFix.isEmpty())
        text += QStringLiteral(". ") + permissionFix;
    return text;
}

bool readTextFile(const QString &path, QString *content, QString *error)
{
    SysfsFile f;
    if (!f.open(path, error))
        return false;
    QByteArray data;
    char buffer[4096];
    for (;;) {
        ssize_t n;
        do {
            n = ::pread(f.m_fd, buffer, sizeof buffer, static_cast<off_t>(data.size()));
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            if (error)
                *error = describeReadError(path, errno);
            return false;
        }
        if (n == 0 || data.size() > (1 << 20))
            break;
        data.append(buffer, n);
    }
    *content = QString::fromUtf8(data).trimmed();
    return true;
}

} // namespace jb
