// SPDX-License-Identifier: GPL-3.0-or-later
// nas.random: random architecture search over the conv search space of plugins/nas_common
// (docs/techniques/nas.md). The technique itself is nas::SearchTechnique.
#include "plugins/nas_common/nas_search.h"

#include <QObject>
#include <QtPlugin>

namespace jb::plugins {

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class RandomSearchPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "random_search.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<nas::SearchTechnique>(nas::Strategy::Random);
    }
};

} // namespace jb::plugins

#include "random_search.moc"
