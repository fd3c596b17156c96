// SPDX-License-Identifier: GPL-3.0-or-later
// Evaluator against a hand-made example (top-1, top-5, loss, confusion, ECE) and the
// inference timer (percentiles, run).
#include "engine/evaluator.h"
#include "engine/inference_timer.h"
#include "engine/spec_model.h"

#include <QTest>

#include <torch/torch.h>

#include <cmath>

using namespace jb;
using namespace jb::layers;

class TestEvaluator : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { at::set_num_threads(2); }

    void handMadeExample()
    {
        // Logits = log(p), so softmax gives back p exactly (up to rounding).
        const torch::Tensor p = torch::tensor({{0.90, 0.05, 0.05},  // target 0: right, conf .90
                                               {0.62, 0.30, 0.08},  // target 1: wrong, conf .62
                                               {0.20, 0.70, 0.10},  // target 1: right, conf .70
                                               {0.10, 0.15, 0.75},  // target 0: wrong, conf .75
                                               {0.88, 0.10, 0.02}}, // target 1: wrong, conf .88
                                              torch::kDouble);
        const torch::Tensor targets = torch::tensor({0, 1, 1, 0, 1}, torch::kLong);
        const EvalResult r = Evaluator::fromLogits(p.log().to(torch::kFloat), targets);
        QCOMPARE(r.samples, 5);
        QCOMPARE(r.top1, 0.4);
        QVERIFY(!r.top5); // 3 classes: no top-5
        const double loss =
            -(std::log(0.90) + std::log(0.30) + std::log(0.70) + std::log(0.10) + std::log(0.10)) /
            5;
        QVERIFY(std::abs(r.loss - loss) < 1e-6);
        // Confusion [true][predicted].
        QCOMPARE(r.confusionAt(0, 0), 1);
        QCOMPARE(r.confusionAt(0, 2), 1);
        QCOMPARE(r.confusionAt(1, 0), 2);
        QCOMPARE(r.confusionAt(1, 1), 1);
        QCOMPARE(r.confusionAt(2, 2), 0);
        int64_t total = 0;
        for (int64_t c : r.confusion)
            total += c;
        QCOMPARE(total, 5);
        // 15 bins of width 1/15: .62 -> bin 9, .70 -> bin 10, .75 -> bin 11, .88 and .90 -> 13.
        QCOMPARE(r.calibration.size(), size_t(15));
        QCOMPARE(r.calibration[13].count, 2);
        QVERIFY(std::abs(r.calibration[13].meanConfidence - 0.89) < 1e-6);
        QCOMPARE(r.calibration[13].accuracy, 0.5);
        QCOMPARE(r.calibration[9].count, 1);
        QCOMPARE(r.calibration[9].accuracy, 0.0);
        QCOMPARE(r.calibration[0].count, 0);
        QVERIFY(std::abs(r.calibration[9].lower - 9.0 / 15) < 1e-12);
        // ECE = 2/5 |0.5 - 0.89| + 1/5 (|0 - .62| + |1 - .70| + |0 - .75|) = 2.45 / 5
        QVERIFY2(std::abs(r.ece - 0.49) < 1e-6, qPrintable(QString::number(r.ece)));
    }

    void topFive()
    {
        // 7 classes; logits rank class j by value. Target rank (0 = best): 0, 4, 5, 6.
        const torch::Tensor logits = torch::tensor({{7., 6., 5., 4., 3., 2., 1.},
                                                    {7., 6., 5., 4., 3., 2., 1.},
                                                    {7., 6., 5., 4., 3., 2., 1.},
                                                    {7., 6., 5., 4., 3., 2., 1.}});
        const torch::Tensor targets = torch::tensor({0, 4, 5, 6}, torch::kLong);
        const EvalResult r = Evaluator::fromLogits(logits, targets, 10);
        QCOMPARE(r.top1, 0.25);
        QVERIFY(r.top5);
        QCOMPARE(*r.top5, 0.5);
        QCOMPARE(r.calibration.size(), size_t(10));
    }

    void incrementalEqualsOneShot()
    {
        torch::manual_seed(3);
        const torch::Tensor logits = torch::randn({100, 10}) * 3;
        const torch::Tensor targets = torch::randint(0, 10, {100}, torch::kLong);
        const EvalResult whole = Evaluator::fromLogits(logits, targets);
        Evaluator e;
        e.reset(10);
        for (int64_t i = 0; i < 100; i += 30)
            e.add(logits.narrow(0, i, std::min<int64_t>(30, 100 - i)),
                  targets.narrow(0, i, std::min<int64_t>(30, 100 - i)));
        const EvalResult parts = e.result();
        QCOMPARE(parts.top1, whole.top1);
        QCOMPARE(*parts.top5, *whole.top5);
        QCOMPARE(parts.confusion, whole.confusion);
        QVERIFY(std::abs(parts.ece - whole.ece) < 1e-9);
        QVERIFY(std::abs(parts.loss - whole.loss) < 1e-9);
    }

    void evaluateModel()
    {
        // A linear model whose logits are the input itself: accuracy = fraction of rows whose
        // largest value sits at the target.
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
        m->setTraining(true);
        Dataset d;
        d.name = QStringLiteral("rows");
        d.numClasses = 4;
        d.inputs = torch::eye(4).repeat({25, 1}) * 5; // row i has its max at i % 4
        d.targets = torch::arange(100, torch::kLong).remainder(4);
        d.targets[0] = 1; // one wrong
        d.targets[5] = 3; // two wrong
        EvalOptions o;
        o.batchSize = 7;
        const auto r = Evaluator(o).evaluate(*m, d, nullptr, &error);
        QVERIFY2(r, qPrintable(error));
        QCOMPARE(r->samples, 100);
        QCOMPARE(r->top1, 0.98);
        QVERIFY(m->isTraining()); // restored
        QCOMPARE(r->confusionAt(1, 0), 1);

        o.subset = {0, 1, 2, 3};
        const auto sub = Evaluator(o).evaluate(*m, d, nullptr, &error);
        QVERIFY2(sub, qPrintable(error));
        QCOMPARE(sub->samples, 4);
        QCOMPARE(sub->top1, 0.75);

        Dataset wrongClasses = d;
        wrongClasses.numClasses = 5;
        QVERIFY(!Evaluator().evaluate(*m, wrongClasses, nullptr, &error));
        QVERIFY(error.contains(QStringLiteral("has 4 classes, data set 'rows' has 5")));
    }

    void percentiles()
    {
        const std::vector<double> v = {4, 1, 3, 2};
        QCOMPARE(InferenceTimer::percentile(v, 50), 2.5);
        QVERIFY(std::abs(InferenceTimer::percentile(v, 95) - 3.85) < 1e-12);
        QVERIFY(std::abs(InferenceTimer::percentile(v, 99) - 3.97) < 1e-12);
        QCOMPARE(InferenceTimer::percentile(v, 0), 1.0);
        QCOMPARE(InferenceTimer::percentile(v, 100), 4.0);
        QCOMPARE(InferenceTimer::percentile({}, 50), 0.0);
    }

    void timeInference()
    {
        ArchSpec s;
        s.name = QStringLiteral("mlp");
        s.inputShape = {1, 8, 8};
        s.numClasses = 3;
        s.layers = {flatten(), linear(32), act(), linear(3)};
        QString error;
        auto m = SpecModel::create(s, &error);
        m->setTraining(true);
        Dataset d;
        d.name = QStringLiteral("d");
        d.inputs = torch::randn({50, 1, 8, 8});
        d.targets = torch::zeros({50}, torch::kLong);
        InferenceOptions o;
        o.batchSize = 16;
        o.warmupBatches = 2;
        o.timedBatches = 20;
        const auto r = InferenceTimer(o).run(*m, &d, nullptr, &error);
        QVERIFY2(r, qPrintable(error));
        QCOMPARE(r->batches, 20);
        QCOMPARE(r->latenciesMs.size(), size_t(20));
        QVERIFY(r->minMs > 0);
        QVERIFY(r->minMs <= r->p50Ms && r->p50Ms <= r->p95Ms && r->p95Ms <= r->p99Ms &&
                r->p99Ms <= r->maxMs);
        QVERIFY(r->throughput > 0);
        QVERIFY(std::abs(r->throughput - 16 * 20 / r->totalSeconds) < 1e-6 * r->throughput);
        QVERIFY(m->isTraining());
        // No data: noise of the model's input shape.
        QVERIFY(InferenceTimer(o).run(*m, nullptr, nullptr, &error));
        // Cancelled before the first timed batch.
        Feedback fb;
        fb.cancel();
        const auto c = InferenceTimer(o).run(*m, &d, &fb, &error);
        QVERIFY(c && c->canceled && c->batches == 0);
    }
};

QTEST_GUILESS_MAIN(TestEvaluator)
#include "tst_evaluator.moc"
