// SPDX-License-Identifier: GPL-3.0-or-later
// bench_prune_structured: CPU inference time of vgg-cifar (3x32x32 input, random weights: speed
// does not depend on training) before and after prune.structured removes a fraction of every
// conv layer's filters (default 50 %), at batch 64, with 1 and 2 intra-op threads. Dense and
// pruned timings are interleaved round by round so that load changes on a shared machine hit
// both alike; prints the median per-batch latency of each and their ratio.
//
// Usage: bench_prune_structured [ratio=0.5] [rounds=15] [batch=64]
#include "engine/spec_model.h"
#include "engine/technique.h"
#include "engine/technique_registry.h"
#include "engine/zoo.h"

#include <QCoreApplication>
#include <QJsonObject>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

using namespace jb;

namespace {

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

/// Median ms of `reps` forward passes.
double timeForward(Model &model, const torch::Tensor &x, int reps)
{
    std::vector<double> ms;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        const torch::Tensor y = model.forward(x);
        const auto t1 = std::chrono::steady_clock::now();
        (void)y;
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    return median(ms);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const double ratio = argc > 1 ? std::atof(argv[1]) : 0.5;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 15;
    const int64_t batch = argc > 3 ? std::atoll(argv[3]) : 64;

    TechniqueRegistry registry;
    registry.setSearchPaths({{QStringLiteral(JB_PLUGIN_DIR), QStringLiteral("build")}});
    registry.scan();
    QString error;
    auto technique = registry.create(
        QStringLiteral("prune.structured"),
        {{QStringLiteral("ratio"), ratio}, {QStringLiteral("finetune_epochs"), 0}}, &error);
    if (!technique) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    ZooOptions options;
    options.inputShape = {3, 32, 32};
    const auto spec = zooSpec(QStringLiteral("vgg-cifar"), options, &error);
    if (!spec) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    std::unique_ptr<Model> dense = SpecModel::create(*spec, 1, &error);
    TechniqueContext context;
    context.model = dense->clone(&error);
    if (!context.model || !technique->apply(context, &error)) {
        std::fprintf(stderr, "pruning failed: %s\n", qPrintable(error));
        return 1;
    }
    std::unique_ptr<Model> pruned = std::move(context.model);
    dense->setTraining(false);
    pruned->setTraining(false);
    std::printf("vgg-cifar 3x32x32, filters removed per conv layer: %.2f, batch %lld, "
                "parameters %lld -> %lld\n",
                ratio, static_cast<long long>(batch),
                static_cast<long long>(parameterCount(*dense)),
                static_cast<long long>(parameterCount(*pruned)));

    torch::manual_seed(0);
    const torch::Tensor x = torch::randn({batch, 3, 32, 32});
    c10::InferenceMode inference;
    for (int threads : {1, 2}) {
        torch::set_num_threads(threads);
        timeForward(*dense, x, 3); // warm-up
        timeForward(*pruned, x, 3);
        std::vector<double> d, p;
        for (int r = 0; r < rounds; ++r) {
            d.push_back(timeForward(*dense, x, 5));
            p.push_back(timeForward(*pruned, x, 5));
        }
        const double dm = median(d), pm = median(p);
        std::printf("threads %d: dense %.2f ms/batch, pruned %.2f ms/batch, speedup %.2fx "
                    "(median of %d interleaved rounds of 5)\n",
                    threads, dm, pm, dm / pm, rounds);
    }
    return 0;
}
