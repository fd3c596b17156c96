// SPDX-License-Identifier: GPL-3.0-or-later
// The subcommands of `joulebench-cli plugins` for plugin authors (docs/plugin-authoring.md).
// `plugins` itself (cmd_plugins.cpp) hands over to them; they are no commands of their own.
#pragma once

#include <QStringList>

namespace jb::cli {

/// `plugins new <id> [--family F] [--name N] [--out DIR]`: writes a new plugin folder made from
/// the template compiled into the CLI (plugins/template, resource :/template/), renamed for
/// <id>, that builds in the JouleBench tree and out of it against the installed SDK.
/// `args[0]` is "joulebench-cli plugins new". Main thread. Returns an ExitCode.
int runPluginsNew(const QStringList &args);

/// `plugins check <file> [--params JSON] [--model NAME]`: validates a built plugin library
/// (metadata, interface id, apiVersion, parameter schema, loading through the registry) and
/// runs it on a tiny zoo model and a synthetic data set, printing each check as PASS or FAIL
/// with the fix. `args[0]` is "joulebench-cli plugins check". Main thread. Returns ExitOk only
/// when every check passed.
int runPluginsCheck(const QStringList &args);

} // namespace jb::cli
