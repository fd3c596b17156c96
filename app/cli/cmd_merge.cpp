// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli merge: puts shard databases together without duplicates.
#include "command.h"

#include "database/merge.h"

using namespace jb;
using namespace jb::cli;
using namespace Qt::StringLiterals;

namespace {

int runMerge(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Merges shard databases (e.g. part-*.sqlite of a job array) into OUT, created when "
        "missing. Inputs are only read. An experiment is identified by its plan hash, a run by "
        "(plan hash, configuration key, repetition): a run already in OUT is skipped, except "
        "that a completed run replaces an unfinished copy; runs still running are skipped."_s);
    parser.addPositionalArgument(u"OUT"_s, u"The merged database."_s);
    parser.addPositionalArgument(u"IN"_s, u"Shard databases to merge."_s, u"IN..."_s);
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() < 2) {
        printError(u"merge needs OUT and at least one IN database"_s);
        return ExitUsage;
    }
    QString error;
    const std::optional<db::MergeCounts> c =
        db::mergeDatabases(positional.first(), positional.mid(1), &error);
    if (!c) {
        printError(error);
        return ExitFailure;
    }
    QString text = u"Merged %1 database(s) into %2: %3 experiment(s) and %4 run(s) added, %5 "
                   "replaced, %6 duplicate(s) skipped, %7 still running skipped, %8 copied as "
                   "interrupted; %9 sample chunks."_s
                       .arg(c->inputs)
                       .arg(positional.first())
                       .arg(c->experimentsAdded)
                       .arg(c->runsAdded)
                       .arg(c->runsReplaced)
                       .arg(c->runsSkippedDuplicate)
                       .arg(c->runsSkippedRunning)
                       .arg(c->runsInterrupted)
                       .arg(c->chunksCopied);
    for (const QString &n : c->notes)
        text += u"\n  "_s + n;
    printOut(text);
    return ExitOk;
}

} // namespace

JB_CLI_COMMAND(merge, "merge", "Merge shard databases without duplicates", runMerge);
