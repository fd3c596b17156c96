// SPDX-License-Identifier: GPL-3.0-or-later
// bench_quant: what the quantization plugins buy at inference, measured side by side.
//
// Timing: for every configuration (model, batch size, intra-op threads, quantized engine) the
// fp32 model and its converted copy (through the real plugins and the registry) are timed in
// alternation, `--reps` rounds of ~0.15 s each; the table gives the median ms per batch and
// the ratio fp32 / converted (> 1: the converted model is faster).
// Accuracy (unless --skip-accuracy): cnn-small and mlp-wide trained briefly on a Fashion-MNIST
// subset, then fp32 vs dynamic int8 / static int8 / QAT int8 / bf16 top-1 on the test split.
//
//   bench_quant [--data <fashion-mnist folder>] [--reps 5] [--skip-accuracy] [--skip-timing]
#include "plugin_test_support.h"

#include "engine/backend.h"
#include "engine/datasets.h"
#include "engine/spec_model.h"
#include "engine/technique.h"
#include "engine/trainer.h"
#include "engine/zoo.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>

#include <torch/torch.h>

#include <algorithm>
#include <ctime>
#include <cstdio>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

std::unique_ptr<TechniqueRegistry> g_registry;

[[noreturn]] void die(const QString &message)
{
    std::fprintf(stderr, "bench_quant: %s\n", qPrintable(message));
    std::exit(1);
}

std::unique_ptr<Model> zooModel(const QString &name, std::vector<int64_t> shape)
{
    QString error;
    ZooOptions o;
    o.inputShape = std::move(shape);
    const auto spec = zooSpec(name, o, &error);
    if (!spec)
        die(error);
    auto m = SpecModel::create(*spec, 1, &error);
    if (!m)
        die(error);
    m->setTraining(false);
    return m;
}

Backend backendFor(int threads, const QString &engine)
{
    Backend b;
    b.threads = threads;
    b.quantizedEngine = engine;
    QString error;
    if (!applyBackend(b, &error))
        die(error);
    return b;
}

/// Converts a copy of `model` with the plugin `id`.
std::unique_ptr<Model> convert(const QString &id, const QJsonObject &params, const Model &model,
                               const Backend &backend, const DatasetSplits *data,
                               const TrainOptions &training = {})
{
    QString error;
    auto technique = g_registry->create(id, params, &error);
    if (!technique)
        die(error);
    TechniqueContext c;
    c.model = model.clone(&error);
    if (!c.model)
        die(error);
    c.data = data;
    c.backend = backend;
    c.training = training;
    c.seed = 1;
    if (!technique->checkSupported(*c.model, backend, &error) || !technique->apply(c, &error))
        die(id + u": "_s + error);
    c.model->setTraining(false);
    return std::move(c.model);
}

/// Wall ms per batch; *cpuShare = process CPU time / wall time (how many cores were busy).
double msPerBatch(Model &model, const torch::Tensor &x, int iters, double *cpuShare = nullptr)
{
    QElapsedTimer t;
    const std::clock_t c0 = std::clock();
    t.start();
    for (int i = 0; i < iters; ++i)
        model.forward(x);
    const double wall = double(t.nsecsElapsed()) / 1e9;
    if (cpuShare)
        *cpuShare = double(std::clock() - c0) / CLOCKS_PER_SEC / wall;
    return wall * 1e3 / iters;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct Pair
{
    double a = 0, b = 0;
    double cpuA = 0, cpuB = 0; ///< median CPU time / wall time
};

/// Alternates a and b, `reps` rounds; median ms per batch of each.
Pair timeInterleaved(Model &a, Model &b, const torch::Tensor &xa, const torch::Tensor &xb,
                     int reps)
{
    torch::NoGradGuard noGrad;
    msPerBatch(a, xa, 2);
    msPerBatch(b, xb, 2);
    const double once = std::max(msPerBatch(a, xa, 1), msPerBatch(b, xb, 1));
    const int iters = std::clamp(int(150.0 / std::max(once, 1e-3)), 2, 2000);
    std::vector<double> ta, tb, ca, cb;
    for (int r = 0; r < reps; ++r) {
        double share = 0;
        ta.push_back(msPerBatch(a, xa, iters, &share));
        ca.push_back(share);
        tb.push_back(msPerBatch(b, xb, iters, &share));
        cb.push_back(share);
    }
    return {median(ta), median(tb), median(ca), median(cb)};
}

void row(const QString &technique, const QString &model, int64_t batch, int threads,
         const QString &engine, const Pair &p)
{
    std::printf("| %s | %s | %lld | %d | %s | %.3f | %.3f | %.2fx | %.2f / %.2f |\n",
                qPrintable(technique), qPrintable(model), (long long)batch, threads,
                qPrintable(engine), p.a, p.b, p.a / p.b, p.cpuA, p.cpuB);
    std::fflush(stdout);
}

DatasetSplits randomSplits(std::vector<int64_t> shape, int64_t n)
{
    DatasetSplits s;
    shape.insert(shape.begin(), n);
    s.validation.name = u"random/validation"_s;
    s.validation.inputs = torch::randn(shape);
    s.validation.targets = torch::randint(10, {n}, torch::kLong);
    s.validation.numClasses = 10;
    return s;
}

void timing(int reps)
{
    const QStringList engines = {u"onednn"_s, u"qnnpack"_s};
    std::printf("\n## Inference time, fp32 vs converted (median ms per batch; ratio = fp32 / "
                "converted, > 1 is faster)\n\n");
    std::printf("| technique | model | batch | threads | engine | fp32 ms | converted ms | "
                "speed-up |\n|---|---|---|---|---|---|---|---|\n");
    // Dynamic int8 on the MLPs.
    for (const QString name : {u"mlp-wide"_s, u"mlp"_s}) {
        auto fp32 = zooModel(name, {1, 28, 28});
        for (const QString &engine : engines) {
            for (int threads : {1, 2}) {
                const Backend b = backendFor(threads, engine);
                auto int8 = convert(u"quant.dynamic_int8"_s, {}, *fp32, b, nullptr);
                for (int64_t batch : {1, 64, 256}) {
                    torch::manual_seed(1);
                    const torch::Tensor x = torch::randn({batch, 1, 28, 28});
                    row(u"dynamic int8"_s, name, batch, threads, engine,
                        timeInterleaved(*fp32, *int8, x, x, reps));
                }
            }
        }
    }
    // Static int8 on the CNNs (random weights and calibration data: timing only).
    for (const QString name : {u"vgg-cifar"_s, u"cnn-small"_s}) {
        const std::vector<int64_t> shape = name == u"vgg-cifar"_s ? std::vector<int64_t>{3, 32, 32}
                                                                   : std::vector<int64_t>{1, 28, 28};
        auto fp32 = zooModel(name, shape);
        const DatasetSplits data = randomSplits(shape, 256);
        std::vector<int64_t> xs = shape;
        xs.insert(xs.begin(), 64);
        torch::manual_seed(1);
        const torch::Tensor x = torch::randn(xs);
        for (const QString &engine : engines) {
            for (int threads : {1, 2}) {
                const Backend b = backendFor(threads, engine);
                auto int8 = convert(u"quant.static_int8"_s, {{u"calibration_batches"_s, 4}},
                                    *fp32, b, &data);
                row(u"static int8"_s, name, 64, threads, engine,
                    timeInterleaved(*fp32, *int8, x, x, reps));
            }
        }
    }
    // bf16 on the MLPs and a CNN.
    for (const QString name : {u"mlp-wide"_s, u"mlp"_s, u"cnn-small"_s}) {
        auto fp32 = zooModel(name, {1, 28, 28});
        for (int threads : {1, 2}) {
            const Backend b = backendFor(threads, QString());
            auto half = convert(u"quant.half"_s, {{u"dtype"_s, u"bf16"_s}}, *fp32, b, nullptr);
            for (int64_t batch : {1, 64}) {
                torch::manual_seed(1);
                const torch::Tensor x = torch::randn({batch, 1, 28, 28});
                row(u"bf16"_s, name, batch, threads, u"-"_s,
                    timeInterleaved(*fp32, *half, x, x.to(torch::kBFloat16), reps));
            }
        }
    }
}

double accuracy(Model &model, const Dataset &test)
{
    torch::NoGradGuard noGrad;
    model.setTraining(false);
    BatchIterator it(test, 256, false);
    torch::Tensor x, y;
    int64_t right = 0;
    while (it.next(&x, &y))
        right += model.forward(x.to(model.computeDtype())).argmax(1).eq(y).sum().item<int64_t>();
    return double(right) / double(test.size());
}

void accuracies(const QString &dataPath)
{
    DatasetConfig config;
    config.path = dataPath;
    config.trainLimit = 12000;
    config.validationFraction = 0.1;
    config.seed = 1;
    DatasetSplits data;
    QString error;
    if (!loadDatasetSplits(config, &data, &error))
        die(error);
    const Backend b = backendFor(2, u"onednn"_s);
    TrainOptions training;
    training.epochs = 2;
    training.batchSize = 64;
    training.seed = 1;
    std::printf("\n## Accuracy on Fashion-MNIST (%lld train / %lld validation / %lld test, 2 "
                "epochs Adam 1e-3, batch 64)\n\n| model | variant | top-1 | delta (points) "
                "|\n|---|---|---|---|\n",
                (long long)data.train.size(), (long long)data.validation.size(),
                (long long)data.test.size());
    auto print = [](const QString &model, const QString &variant, double acc, double base) {
        std::printf("| %s | %s | %.2f%% | %+.2f |\n", qPrintable(model), qPrintable(variant),
                    100 * acc, 100 * (acc - base));
        std::fflush(stdout);
    };
    for (const QString name : {u"cnn-small"_s, u"mlp-wide"_s}) {
        auto fp32 = zooModel(name, {1, 28, 28});
        Trainer trainer(training);
        if (!trainer.train(*fp32, data.train, nullptr, &error))
            die(error);
        const double base = accuracy(*fp32, data.test);
        print(name, u"fp32"_s, base, base);
        for (const QString engine : {u"onednn"_s, u"qnnpack"_s}) {
            const Backend be = backendFor(2, engine);
            auto dyn = convert(u"quant.dynamic_int8"_s, {}, *fp32, be, &data);
            print(name, u"dynamic int8 (%1)"_s.arg(engine), accuracy(*dyn, data.test), base);
            auto st = convert(u"quant.static_int8"_s, {}, *fp32, be, &data);
            print(name, u"static int8 (%1, 16x64 calibration samples)"_s.arg(engine),
                  accuracy(*st, data.test), base);
        }
        const Backend be = backendFor(2, u"onednn"_s);
        auto qat = convert(u"quant.qat"_s, {{u"epochs"_s, 1}}, *fp32, be, &data, training);
        print(name, u"QAT int8 (onednn, 1 epoch lr 1e-4)"_s, accuracy(*qat, data.test), base);
        auto bf16 = convert(u"quant.half"_s, {{u"dtype"_s, u"bf16"_s}}, *fp32, b, &data);
        print(name, u"bf16"_s, accuracy(*bf16, data.test), base);
    }
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption dataOpt(u"data"_s, u"Fashion-MNIST folder (empty: default places)"_s,
                                     u"dir"_s);
    const QCommandLineOption repsOpt(u"reps"_s, u"timing rounds per configuration"_s, u"n"_s,
                                     u"5"_s);
    const QCommandLineOption skipAcc(u"skip-accuracy"_s, u"timings only"_s);
    const QCommandLineOption skipTime(u"skip-timing"_s, u"accuracies only"_s);
    parser.addOptions({dataOpt, repsOpt, skipAcc, skipTime});
    parser.process(app);

    g_registry = test::scannedRegistry({QStringLiteral(JB_PLUGIN_DIR)});
    for (const QString id :
         {u"quant.dynamic_int8"_s, u"quant.static_int8"_s, u"quant.half"_s, u"quant.qat"_s}) {
        if (!g_registry->plugin(id))
            die(u"plugin %1 not found in %2 (build it first)"_s.arg(id, JB_PLUGIN_DIR));
    }
    const BackendInfo info = describeMachine();
    std::printf("# bench_quant\n\nmachine: %s, %d usable CPUs, libtorch %s, BLAS %s, engines %s\n",
                qPrintable(info.cpuModel), info.usableCpus, qPrintable(info.torchVersion),
                qPrintable(info.blas.kind + u" "_s + info.blas.library),
                qPrintable(info.quantizedEngines.join(u", "_s)));
    if (!parser.isSet(skipTime))
        timing(parser.value(repsOpt).toInt());
    if (!parser.isSet(skipAcc))
        accuracies(parser.value(dataOpt));
    return 0;
}
