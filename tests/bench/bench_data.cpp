// SPDX-License-Identifier: GPL-3.0-or-later
// Is data loading ever the bottleneck? Prints, measured in one run on this machine:
//   - loading Fashion-MNIST (70000 images: gunzip, parse, split, normalise), best of 3;
//   - the BatchIterator's cost per batch (shuffled index_select), over whole epochs;
//   - one LeNet-5 training step (forward, backward, SGD) on the same batch size;
// and the ratio of the two. Usage: bench_data [--threads N] [--path DIR]
#include "engine/backend.h"
#include "engine/datasets.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QStringList>

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>

using namespace jb;

namespace {

struct LeNet5 : torch::nn::Module
{
    torch::nn::Conv2d c1{torch::nn::Conv2dOptions(1, 6, 5).padding(2)};
    torch::nn::Conv2d c2{torch::nn::Conv2dOptions(6, 16, 5)};
    torch::nn::Linear f1{16 * 5 * 5, 120}, f2{120, 84}, f3{84, 10};
    LeNet5()
    {
        register_module("c1", c1);
        register_module("c2", c2);
        register_module("f1", f1);
        register_module("f2", f2);
        register_module("f3", f3);
    }
    torch::Tensor forward(torch::Tensor x)
    {
        x = torch::max_pool2d(torch::relu(c1(x)), 2);
        x = torch::max_pool2d(torch::relu(c2(x)), 2);
        x = torch::relu(f1(x.flatten(1)));
        return f3(torch::relu(f2(x)));
    }
};

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    QString backendText = QStringLiteral("cpu");
    DatasetConfig config;
    for (qsizetype i = 1; i + 1 < args.size(); ++i) {
        if (args[i] == QLatin1String("--threads"))
            backendText = QStringLiteral("cpu:") + args[i + 1];
        else if (args[i] == QLatin1String("--path"))
            config.path = args[i + 1];
    }
    QString error;
    const auto backend = Backend::parse(backendText, &error);
    if (!backend || !applyBackend(*backend, &error)) {
        std::fprintf(stderr, "bench_data: %s\n", qPrintable(error));
        return 1;
    }
    const BackendInfo machine = describeMachine();
    std::printf("machine: %s, backend %s (%d intra-op threads), BLAS %s\n",
                qPrintable(machine.cpuModel), qPrintable(backend->toString()),
                machine.intraOpThreads, qPrintable(machine.blas.kind));

    DatasetSplits splits;
    std::vector<double> loads;
    for (int r = 0; r < 3; ++r) {
        QElapsedTimer t;
        t.start();
        if (!loadDatasetSplits(config, &splits, &error)) {
            std::fprintf(stderr, "bench_data: %s\n", qPrintable(error));
            return 1;
        }
        loads.push_back(double(t.nsecsElapsed()) / 1e6);
    }
    std::sort(loads.begin(), loads.end());
    std::printf("load %s (%lld + %lld + %lld samples): best %.0f ms, worst %.0f ms of 3\n",
                qPrintable(config.name), qint64(splits.train.size()),
                qint64(splits.validation.size()), qint64(splits.test.size()), loads.front(),
                loads.back());

    torch::manual_seed(0);
    for (const int64_t batch : {64, 256}) {
        BatchIterator it(splits.train, batch, /*shuffle=*/true, /*seed=*/1);
        torch::Tensor x, y;
        int64_t batches = 0;
        QElapsedTimer t;
        t.start();
        for (int epoch = 0; epoch < 2; ++epoch) {
            while (it.next(&x, &y))
                ++batches;
        }
        const double iterUs = double(t.nsecsElapsed()) / 1e3 / double(batches);

        LeNet5 net;
        torch::optim::SGD opt(net.parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
        BatchIterator train(splits.train, batch, true, 2);
        const int steps = batch == 64 ? 200 : 60;
        for (int s = 0; s < 10 && train.next(&x, &y); ++s) { // warm-up
            opt.zero_grad();
            torch::nn::functional::cross_entropy(net.forward(x), y).backward();
            opt.step();
        }
        double stepNs = 0;
        for (int s = 0; s < steps; ++s) {
            if (!train.next(&x, &y))
                train.next(&x, &y);
            QElapsedTimer st;
            st.start();
            opt.zero_grad();
            torch::nn::functional::cross_entropy(net.forward(x), y).backward();
            opt.step();
            stepNs += double(st.nsecsElapsed());
        }
        const double stepUs = stepNs / 1e3 / steps;
        std::printf("batch %3lld: BatchIterator %.1f us/batch (%lld batches), LeNet-5 training "
                    "step %.0f us; iterator = %.2f %% of a step\n",
                    qint64(batch), iterUs, qint64(batches), stepUs, 100.0 * iterUs / stepUs);
    }
    return 0;
}
