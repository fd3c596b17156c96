// SPDX-License-Identifier: GPL-3.0-or-later
// template.weight_noise through the real plugin path: the built library in a private folder,
// the registry, create() with params, apply() on a small zoo model. A copy of this test is the
// starting point for a new plugin's test.
#include "plugin_test_support.h"

#include "engine/feedback.h"
#include "engine/spec_model.h"
#include "engine/technique.h"
#include "engine/zoo.h"

#include <QTemporaryDir>
#include <QtTest>

// The narrow torch header: <torch/torch.h> doubles the compile time (out of the tree).
#include <torch/types.h>

#include <cmath>
#include <map>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"template.weight_noise"_s;
const QString kFamily = u"other"_s;

std::unique_ptr<Model> makeModel(const QString &zooName, uint64_t seed = 1)
{
    QString error;
    const auto spec = zooSpec(zooName, ZooOptions{}, &error);
    if (!spec) {
        qWarning("%s", qPrintable(error));
        return nullptr;
    }
    std::unique_ptr<Model> model = SpecModel::create(*spec, seed, &error);
    if (!model)
        qWarning("%s", qPrintable(error));
    return model;
}

std::map<std::string, torch::Tensor> snapshot(const Model &model)
{
    std::map<std::string, torch::Tensor> copy;
    for (const auto &[name, t] : model.namedParameters())
        copy[name] = t.detach().clone();
    return copy;
}

struct Recorded
{
    QStringList phases;
    std::map<QString, double> metrics;
};

TechniqueContext contextFor(std::unique_ptr<Model> model, quint64 seed, Feedback *feedback,
                            Recorded *rec)
{
    TechniqueContext c;
    c.model = std::move(model);
    c.seed = seed;
    c.feedback = feedback;
    c.beginPhase = [rec](const QString &name) { rec->phases.append(name); };
    c.log = [](const QString &, const QJsonObject &) {};
    c.metric = [rec](const QString &name, double value, const QString &) {
        rec->metrics[name] = value;
    };
    return c;
}

} // namespace

class TestWeightNoise : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TechniqueRegistry> m_registry;

    std::unique_ptr<Technique> create(const QJsonObject &params)
    {
        QString error;
        auto t = m_registry->create(kId, params, &error);
        if (!t)
            qWarning("%s", qPrintable(error));
        return t;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QVERIFY(!test::copyPlugin(QStringLiteral(JB_PLUGIN_FILE), m_dir.path()).isEmpty());
        m_registry = test::scannedRegistry({m_dir.path()});
        QVERIFY2(m_registry->rejected().isEmpty(),
                 qPrintable(m_registry->rejected().value(0).message));
        QCOMPARE(m_registry->ids(), QStringList{kId});
    }

    void metadataDeclaresTheParameters()
    {
        const auto info = m_registry->plugin(kId);
        QVERIFY(info);
        QCOMPARE(info->metadata.family, kFamily);
        QCOMPARE(
            info->metadata.parameters.names(),
            (QStringList{u"relative_std"_s, u"layers"_s, u"include_biases"_s, u"seed_offset"_s}));
        QCOMPARE(info->metadata.parameters.defaults().value(u"relative_std"_s).toDouble(), 0.01);
    }

    void paramsAreCheckedByTheRegistryAndConfigure()
    {
        QString error;
        QVERIFY(!m_registry->create(kId, {{u"relative_std"_s, 11.0}}, &error));
        QVERIFY2(error.contains(u"params.relative_std: 11.0"_s), qPrintable(error));
        QVERIFY(!m_registry->create(kId, {{u"layers"_s, u"attention"_s}}, &error));
        QVERIFY2(error.contains(u"params.layers"_s), qPrintable(error));
        // A combination only configure() knows about.
        QVERIFY(!m_registry->create(kId, {{u"layers"_s, u"conv"_s}, {u"include_biases"_s, true}},
                                    &error));
        QVERIFY2(error.contains(u"configure: params.include_biases"_s), qPrintable(error));
    }

    void noiseHasTheRequestedRelativeSize()
    {
        auto technique = create({{u"relative_std"_s, 0.1}});
        QVERIFY(technique);
        Feedback feedback;
        Recorded rec;
        TechniqueContext c = contextFor(makeModel(u"mlp"_s), 7, &feedback, &rec);
        QVERIFY(c.model);
        const auto before = snapshot(*c.model);
        QString error;
        QVERIFY2(technique->apply(c, &error), qPrintable(error));
        QCOMPARE(rec.phases, QStringList{u"prepare:noise"_s});

        int matrices = 0;
        for (const auto &[name, after] : c.model->namedParameters()) {
            const torch::Tensor &w = before.at(name);
            const torch::Tensor diff = (after.detach() - w).to(torch::kDouble);
            if (w.dim() == 1) {
                QVERIFY2(diff.abs().max().item<double>() == 0, name.c_str()); // biases untouched
                continue;
            }
            ++matrices;
            const double rms = w.to(torch::kDouble).pow(2).mean().sqrt().item<double>();
            const double ratio = diff.pow(2).mean().sqrt().item<double>() / rms;
            const double mean = diff.mean().item<double>() / rms;
            // Every weight matrix of the mlp has >= 1000 values: the sample std is within 10%.
            QVERIFY2(std::abs(ratio - 0.1) < 0.01,
                     qPrintable(u"%1: %2"_s.arg(QString::fromStdString(name)).arg(ratio)));
            QVERIFY2(std::abs(mean) < 0.01, name.c_str());
        }
        QVERIFY(matrices >= 2);
        QVERIFY(std::abs(rec.metrics.at(u"measured_relative_noise"_s) - 0.1) < 0.01);
        QVERIFY(rec.metrics.at(u"noised_values"_s) > 1000);
    }

    void sameSeedSameNoiseOtherSeedOtherNoise()
    {
        auto run = [&](quint64 seed, int offset) {
            auto technique = create({{u"relative_std"_s, 0.05}, {u"seed_offset"_s, offset}});
            Recorded rec;
            TechniqueContext c = contextFor(makeModel(u"mlp"_s), seed, nullptr, &rec);
            QString error;
            if (!technique || !c.model || !technique->apply(c, &error))
                return std::map<std::string, torch::Tensor>{};
            return snapshot(*c.model);
        };
        const auto a = run(3, 0);
        const auto b = run(3, 0);
        const auto c = run(3, 1);
        const auto d = run(4, 0);
        QVERIFY(!a.empty());
        bool cDiffers = false, dDiffers = false;
        for (const auto &[name, t] : a) {
            QVERIFY(torch::equal(t, b.at(name)));
            cDiffers = cDiffers || !torch::equal(t, c.at(name));
            dDiffers = dDiffers || !torch::equal(t, d.at(name));
        }
        QVERIFY(cDiffers);
        QVERIFY(dDiffers);
    }

    void layersSelectsTensorKinds()
    {
        auto technique = create({{u"layers"_s, u"linear"_s}, {u"relative_std"_s, 0.2}});
        QVERIFY(technique);
        Recorded rec;
        TechniqueContext c = contextFor(makeModel(u"lenet5"_s), 1, nullptr, &rec);
        QVERIFY(c.model);
        const auto before = snapshot(*c.model);
        QString error;
        QVERIFY2(technique->apply(c, &error), qPrintable(error));
        int convs = 0, linears = 0;
        for (const auto &[name, after] : c.model->namedParameters()) {
            const bool changed = !torch::equal(after.detach(), before.at(name));
            QCOMPARE(changed, after.dim() == 2);
            convs += after.dim() == 4;
            linears += after.dim() == 2;
        }
        QVERIFY(convs > 0 && linears > 0);
    }

    void includeBiasesPerturbsVectors()
    {
        auto technique = create({{u"include_biases"_s, true}, {u"relative_std"_s, 0.2}});
        QVERIFY(technique);
        Recorded rec;
        TechniqueContext c = contextFor(makeModel(u"mlp"_s), 1, nullptr, &rec);
        const auto before = snapshot(*c.model);
        QString error;
        QVERIFY2(technique->apply(c, &error), qPrintable(error));
        for (const auto &[name, after] : c.model->namedParameters())
            QVERIFY2(!torch::equal(after.detach(), before.at(name)), name.c_str());
    }

    void zeroStdChangesNothing()
    {
        auto technique = create({{u"relative_std"_s, 0.0}});
        QVERIFY(technique);
        Recorded rec;
        TechniqueContext c = contextFor(makeModel(u"mlp"_s), 1, nullptr, &rec);
        const auto before = snapshot(*c.model);
        QString error;
        QVERIFY2(technique->apply(c, &error), qPrintable(error));
        for (const auto &[name, after] : c.model->namedParameters())
            QVERIFY(torch::equal(after.detach(), before.at(name)));
    }

    void cancelStopsBeforeAnyChange()
    {
        auto technique = create({});
        QVERIFY(technique);
        Feedback feedback;
        feedback.cancel();
        Recorded rec;
        TechniqueContext c = contextFor(makeModel(u"mlp"_s), 1, &feedback, &rec);
        const auto before = snapshot(*c.model);
        QString error;
        QVERIFY(!technique->apply(c, &error));
        QCOMPARE(error, u"cancelled"_s);
        for (const auto &[name, after] : c.model->namedParameters())
            QVERIFY(torch::equal(after.detach(), before.at(name)));
    }

    void missingModelIsAnError()
    {
        auto technique = create({});
        QVERIFY(technique);
        TechniqueContext c;
        QString error;
        QVERIFY(!technique->apply(c, &error));
        QVERIFY(error.contains(u"no model"_s));
    }
};

QTEST_GUILESS_MAIN(TestWeightNoise)
#include "tst_weight_noise.moc"
