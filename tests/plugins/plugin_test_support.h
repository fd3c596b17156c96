// SPDX-License-Identifier: GPL-3.0-or-later
// Helpers for plugin tests: put plugin libraries into a private folder and scan only that, so a
// test sees exactly the plugins it chose (not whatever else the build folder holds).
#pragma once

#include "engine/technique_registry.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QString>
#include <QStringList>

#include <memory>

namespace jb::test {

/// Copies `file` into `dir` with mode 0755; returns the copy's path, or "" on failure.
inline QString copyPlugin(const QString &file, const QString &dir,
                          const QString &newName = QString())
{
    const QString target = dir + u'/' + (newName.isEmpty() ? QFileInfo(file).fileName() : newName);
    QFile::remove(target);
    if (!QFile::copy(file, target))
        return QString();
    QFile::setPermissions(target, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner |
                                      QFile::ReadGroup | QFile::ExeGroup | QFile::ReadOther |
                                      QFile::ExeOther);
    return target;
}

/// A registry that searches exactly `dirs` (origin "test"), scanned.
inline std::unique_ptr<TechniqueRegistry> scannedRegistry(const QStringList &dirs)
{
    auto registry = std::make_unique<TechniqueRegistry>();
    QList<PluginSearchPath> paths;
    for (const QString &d : dirs)
        paths.append({d, QStringLiteral("test")});
    registry->setSearchPaths(paths);
    registry->scan();
    return registry;
}

} // namespace jb::test
