// SPDX-License-Identifier: GPL-3.0-or-later
#include "command.h"

#include <QTextStream>

#include <algorithm>
#include <cstdio>

namespace jb::cli {

static QList<Command> &registry()
{
    static QList<Command> commands;
    return commands;
}

void registerCommand(const Command &command)
{
    registry().append(command);
}

QList<Command> commands()
{
    QList<Command> sorted = registry();
    std::sort(sorted.begin(), sorted.end(),
              [](const Command &a, const Command &b) { return a.name < b.name; });
    return sorted;
}

bool parseArguments(QCommandLineParser &parser, const QStringList &args, int *exitCode)
{
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")},
                                  QStringLiteral("Show this help."));
    parser.addOption(help);
    if (!parser.parse(args)) {
        printError(parser.errorText() + QStringLiteral("\nTry '") + args.value(0) +
                   QStringLiteral(" --help'."));
        *exitCode = ExitUsage;
        return false;
    }
    if (parser.isSet(help)) {
        printOut(parser.helpText());
        *exitCode = ExitOk;
        return false;
    }
    return true;
}

void printError(const QString &message)
{
    QTextStream err(stderr);
    err << "joulebench-cli: error: " << message << '\n';
}

void printOut(const QString &text)
{
    QTextStream out(stdout);
    out << text;
    if (!text.endsWith(QLatin1Char('\n')))
        out << '\n';
}

} // namespace jb::cli
