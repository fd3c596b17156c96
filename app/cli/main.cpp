// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli: parses the subcommand name and hands over to the command's own code.
#include "command.h"

#include "jb_revision.h"

#include <QCoreApplication>

#include <memory>

using namespace jb::cli;

static QString usage()
{
    QString text = QStringLiteral(
        "Usage: joulebench-cli <command> [options]\n\n"
        "Energy benchmarking of efficient deep-learning techniques, measured by the hardware\n"
        "(RAPL, NVML). Run 'joulebench-cli <command> --help' for a command's options.\n\n"
        "Commands:\n");
    for (const Command &c : commands())
        text += QStringLiteral("  %1 %2\n").arg(c.name, -12).arg(c.summary);
    text += QStringLiteral("\nOptions:\n  -h, --help     Show this help.\n"
                           "  -v, --version  Show the version and build revision.\n");
    return text;
}

int main(int argc, char **argv)
{
    // A command may need more than a QCoreApplication (report draws charts): ask it first.
    QCoreApplication *(*createApplication)(int &, char **) = nullptr;
    for (const Command &c : commands())
        if (argc > 1 && c.name == QLatin1String(argv[1]))
            createApplication = c.createApplication;
    const std::unique_ptr<QCoreApplication> app(
        createApplication ? createApplication(argc, argv) : new QCoreApplication(argc, argv));
    QCoreApplication::setApplicationName(QStringLiteral("joulebench-cli"));
    QCoreApplication::setOrganizationName(QStringLiteral("JouleBench"));
    QCoreApplication::setApplicationVersion(QStringLiteral(JOULEBENCH_VERSION));

    const QStringList args = QCoreApplication::arguments();
    const QString first = args.value(1);
    if (first.isEmpty() || first == QLatin1String("-h") || first == QLatin1String("--help") ||
        first == QLatin1String("help")) {
        printOut(usage());
        return first.isEmpty() ? ExitUsage : ExitOk;
    }
    if (first == QLatin1String("-v") || first == QLatin1String("--version")) {
        printOut(QStringLiteral("joulebench-cli %1 (revision %2, Qt %3)")
                     .arg(QStringLiteral(JOULEBENCH_VERSION),
                          QStringLiteral(JOULEBENCH_GIT_REVISION), QString::fromLatin1(qVersion())));
        return ExitOk;
    }
    for (const Command &c : commands()) {
        if (c.name == first) {
            QStringList rest = args.mid(2);
            rest.prepend(QStringLiteral("joulebench-cli ") + c.name);
            return c.run(rest);
        }
    }
    printError(QStringLiteral("unknown command '%1'. Run 'joulebench-cli --help' for the list.")
                   .arg(first));
    return ExitUsage;
}
