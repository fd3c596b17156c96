// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QCommandLineParser>
#include <QList>
#include <QString>
#include <QStringList>

class QCoreApplication;

namespace jb::cli {

/// Exit codes shared by every subcommand.
enum ExitCode : int {
    ExitOk = 0,
    ExitFailure = 1, ///< the work failed (error printed on stderr)
    ExitUsage = 2,   ///< wrong arguments
    ExitCancelled = 3,
};

/// One subcommand of joulebench-cli. `run` gets the arguments after the subcommand name,
/// with args[0] set to "joulebench-cli <name>" so QCommandLineParser can use them directly.
/// Called on the main thread, with a QCoreApplication alive.
struct Command
{
    QString name;
    QString summary;
    int (*run)(const QStringList &args) = nullptr;
    /// Creates the application object before anything else runs, for a command that needs more
    /// than a QCoreApplication (e.g. a QApplication to draw charts); null = QCoreApplication.
    QCoreApplication *(*createApplication)(int &argc, char **argv) = nullptr;
};

/// All subcommands, in registration order sorted by name.
QList<Command> commands();
void registerCommand(const Command &command);

struct CommandRegistrar
{
    CommandRegistrar(const char *name, const char *summary, int (*run)(const QStringList &))
    {
        registerCommand({QString::fromLatin1(name), QString::fromLatin1(summary), run});
    }
    CommandRegistrar(const char *name, const char *summary, int (*run)(const QStringList &),
                     QCoreApplication *(*createApplication)(int &, char **))
    {
        registerCommand(
            {QString::fromLatin1(name), QString::fromLatin1(summary), run, createApplication});
    }
};

/// Processes args with the parser; prints help or the error and returns false when the
/// caller should exit with *exitCode.
bool parseArguments(QCommandLineParser &parser, const QStringList &args, int *exitCode);

/// Prints a message to stderr, prefixed with "joulebench-cli: error: ".
void printError(const QString &message);
/// Prints a line to stdout.
void printOut(const QString &text);

} // namespace jb::cli

/// Registers a subcommand from its cmd_<name>.cpp file.
#define JB_CLI_COMMAND(id, name, summary, fn)                                                      \
    static const jb::cli::CommandRegistrar jbCliRegistrar_##id(name, summary, fn)

/// Same, for a command whose application object comes from `createApp` (see Command).
#define JB_CLI_COMMAND_WITH_APP(id, name, summary, fn, createApp)                                  \
    static const jb::cli::CommandRegistrar jbCliRegistrar_##id(name, summary, fn, createApp)
