// SPDX-License-Identifier: GPL-3.0-or-later
#include "app_paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace jb::gui::AppPaths {

QString cliExecutable()
{
    const QString local = QDir(QCoreApplication::applicationDirPath())
                              .filePath(QStringLiteral("joulebench-cli"));
    if (QFileInfo(local).isExecutable())
        return local;
    const QString env = qEnvironmentVariable("JOULEBENCH_CLI");
    if (!env.isEmpty() && QFileInfo(env).isExecutable())
        return env;
    return QString();
}

QStringList defaultPlanCandidates()
{
    const QDir exe(QCoreApplication::applicationDirPath());
    const QString tail = QStringLiteral("plans/default.json");
    return {QDir::cleanPath(exe.filePath(QStringLiteral("../share/joulebench/") + tail)),
            QDir::cleanPath(exe.filePath(QStringLiteral("../../resources/") + tail)),
            QDir::cleanPath(QStringLiteral(JOULEBENCH_SOURCE_DIR "/resources/") + tail),
            QStringLiteral(":/joulebench/") + tail};
}

QString defaultPlanPath()
{
    const QStringList candidates = defaultPlanCandidates();
    for (const QString &c : candidates)
        if (QFileInfo::exists(c))
            return c;
    return candidates.last();
}

} // namespace jb::gui::AppPaths
