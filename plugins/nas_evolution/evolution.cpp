// SPDX-License-Identifier: GPL-3.0-or-later
// nas.evolution: regularized (aging) evolution over the conv search space of plugins/nas_common
// (docs/techniques/nas.md). The technique itself is nas::SearchTechnique.
#include "plugins/nas_common/nas_search.h"

#include <QObject>
#include <QtPlugin>

namespace jb::plugins {

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class EvolutionPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "evolution.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<nas::SearchTechnique>(nas::Strategy::Evolution);
    }
};

} // namespace jb::plugins

#include "evolution.moc"
