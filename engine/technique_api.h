// SPDX-License-Identifier: GPL-3.0-or-later
// The identity of the technique plugin interface: its Qt interface id and the metadata
// apiVersion. Kept free of torch and of the interface itself, so that code which only checks
// plugin metadata (engine/technique_metadata.cpp, the fuzz targets) does not parse libtorch.
#pragma once

/// The interface id as a string literal, for `Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE ...)`
/// (moc needs a literal or a macro). Same value as jb::TechniqueIid.
#define JB_TECHNIQUE_IID "org.joulebench.Technique/1.0"

namespace jb {

/// The interface id every technique plugin declares in Q_PLUGIN_METADATA. The version in it
/// changes when the binary interface (engine/technique.h) changes.
inline constexpr char TechniqueIid[] = JB_TECHNIQUE_IID;
/// The `apiVersion` a plugin's JSON metadata must carry.
inline constexpr int TechniqueApiVersion = 1;

} // namespace jb
