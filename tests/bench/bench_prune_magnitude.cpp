// SPDX-License-Identifier: GPL-3.0-or-later
// bench_prune_magnitude: the mlp (LeNet-300-100) trained on Fashion-MNIST, then pruned by
// prune.magnitude to 90 % global sparsity with masked fine-tuning; prints the dense and the
// pruned test accuracy (the benchmark reads the test split; the technique never does), the exact
// sparsity and the non-zero MACs. Target: pruned within 1 point of dense.
//
// Usage: bench_prune_magnitude [epochs=10] [sparsity=0.9] [schedule=cubic] [steps=3]
//                              [epochs_per_step=2] [lr_factor=0.1]
#include "engine/datasets.h"
#include "engine/evaluator.h"
#include "engine/model_metrics.h"
#include "engine/spec_model.h"
#include "engine/technique.h"
#include "engine/technique_registry.h"
#include "engine/trainer.h"
#include "engine/zoo.h"

#include <QCoreApplication>
#include <QJsonObject>

#include <torch/torch.h>

#include <chrono>
#include <cstdio>

using namespace jb;

namespace {

double testAccuracy(Model &model, const Dataset &test)
{
    QString error;
    const auto r = Evaluator().evaluate(model, test, nullptr, &error);
    if (!r) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return -1;
    }
    return r->top1;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const int epochs = argc > 1 ? std::atoi(argv[1]) : 10;
    const double sparsity = argc > 2 ? std::atof(argv[2]) : 0.9;
    const QString schedule = argc > 3 ? QString::fromLocal8Bit(argv[3]) : QStringLiteral("cubic");
    const int steps = argc > 4 ? std::atoi(argv[4]) : 3;
    const int epochsPerStep = argc > 5 ? std::atoi(argv[5]) : 2;
    const double lrFactor = argc > 6 ? std::atof(argv[6]) : 0.1;

    QString error;
    DatasetSplits data;
    DatasetConfig config;
    config.seed = 1;
    if (!loadDatasetSplits(config, &data, &error)) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    const auto spec = zooSpec(QStringLiteral("mlp"), ZooOptions{}, &error);
    std::unique_ptr<Model> model = SpecModel::create(*spec, 1, &error);
    if (!model) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    TrainOptions training;
    training.epochs = epochs;
    training.batchSize = 64;
    training.learningRate = 1e-3;
    training.seed = 1;
    const auto t0 = std::chrono::steady_clock::now();
    if (!Trainer(training).train(*model, data.train, nullptr, &error)) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    const double dense = testAccuracy(*model, data.test);
    const auto t1 = std::chrono::steady_clock::now();
    std::printf("dense mlp: %d epochs, test top-1 %.4f (%.0f s)\n", epochs, dense,
                std::chrono::duration<double>(t1 - t0).count());

    TechniqueRegistry registry;
    registry.setSearchPaths({{QStringLiteral(JB_PLUGIN_DIR), QStringLiteral("build")}});
    registry.scan();
    QJsonObject params{{QStringLiteral("sparsity"), sparsity},
                       {QStringLiteral("schedule"), schedule},
                       {QStringLiteral("steps"), schedule == QStringLiteral("one_shot") ? 1 : steps},
                       {QStringLiteral("epochs_per_step"), epochsPerStep},
                       {QStringLiteral("lr_factor"), lrFactor}};
    auto technique = registry.create(QStringLiteral("prune.magnitude"), params, &error);
    if (!technique) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    TechniqueContext context;
    context.model = std::move(model);
    context.data = &data;
    context.training = training;
    context.seed = 1;
    double reported = -1;
    context.metric = [&](const QString &name, double value, const QString &) {
        if (name == QStringLiteral("sparsity"))
            reported = value;
    };
    if (!technique->apply(context, &error)) {
        std::fprintf(stderr, "pruning failed: %s\n", qPrintable(error));
        return 1;
    }
    const double pruned = testAccuracy(*context.model, data.test);
    const auto t2 = std::chrono::steady_clock::now();
    const auto metrics = computeModelMetrics(*context.model, &error);
    std::printf("pruned mlp: sparsity %.6f (%s, %d steps, %d epochs/step, lr x %.3g), test top-1 "
                "%.4f (%.0f s)\n",
                reported, qPrintable(schedule), steps, epochsPerStep, lrFactor, pruned,
                std::chrono::duration<double>(t2 - t1).count());
    if (metrics)
        std::printf("non-zero parameters %lld of %lld, non-zero MACs %lld of %lld\n",
                    static_cast<long long>(metrics->nonZeroParameters),
                    static_cast<long long>(metrics->parameters),
                    static_cast<long long>(metrics->nonZeroMacs),
                    static_cast<long long>(metrics->macs));
    std::printf("accuracy change: %+.2f points (target: within 1 point)\n",
                100.0 * (pruned - dense));
    return 0;
}
