// SPDX-License-Identifier: GPL-3.0-or-later
// Trainer on synthetic data: the loss goes down, a fixed seed reproduces the weights exactly,
// hooks, subsets, schedules, cancellation and errors.
#include "engine/spec_model.h"
#include "engine/trainer.h"
#include "engine/zoo.h"

#include <QTest>

#include <torch/torch.h>

#include <cmath>

using namespace jb;
using namespace jb::layers;

namespace {

/// Three Gaussian blobs drawn as 1x6x6 "images": class k has mean +1.5 in row-band k.
Dataset blobs(int64_t n, uint64_t seed)
{
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    Dataset d;
    d.name = QStringLiteral("blobs");
    d.numClasses = 3;
    d.targets = torch::randint(0, 3, {n}, gen, torch::kLong);
    d.inputs = torch::randn({n, 1, 6, 6}, gen);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t k = d.targets[i].item<int64_t>();
        d.inputs[i].narrow(1, 2 * k, 2).add_(1.5);
    }
    return d;
}

ArchSpec smallCnn()
{
    ArchSpec s;
    s.name = QStringLiteral("small");
    s.inputShape = {1, 6, 6};
    s.numClasses = 3;
    s.layers = {conv(4, 3, 1, 1), batchNorm(),  act(),    maxPool(2),
                flatten(),        dropout(0.1), linear(3)};
    return s;
}

std::unique_ptr<SpecModel> model(uint64_t seed = 1)
{
    QString error;
    auto m = SpecModel::create(smallCnn(), seed, &error);
    if (!m)
        qFatal("%s", qPrintable(error));
    return m;
}

class CountingFeedback : public Feedback
{
public:
    void setProgress(double fraction, const QString &) override
    {
        last = fraction;
        ++calls;
    }
    void log(const QString &m) override { lines << m; }
    double last = -1;
    int calls = 0;
    QStringList lines;
};

} // namespace

class TestTrainer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { at::set_num_threads(2); }

    void lossGoesDown()
    {
        const Dataset data = blobs(600, 1);
        auto m = model();
        m->setTraining(false);
        TrainOptions o;
        o.epochs = 4;
        o.batchSize = 32;
        o.learningRate = 0.01;
        Trainer t(o);
        CountingFeedback fb;
        QString error;
        const auto r = t.train(*m, data, &fb, &error);
        QVERIFY2(r, qPrintable(error));
        QCOMPARE(r->epochs.size(), size_t(4));
        QVERIFY2(
            r->epochs.back().loss < 0.5 * r->epochs.front().loss,
            qPrintable(
                QStringLiteral("%1 -> %2").arg(r->epochs.front().loss).arg(r->epochs.back().loss)));
        QVERIFY(r->epochs.back().accuracy > 0.9);
        QCOMPARE(r->samplesSeen, 4 * 600);
        QCOMPARE(r->steps, 4 * 19); // 600 / 32 -> 18 full batches + 1 of 24
        QCOMPARE(r->epochs[0].batches, 19);
        QCOMPARE(fb.last, 1.0);
        QCOMPARE(fb.lines.size(), 4);
        QVERIFY(fb.lines[0].startsWith(QStringLiteral("training: epoch 1/4 loss ")));
        QVERIFY(!m->isTraining()); // mode restored
    }

    void epochFiguresAreExact()
    {
        // Logits = inputs (identity weights, a learning rate too small to change them): the
        // epoch's accuracy and loss are known exactly.
        ArchSpec s;
        s.name = QStringLiteral("identity");
        s.inputShape = {4};
        s.numClasses = 4;
        s.layers = {linear(4, false)};
        QString error;
        auto m = SpecModel::create(s, &error);
        {
            torch::NoGradGuard g;
            m->namedParameters()[0].second.copy_(torch::eye(4));
        }
        Dataset d;
        d.name = QStringLiteral("rows");
        d.numClasses = 4;
        d.inputs = torch::eye(4).repeat({25, 1}) * 3;
        d.targets = torch::arange(100, torch::kLong).remainder(4);
        d.targets[7] = 0;
        d.targets[42] = 1;
        const double expectedLoss = torch::cross_entropy_loss(d.inputs, d.targets).item<double>();
        TrainOptions o;
        o.epochs = 1;
        o.batchSize = 16;
        o.optimizer = OptimizerKind::Sgd;
        o.momentum = 0;
        o.learningRate = 1e-12;
        const auto r = Trainer(o).train(*m, d, nullptr, &error);
        QVERIFY2(r, qPrintable(error));
        QCOMPARE(r->epochs[0].accuracy, 0.98);
        QVERIFY(std::abs(r->epochs[0].loss - expectedLoss) < 1e-6);
    }

    void fixedSeedReproducesWeights()
    {
        const Dataset data = blobs(300, 2);
        TrainOptions o;
        o.epochs = 2;
        o.batchSize = 16;
        o.optimizer = OptimizerKind::Sgd;
        o.learningRate = 0.05;
        o.nesterov = true;
        o.weightDecay = 1e-4;
        o.seed = 123;
        QString error;
        auto a = model(9), b = model(9), c = model(9);
        QVERIFY(Trainer(o).train(*a, data, nullptr, &error));
        QVERIFY(Trainer(o).train(*b, data, nullptr, &error));
        o.seed = 124; // other batch order and dropout masks
        QVERIFY(Trainer(o).train(*c, data, nullptr, &error));
        const NamedTensors sa = a->state(), sb = b->state(), sc = c->state();
        bool allEqual = true, anyDiffers = false;
        for (size_t i = 0; i < sa.size(); ++i) {
            allEqual = allEqual && torch::equal(sa[i].second, sb[i].second);
            anyDiffers = anyDiffers || !torch::equal(sa[i].second, sc[i].second);
        }
        QVERIFY(allEqual);
        QVERIFY(anyDiffers);
    }

    void hooksAndSubset()
    {
        const Dataset data = blobs(200, 3);
        auto m = model();
        TrainOptions o;
        o.epochs = 2;
        o.batchSize = 10;
        o.subset = {};
        for (int64_t i = 0; i < 200; i += 4)
            o.subset.push_back(i); // 50 rows
        int lossCalls = 0, stepCalls = 0;
        bool onlySubsetRows = true, logitsHaveGrad = true, noGradAfterStep = true;
        o.loss = [&](const BatchContext &ctx) {
            ++lossCalls;
            for (int64_t i = 0; i < ctx.indices.size(0); ++i)
                onlySubsetRows = onlySubsetRows && ctx.indices[i].item<int64_t>() % 4 == 0;
            logitsHaveGrad = logitsHaveGrad && ctx.logits.requires_grad();
            return torch::cross_entropy_loss(ctx.logits, ctx.targets) * 0.5;
        };
        // afterStep: enforce a "pruning mask" (zero one conv filter) after every step.
        o.afterStep = [&](const BatchContext &ctx) {
            ++stepCalls;
            noGradAfterStep = noGradAfterStep && !torch::GradMode::is_enabled();
            for (auto &[name, t] : ctx.model->namedParameters()) {
                if (name == "0.weight")
                    t[0].zero_();
            }
        };
        std::vector<EpochStats> seen;
        o.onEpoch = [&](const EpochStats &s) {
            seen.push_back(s);
            return true;
        };
        QString error;
        const auto r = Trainer(o).train(*m, data, nullptr, &error);
        QVERIFY2(r, qPrintable(error));
        QCOMPARE(lossCalls, 10);
        QCOMPARE(stepCalls, 10);
        QVERIFY(onlySubsetRows);
        QVERIFY(logitsHaveGrad);
        QVERIFY(noGradAfterStep);
        QCOMPARE(r->samplesSeen, 100);
        QCOMPARE(seen.size(), size_t(2));
        QCOMPARE(seen[1].epoch, 2);
        for (auto &[name, t] : m->namedParameters()) {
            if (name == "0.weight")
                QCOMPARE(t[0].abs().sum().item<double>(), 0.0);
        }
    }

    void epochSubsetAndEarlyStop()
    {
        const Dataset data = blobs(100, 4);
        auto m = model();
        TrainOptions o;
        o.epochs = 5;
        o.batchSize = 8;
        std::vector<int> asked;
        o.epochSubset = [&](int epoch) {
            asked.push_back(epoch);
            std::vector<int64_t> rows;
            for (int64_t i = 0; i < 20 + 10 * epoch; ++i)
                rows.push_back(i);
            return rows;
        };
        o.onEpoch = [](const EpochStats &s) { return s.epoch < 2; };
        QString error;
        const auto r = Trainer(o).train(*m, data, nullptr, &error);
        QVERIFY2(r, qPrintable(error));
        QVERIFY(r->stoppedEarly);
        QCOMPARE(asked, (std::vector<int>{0, 1}));
        QCOMPARE(r->epochs[0].samples, 20);
        QCOMPARE(r->epochs[1].samples, 30);
    }

    void cancellationIsCheckedEveryBatch()
    {
        const Dataset data = blobs(200, 5);
        auto m = model();
        Feedback fb;
        TrainOptions o;
        o.epochs = 3;
        o.batchSize = 10;
        o.afterStep = [&](const BatchContext &ctx) {
            if (ctx.step == 3)
                fb.cancel();
        };
        QString error;
        const auto r = Trainer(o).train(*m, data, &fb, &error);
        QVERIFY2(r, qPrintable(error));
        QVERIFY(r->canceled);
        QCOMPARE(r->steps, 4);
        QVERIFY(r->epochs.empty());
    }

    void learningRateSchedules()
    {
        TrainOptions o;
        o.epochs = 4;
        o.learningRate = 0.1;
        QCOMPARE(Trainer(o).learningRateAt(3), 0.1);
        o.schedule = LrSchedule::Step;
        o.stepEpochs = 2;
        o.stepGamma = 0.5;
        QCOMPARE(Trainer(o).learningRateAt(1), 0.1);
        QCOMPARE(Trainer(o).learningRateAt(2), 0.05);
        o.schedule = LrSchedule::Cosine;
        o.minLearningRate = 0.02;
        QCOMPARE(Trainer(o).learningRateAt(0), 0.1);
        QVERIFY(std::abs(Trainer(o).learningRateAt(2) - 0.06) < 1e-12);
        QVERIFY(Trainer(o).learningRateAt(3) > 0.02);

        // The schedule reaches the optimizer.
        const Dataset data = blobs(40, 6);
        auto m = model();
        o.batchSize = 20;
        QString error;
        const auto r = Trainer(o).train(*m, data, nullptr, &error);
        QVERIFY2(r, qPrintable(error));
        QCOMPARE(r->epochs[0].learningRate, 0.1);
        QVERIFY(std::abs(r->epochs[2].learningRate - 0.06) < 1e-12);
    }

    void errors()
    {
        const Dataset data = blobs(50, 7);
        auto m = model();
        QString error;
        TrainOptions o;
        o.epochs = 0;
        QVERIFY(!Trainer(o).train(*m, data, nullptr, &error));
        QVERIFY(error.contains(QStringLiteral("epochs must be >= 1")));
        o = {};
        o.optimizer = OptimizerKind::Sgd;
        o.nesterov = true;
        o.momentum = 0;
        QVERIFY(!Trainer(o).train(*m, data, nullptr, &error));
        QVERIFY(error.contains(QStringLiteral("nesterov needs momentum > 0")));
        o = {};
        o.subset = {3, 50};
        QVERIFY(!Trainer(o).train(*m, data, nullptr, &error));
        QVERIFY(error.contains(QStringLiteral("row 50 is outside the data set (50 rows)")));
        o = {};
        Dataset wrong = data;
        wrong.inputs = torch::zeros({50, 1, 5, 5});
        QVERIFY(!Trainer(o).train(*m, wrong, nullptr, &error));
        QVERIFY2(error.contains(QStringLiteral("expects samples [1, 6, 6], data set 'blobs' has "
                                               "[1, 5, 5]")),
                 qPrintable(error));
        o = {};
        o.optimizer = OptimizerKind::Sgd;
        o.learningRate = 1e30;
        o.momentum = 0;
        o.epochs = 2;
        QVERIFY(!Trainer(o).train(*m, data, nullptr, &error));
        QVERIFY2(error.contains(QStringLiteral("diverged")), qPrintable(error));
        o = {};
        o.loss = [](const BatchContext &) { return torch::zeros({3}); }; // not a scalar
        QVERIFY(!Trainer(o).train(*m, data, nullptr, &error));
        QVERIFY2(error.startsWith(QStringLiteral("training 'small' failed: ")), qPrintable(error));
        QVERIFY(!error.contains(QStringLiteral("Exception raised from"))); // no C++ backtrace
    }

    void everyZooModelTakesATrainingStep()
    {
        // Tiny CIFAR-shaped batch: every entry trains (forward, backward, step) without error.
        Dataset d;
        d.name = QStringLiteral("noise");
        d.numClasses = 10;
        d.inputs = torch::randn({8, 3, 32, 32});
        d.targets = torch::arange(8, torch::kLong);
        for (const QString &name : zooModelNames()) {
            ZooOptions zo;
            zo.inputShape = {3, 32, 32};
            zo.width = 0.25;
            QString error;
            const auto spec = zooSpec(name, zo, &error);
            QVERIFY2(spec, qPrintable(error));
            auto m = SpecModel::create(*spec, 1, &error);
            TrainOptions o;
            o.epochs = 1;
            o.batchSize = 4;
            const auto r = Trainer(o).train(*m, d, nullptr, &error);
            QVERIFY2(r, qPrintable(name + QStringLiteral(": ") + error));
            QCOMPARE(r->steps, 2);
        }
    }
};

QTEST_GUILESS_MAIN(TestTrainer)
#include "tst_trainer.moc"
