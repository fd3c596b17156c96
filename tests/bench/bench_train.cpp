// SPDX-License-Identifier: GPL-3.0-or-later
// Training throughput of the engine (zoo LeNet-5 through jb::Trainer) against
//   A) a bare libtorch loop: torch::nn::Sequential of the same layers, same optimizer, same
//      in-memory tensors, same process;
//   B) Python PyTorch (Debian's python3-torch) running bench_train_pytorch.py, same threads.
// One epoch of Fashion-MNIST (60,000 images), batch 64, Adam lr 1e-3. The three run
// interleaved, one epoch each per round (engine, bare, python, engine, bare, python, ...);
// medians are reported. Targets: engine/bare >= 0.97, engine/python >= 1.0.
//
//   bench_train [--threads 2] [--rounds 3] [--limit BATCHES] [--no-python]
#include "engine/datasets.h"
#include "engine/spec_model.h"
#include "engine/trainer.h"
#include "engine/zoo.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSysInfo>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

using namespace jb;

namespace {

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double now()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// The bare loop: what a libtorch user writes by hand.
struct BareLoop
{
    torch::nn::Sequential net{torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 6, 5).padding(2)),
                              torch::nn::ReLU(),
                              torch::nn::MaxPool2d(2),
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(6, 16, 5)),
                              torch::nn::ReLU(),
                              torch::nn::MaxPool2d(2),
                              torch::nn::Flatten(),
                              torch::nn::Linear(400, 120),
                              torch::nn::ReLU(),
                              torch::nn::Linear(120, 84),
                              torch::nn::ReLU(),
                              torch::nn::Linear(84, 10)};
    torch::optim::Adam opt{net->parameters(), torch::optim::AdamOptions(1e-3)};
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);

    /// One epoch (or `limit` batches); returns samples trained.
    int64_t epoch(const Dataset &d, int64_t batch, int64_t limit)
    {
        net->train();
        const int64_t n = d.size();
        const torch::Tensor order = torch::randperm(n, gen, torch::kLong);
        int64_t batches = (n + batch - 1) / batch;
        if (limit > 0)
            batches = std::min(batches, limit);
        double total = 0;
        int64_t seen = 0;
        for (int64_t b = 0; b < batches; ++b) {
            const torch::Tensor idx = order.narrow(0, b * batch, std::min(batch, n - b * batch));
            const torch::Tensor x = d.inputs.index_select(0, idx);
            const torch::Tensor y = d.targets.index_select(0, idx);
            const torch::Tensor loss = torch::cross_entropy_loss(net->forward(x), y);
            opt.zero_grad();
            loss.backward();
            opt.step();
            total += loss.item<double>() * static_cast<double>(idx.size(0));
            seen += idx.size(0);
        }
        lastLoss = total / static_cast<double>(seen);
        return seen;
    }
    double lastLoss = 0;
};

/// Runs one Python repetition; returns samples/s or a negative value with *error.
double runPython(const QString &python, const QString &script, int threads, int64_t limit,
                 QString *error)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    p.start(python, {script, QStringLiteral("--threads"), QString::number(threads),
                     QStringLiteral("--reps"), QStringLiteral("1"), QStringLiteral("--limit"),
                     QString::number(limit)});
    if (!p.waitForFinished(30 * 60 * 1000) || p.exitCode() != 0) {
        *error = QStringLiteral("%1 %2 failed (exit %3): %4")
                     .arg(python, script)
                     .arg(p.exitCode())
                     .arg(p.errorString());
        return -1;
    }
    const QList<QByteArray> lines = p.readAllStandardOutput().trimmed().split('\n');
    const QJsonObject o = QJsonDocument::fromJson(lines.last()).object();
    if (!o.contains(QStringLiteral("samples_per_s"))) {
        *error = QStringLiteral("unexpected output of %1: %2")
                     .arg(script, QString::fromUtf8(lines.last()));
        return -1;
    }
    return o.value(QStringLiteral("samples_per_s")).toDouble();
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Training throughput: engine vs bare libtorch vs PyTorch"));
    parser.addHelpOption();
    const QCommandLineOption threadsOpt(QStringLiteral("threads"),
                                        QStringLiteral("intra-op threads"), QStringLiteral("n"),
                                        QStringLiteral("2"));
    const QCommandLineOption roundsOpt(QStringLiteral("rounds"),
                                       QStringLiteral("interleaved rounds"), QStringLiteral("n"),
                                       QStringLiteral("3"));
    const QCommandLineOption limitOpt(QStringLiteral("limit"),
                                      QStringLiteral("batches per epoch (0 = the full epoch)"),
                                      QStringLiteral("n"), QStringLiteral("0"));
    const QCommandLineOption dataOpt(QStringLiteral("data"), QStringLiteral("Fashion-MNIST folder"),
                                     QStringLiteral("dir"));
    const QCommandLineOption pythonOpt(QStringLiteral("python"),
                                       QStringLiteral("python3 with torch"), QStringLiteral("exe"),
                                       QStringLiteral("/usr/bin/python3"));
    const QCommandLineOption noPythonOpt(QStringLiteral("no-python"),
                                         QStringLiteral("skip PyTorch"));
    parser.addOptions({threadsOpt, roundsOpt, limitOpt, dataOpt, pythonOpt, noPythonOpt});
    parser.process(app);
    const int threads = parser.value(threadsOpt).toInt();
    const int rounds = std::max(1, parser.value(roundsOpt).toInt());
    const int64_t limit = parser.value(limitOpt).toLongLong();
    const int64_t batch = 64;
    const QString script = QStringLiteral(JB_SOURCE_DIR "/tests/bench/bench_train_pytorch.py");
    const bool withPython = !parser.isSet(noPythonOpt);

    at::set_num_threads(threads);
    DatasetConfig config;
    config.validationFraction = 0;
    config.path = parser.value(dataOpt);
    DatasetSplits splits;
    QString error;
    if (!loadDatasetSplits(config, &splits, &error)) {
        std::fprintf(stderr, "bench_train: %s\n", qPrintable(error));
        return 1;
    }
    const Dataset &train = splits.train;

    ZooOptions zo; // 1x28x28, 10 classes
    const auto spec = zooSpec(QStringLiteral("lenet5"), zo, &error);
    torch::manual_seed(1);
    auto model = SpecModel::create(*spec, &error);
    TrainOptions o; // Adam, lr 1e-3
    o.epochs = 1;
    o.batchSize = batch;
    if (limit > 0)
        for (int64_t i = 0; i < std::min<int64_t>(train.size(), limit * batch); ++i)
            o.subset.push_back(i);
    torch::manual_seed(1);
    BareLoop bare;

    // Warm-up (allocator, lazy init): 50 batches each.
    {
        TrainOptions w = o;
        w.subset.clear();
        for (int64_t i = 0; i < 50 * batch; ++i)
            w.subset.push_back(i);
        Trainer(w).train(*model, train, nullptr, &error);
        bare.epoch(train, batch, 50);
    }

    std::printf("bench_train: LeNet-5, Fashion-MNIST train (%lld images), batch %lld, Adam, "
                "%d intra-op threads, %d interleaved rounds, %s\n",
                static_cast<long long>(limit > 0 ? std::min<int64_t>(train.size(), limit * batch)
                                                 : train.size()),
                static_cast<long long>(batch), at::get_num_threads(), rounds,
                qPrintable(QSysInfo::prettyProductName()));
    std::printf("%-6s %14s %14s %14s\n", "round", "engine [1/s]", "bare [1/s]", "pytorch [1/s]");
    std::vector<double> eng, bar, py, rBare, rPy;
    for (int r = 0; r < rounds; ++r) {
        o.seed = static_cast<uint64_t>(r + 1);
        double t0 = now();
        const auto res = Trainer(o).train(*model, train, nullptr, &error);
        const double engSeconds = now() - t0;
        if (!res) {
            std::fprintf(stderr, "bench_train: %s\n", qPrintable(error));
            return 1;
        }
        eng.push_back(static_cast<double>(res->samplesSeen) / engSeconds);

        t0 = now();
        const int64_t seen = bare.epoch(train, batch, limit);
        bar.push_back(static_cast<double>(seen) / (now() - t0));
        rBare.push_back(eng.back() / bar.back());

        double pyRate = 0;
        if (withPython) {
            pyRate = runPython(parser.value(pythonOpt), script, threads, limit, &error);
            if (pyRate < 0) {
                std::fprintf(stderr, "bench_train: %s\n", qPrintable(error));
                return 1;
            }
            py.push_back(pyRate);
            rPy.push_back(eng.back() / pyRate);
        }
        std::printf("%-6d %14.0f %14.0f %14.0f\n", r + 1, eng.back(), bar.back(), pyRate);
        std::fflush(stdout);
    }
    std::printf("median %14.0f %14.0f %14.0f\n", median(eng), median(bar), median(py));
    std::printf("engine / bare libtorch: %.3f (median of per-round ratios %.3f), target >= 0.97\n",
                median(eng) / median(bar), median(rBare));
    if (withPython)
        std::printf("engine / PyTorch %s: %.3f (median of per-round ratios %.3f), target >= 1.0\n",
                    "(python3-torch)", median(eng) / median(py), median(rPy));
    std::printf("date %s\n", qPrintable(QDateTime::currentDateTime().toString(Qt::ISODate)));
    return 0;
}
