// SPDX-License-Identifier: GPL-3.0-or-later
// Trains zoo models on Fashion-MNIST and prints what they reach: per-epoch training figures,
// test accuracy (top-1, top-5), loss, ECE, wall time, parameters, MACs and inference latency.
// The accuracy sanity check of the engine (docs/performance.md).
//
//   bench_zoo_train --model cnn-small --epochs 3
//   bench_zoo_train --all --epochs 1 --train-limit 5000      (every zoo model trains a bit)
#include "engine/datasets.h"
#include "engine/evaluator.h"
#include "engine/feedback.h"
#include "engine/inference_timer.h"
#include "engine/model_metrics.h"
#include "engine/spec_model.h"
#include "engine/trainer.h"
#include "engine/zoo.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>

#include <torch/torch.h>

#include <cstdio>

using namespace jb;

namespace {

class PrintingFeedback : public Feedback
{
public:
    void log(const QString &m) override { std::printf("  %s\n", qPrintable(m)); }
};

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Train zoo models on Fashion-MNIST"));
    parser.addHelpOption();
    auto opt = [&](const char *name, const char *help, const char *def) {
        QCommandLineOption o(QString::fromLatin1(name), QString::fromLatin1(help),
                             QStringLiteral("v"), QString::fromLatin1(def));
        parser.addOption(o);
        return o;
    };
    const auto modelOpt = opt("model", "zoo model", "cnn-small");
    const auto epochsOpt = opt("epochs", "epochs", "3");
    const auto batchOpt = opt("batch", "batch size", "64");
    const auto optimOpt = opt("optimizer", "adam or sgd", "adam");
    const auto lrOpt = opt("lr", "learning rate", "0.001");
    const auto momentumOpt = opt("momentum", "SGD momentum", "0.9");
    const auto scheduleOpt = opt("schedule", "constant, step or cosine", "constant");
    const auto wdOpt = opt("weight-decay", "weight decay", "0");
    const auto widthOpt = opt("width", "width multiplier", "1");
    const auto trainLimitOpt = opt("train-limit", "training images (-1 = all 60000)", "-1");
    const auto testLimitOpt = opt("test-limit", "test images (-1 = all 10000)", "-1");
    const auto threadsOpt = opt("threads", "intra-op threads", "2");
    const auto seedOpt = opt("seed", "seed", "1");
    const auto dataOpt = opt("data", "Fashion-MNIST folder (empty: default places)", "");
    const QCommandLineOption allOpt(QStringLiteral("all"), QStringLiteral("every zoo model"));
    parser.addOption(allOpt);
    parser.process(app);

    at::set_num_threads(parser.value(threadsOpt).toInt());
    DatasetConfig config;
    config.path = parser.value(dataOpt);
    config.validationFraction = 0;
    config.trainLimit = parser.value(trainLimitOpt).toLongLong();
    config.testLimit = parser.value(testLimitOpt).toLongLong();
    config.seed = parser.value(seedOpt).toULongLong();
    DatasetSplits splits;
    QString error;
    if (!loadDatasetSplits(config, &splits, &error)) {
        std::fprintf(stderr, "bench_zoo_train: %s\n", qPrintable(error));
        return 1;
    }
    std::printf("data: %s\n", qPrintable(splits.source));

    TrainOptions o;
    o.epochs = parser.value(epochsOpt).toInt();
    o.batchSize = parser.value(batchOpt).toLongLong();
    o.optimizer =
        parser.value(optimOpt) == QLatin1String("sgd") ? OptimizerKind::Sgd : OptimizerKind::Adam;
    o.learningRate = parser.value(lrOpt).toDouble();
    o.momentum = parser.value(momentumOpt).toDouble();
    o.weightDecay = parser.value(wdOpt).toDouble();
    const QString schedule = parser.value(scheduleOpt);
    o.schedule = schedule == QLatin1String("cosine") ? LrSchedule::Cosine
                 : schedule == QLatin1String("step") ? LrSchedule::Step
                                                     : LrSchedule::Constant;
    o.seed = parser.value(seedOpt).toULongLong();

    const QStringList models =
        parser.isSet(allOpt) ? zooModelNames() : QStringList{parser.value(modelOpt)};
    std::printf("%d threads, %d epochs, batch %lld, %s lr %g (%s), %s\n", at::get_num_threads(),
                o.epochs, static_cast<long long>(o.batchSize),
                o.optimizer == OptimizerKind::Sgd ? "SGD" : "Adam", o.learningRate,
                qPrintable(schedule),
                qPrintable(QDateTime::currentDateTime().toString(Qt::ISODate)));
    std::printf("\n%-16s %9s %11s %8s %8s %7s %8s %9s %10s\n", "model", "params", "MACs", "top-1",
                "top-5", "ECE", "train s", "eval s", "p50 ms/64");
    QStringList rows;
    for (const QString &name : models) {
        ZooOptions zo;
        zo.inputShape = splits.train.sampleShape();
        zo.numClasses = splits.train.numClasses;
        zo.width = parser.value(widthOpt).toDouble();
        const auto spec = zooSpec(name, zo, &error);
        if (!spec) {
            std::fprintf(stderr, "bench_zoo_train: %s\n", qPrintable(error));
            return 1;
        }
        auto model = SpecModel::create(*spec, o.seed, &error);
        if (!model) {
            std::fprintf(stderr, "bench_zoo_train: %s\n", qPrintable(error));
            return 1;
        }
        std::printf("%s:\n", qPrintable(name));
        PrintingFeedback fb;
        const auto trained = Trainer(o).train(*model, splits.train, &fb, &error);
        if (!trained) {
            std::fprintf(stderr, "bench_zoo_train: %s\n", qPrintable(error));
            return 1;
        }
        const auto eval = Evaluator().evaluate(*model, splits.test, nullptr, &error);
        const auto metrics = computeModelMetrics(*model, &error);
        InferenceOptions io;
        io.batchSize = 64;
        io.timedBatches = 30;
        const auto timing = InferenceTimer(io).run(*model, &splits.test, nullptr, &error);
        if (!eval || !metrics || !timing) {
            std::fprintf(stderr, "bench_zoo_train: %s\n", qPrintable(error));
            return 1;
        }
        const QString line = QString::asprintf(
            "%-16s %9lld %11lld %8.4f %8.4f %7.4f %8.1f %9.2f %10.2f", qPrintable(name),
            static_cast<long long>(metrics->parameters), static_cast<long long>(metrics->macs),
            eval->top1, eval->top5.value_or(0), eval->ece, trained->seconds, eval->seconds,
            timing->p50Ms);
        std::printf("%s\n", qPrintable(line));
        rows << line;
        std::fflush(stdout);
    }
    std::printf("\nsummary (%lld training images, %lld test images):\n",
                static_cast<long long>(splits.train.size()),
                static_cast<long long>(splits.test.size()));
    std::printf("%-16s %9s %11s %8s %8s %7s %8s %9s %10s\n", "model", "params", "MACs", "top-1",
                "top-5", "ECE", "train s", "eval s", "p50 ms/64");
    for (const QString &r : rows)
        std::printf("%s\n", qPrintable(r));
    return 0;
}
