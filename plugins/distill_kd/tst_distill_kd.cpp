// SPDX-License-Identifier: GPL-3.0-or-later
// distill.kd: the loss against a hand-computed example, parameter errors, and the plugin through
// the registry on a small synthetic data set (student replaces teacher, teacher forwards counted
// by a wrapping model, the no-teacher student is the same student trained on labels), then a
// whole plan through joulebench-cli on a Fashion-MNIST subset.
#include "kd_loss.h"
#include "technique_test_support.h"

#include "engine/evaluator.h"
#include "engine/torchscript_model.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

#include <cmath>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"distill.kd"_s;

/// What the teacher saw: forward calls, and whether any ran in training mode or with grad.
struct TeacherCalls
{
    int forwards = 0;
    int64_t samples = 0;
    bool inTrainingMode = false;
    bool withGrad = false;
};

/// A teacher that counts its forward passes (into a struct the test keeps: the technique drops
/// the teacher once the student replaces it). `hideSpec` makes it look like a TorchScript model.
class CountingTeacher final : public Model
{
public:
    CountingTeacher(std::unique_ptr<Model> inner, TeacherCalls *calls, bool hideSpec = false)
        : m_inner(std::move(inner)), m_calls(calls), m_hideSpec(hideSpec)
    {
    }
    Kind kind() const override { return m_hideSpec ? Kind::TorchScript : m_inner->kind(); }
    QString name() const override { return m_inner->name(); }
    QString source() const override
    {
        return m_hideSpec ? u"torchscript:test"_s : m_inner->source();
    }
    std::vector<int64_t> inputShape() const override { return m_inner->inputShape(); }
    int64_t numClasses() const override { return m_inner->numClasses(); }
    torch::Tensor forward(const torch::Tensor &batch) override
    {
        ++m_calls->forwards;
        m_calls->samples += batch.size(0);
        m_calls->inTrainingMode = m_calls->inTrainingMode || m_inner->isTraining();
        m_calls->withGrad = m_calls->withGrad || torch::GradMode::is_enabled();
        return m_inner->forward(batch);
    }
    std::vector<torch::Tensor> parameters() const override { return m_inner->parameters(); }
    NamedTensors namedParameters() const override { return m_inner->namedParameters(); }
    NamedTensors namedBuffers() const override { return m_inner->namedBuffers(); }
    void setTraining(bool on) override { m_inner->setTraining(on); }
    bool isTraining() const override { return m_inner->isTraining(); }
    void to(const torch::Device &device) override { m_inner->to(device); }
    void setComputeDtype(torch::ScalarType dtype) override { m_inner->setComputeDtype(dtype); }
    std::unique_ptr<Model> clone(QString *error) const override { return m_inner->clone(error); }
    const ArchSpec *spec() const override { return m_hideSpec ? nullptr : m_inner->spec(); }

private:
    std::unique_ptr<Model> m_inner;
    TeacherCalls *m_calls;
    bool m_hideSpec;
};

/// softmax(v / t)[k], written out.
std::vector<double> softmax(const std::vector<double> &v, double t)
{
    double z = 0;
    for (double x : v)
        z += std::exp(x / t);
    std::vector<double> p;
    for (double x : v)
        p.push_back(std::exp(x / t) / z);
    return p;
}

} // namespace

class TestDistillKd : public QObject
{
    Q_OBJECT

private:
    test::PluginUnderTest m_plugin;
    QTemporaryDir m_scratch; // the CLI test's plan and database
    // 256 training samples at batch 64: 4 batches per epoch.
    DatasetSplits m_data = test::syntheticSplits(256);

    TechniqueContext context(TeacherCalls *calls, Feedback *feedback, test::Recorded *rec,
                             bool hideSpec = false)
    {
        return test::recordingContext(
            std::make_unique<CountingTeacher>(test::zooModel(u"mlp"_s), calls, hideSpec), &m_data,
            feedback, rec);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QString error;
        QVERIFY2(m_plugin.load(QStringLiteral(JB_PLUGIN_FILE), kId, &error), qPrintable(error));
        QVERIFY(m_scratch.isValid());
        const auto info = m_plugin.info();
        QVERIFY(info);
        QCOMPARE(info->metadata.family, u"distillation"_s);
        const QJsonObject d = info->metadata.parameters.defaults();
        QCOMPARE(d.value(u"temperature"_s).toDouble(), 4.0);
        QCOMPARE(d.value(u"alpha"_s).toDouble(), 0.9);
        QCOMPARE(d.value(u"use_teacher"_s).toBool(), true);
        QCOMPARE(d.value(u"train_control"_s).toBool(), false);
    }

    // 2 samples x 3 classes, T = 2, alpha = 0.7, worked out term by term.
    void lossMatchesAHandComputedExample()
    {
        const std::vector<std::vector<double>> s{{1, 2, 3}, {1, 0, -1}};
        const std::vector<std::vector<double>> t{{3, 1, 0}, {0, 0, 2}};
        const int64_t labels[] = {2, 0};
        const double T = 2.0, alpha = 0.7;
        double kl = 0, ce = 0;
        for (int i = 0; i < 2; ++i) {
            const std::vector<double> ps = softmax(s[i], T), pt = softmax(t[i], T);
            for (int k = 0; k < 3; ++k)
                kl += pt[k] * (std::log(pt[k]) - std::log(ps[k]));
            ce += -std::log(softmax(s[i], 1.0)[labels[i]]);
        }
        kl /= 2; // batchmean
        ce /= 2;
        const double expected = alpha * T * T * kl + (1 - alpha) * ce;
        // The same figure from an independent calculation (Python, math module).
        QVERIFY(std::abs(kl - 0.4527417936176147) < 1e-12);
        QVERIFY(std::abs(ce - 0.40760596444438046) < 1e-12);
        QVERIFY(std::abs(expected - 1.3899588114626351) < 1e-12);

        const torch::Tensor student = torch::tensor({1.0f, 2.0f, 3.0f, 1.0f, 0.0f, -1.0f})
                                          .reshape({2, 3})
                                          .set_requires_grad(true);
        const torch::Tensor teacher =
            torch::tensor({3.0f, 1.0f, 0.0f, 0.0f, 0.0f, 2.0f}).reshape({2, 3});
        const torch::Tensor targets = torch::tensor({labels[0], labels[1]});
        const torch::Tensor loss =
            plugins::kd::distillationLoss(student, teacher, targets, T, alpha);
        QCOMPARE(loss.dim(), 0);
        QVERIFY2(std::abs(loss.item<double>() - expected) < 1e-5,
                 qPrintable(u"%1 vs %2"_s.arg(loss.item<double>()).arg(expected)));
        QVERIFY(std::abs(plugins::kd::softTargetLoss(student, teacher, T).item<double>() - kl) <
                1e-6);

        // alpha 0: plain cross-entropy; identical logits: no soft loss.
        QVERIFY(
            std::abs(
                plugins::kd::distillationLoss(student, teacher, targets, T, 0.0).item<double>() -
                ce) < 1e-6);
        QVERIFY(std::abs(plugins::kd::softTargetLoss(student, student, T).item<double>()) < 1e-7);

        // alpha 1: d loss / d s = T^2 x (1/T) x (p_s - p_t) / N = T (p_s - p_t) / N; the teacher
        // gets no gradient.
        const torch::Tensor teacherWithGrad = teacher.clone().set_requires_grad(true);
        plugins::kd::distillationLoss(student, teacherWithGrad, targets, T, 1.0).backward();
        QVERIFY(!teacherWithGrad.grad().defined());
        for (int i = 0; i < 2; ++i) {
            const std::vector<double> ps = softmax(s[i], T), pt = softmax(t[i], T);
            for (int k = 0; k < 3; ++k)
                QVERIFY(std::abs(student.grad()[i][k].item<double>() - T * (ps[k] - pt[k]) / 2.0) <
                        1e-6);
        }
    }

    void paramsAreChecked()
    {
        QString error;
        QVERIFY(!m_plugin.create({{u"temperature"_s, 0.0}}, &error));
        QVERIFY2(error.contains(u"params.temperature"_s), qPrintable(error));
        QVERIFY(!m_plugin.create({{u"alpha"_s, 1.5}}, &error));
        QVERIFY2(error.contains(u"params.alpha"_s), qPrintable(error));
        QVERIFY(!m_plugin.create({{u"student_width"_s, 0.0}}, &error));
        QVERIFY2(error.contains(u"params.student_width"_s), qPrintable(error));
        QVERIFY(!m_plugin.create({{u"epochs"_s, -1}}, &error));
        QVERIFY2(error.contains(u"params.epochs"_s), qPrintable(error));
        QVERIFY(!m_plugin.create({{u"student_zoo"_s, u"resnet99"_s}}, &error));
        QVERIFY2(error.contains(u"student_zoo: unknown zoo model 'resnet99'"_s) &&
                     error.contains(u"lenet5"_s),
                 qPrintable(error));
        QVERIFY(!m_plugin.create({{u"use_teacher"_s, false}, {u"train_control"_s, true}}, &error));
        QVERIFY2(error.contains(u"train_control"_s) && error.contains(u"use_teacher"_s),
                 qPrintable(error));
    }

    void studentReplacesTheTeacher()
    {
        auto technique = m_plugin.create({{u"student_width"_s, 0.25}});
        QVERIFY(technique);
        TeacherCalls calls;
        Feedback feedback;
        test::Recorded rec;
        TechniqueContext c = context(&calls, &feedback, &rec);
        const int64_t teacherParams = parameterCount(*c.model);
        QString error;
        QVERIFY2(technique->checkSupported(*c.model, c.backend, &error), qPrintable(error));
        QVERIFY2(technique->apply(c, &error), qPrintable(error));

        QCOMPARE(c.model->name(), u"mlp-x0.25"_s); // the teacher's zoo entry, at width 0.25
        const int64_t studentParams = parameterCount(*c.model);
        QVERIFY(studentParams < teacherParams / 3);
        QCOMPARE(rec.phases, QStringList{u"prepare:distill"_s});
        // One teacher forward per training batch (1 epoch x 4 batches), in eval mode, no grad.
        QCOMPARE(calls.forwards, 4);
        QCOMPARE(calls.samples, int64_t(256));
        QVERIFY(!calls.inTrainingMode);
        QVERIFY(!calls.withGrad);
        QCOMPARE(rec.metrics.at(u"teacher_forwards"_s), 4.0);
        QCOMPARE(rec.metrics.at(u"teacher_forward_samples"_s), 256.0);
        QCOMPARE(rec.metrics.at(u"teacher_params"_s), double(teacherParams));
        QCOMPARE(rec.metrics.at(u"student_params"_s), double(studentParams));
        QCOMPARE(rec.metrics.at(u"compression_ratio"_s),
                 double(teacherParams) / double(studentParams));
        QVERIFY(!rec.metrics.count(u"kd_val_accuracy"_s));
        // The training log, then the summary.
        QCOMPARE(rec.logs.size(), 2);
        QCOMPARE(rec.logs.first().second.value(u"epochs"_s).toInt(), 1);
        QVERIFY(rec.logs.last().first.contains(u"replaces teacher mlp"_s));

        // The student is a working model of the teacher's shape.
        const torch::Tensor out = c.model->forward(m_data.test.inputs.narrow(0, 0, 5));
        QCOMPARE(out.size(0), 5);
        QCOMPARE(out.size(1), 10);
    }

    // use_teacher false: no teacher forward at all, and the same student (initialisation and
    // batch order) as the distilled one: with alpha 0 the distillation loss is the plain
    // cross-entropy, so both must end with the same weights.
    void withoutTeacherIsTheSameStudentOnLabels()
    {
        QString error;
        TeacherCalls noCalls;
        test::Recorded noRec;
        TechniqueContext no = context(&noCalls, nullptr, &noRec);
        auto withoutTeacher =
            m_plugin.create({{u"student_width"_s, 0.25}, {u"use_teacher"_s, false}});
        QVERIFY(withoutTeacher);
        QVERIFY2(withoutTeacher->apply(no, &error), qPrintable(error));
        QCOMPARE(noCalls.forwards, 0);
        QCOMPARE(noRec.metrics.at(u"teacher_forwards"_s), 0.0);
        QCOMPARE(noRec.phases, QStringList{u"prepare:student"_s});
        QCOMPARE(no.model->name(), u"mlp-x0.25"_s);

        TeacherCalls kdCalls;
        test::Recorded kdRec;
        TechniqueContext kd = context(&kdCalls, nullptr, &kdRec);
        auto alphaZero = m_plugin.create({{u"student_width"_s, 0.25}, {u"alpha"_s, 0.0}});
        QVERIFY(alphaZero);
        QVERIFY2(alphaZero->apply(kd, &error), qPrintable(error));
        QCOMPARE(kdCalls.forwards, 4);
        const NamedTensors a = no.model->namedParameters();
        const NamedTensors b = kd.model->namedParameters();
        QCOMPARE(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i)
            QVERIFY2(torch::allclose(a[i].second, b[i].second, 1e-5, 1e-6), a[i].first.c_str());

        // With the teacher's soft targets (alpha 0.9) the student ends elsewhere.
        TeacherCalls calls;
        test::Recorded rec;
        TechniqueContext soft = context(&calls, nullptr, &rec);
        auto distill = m_plugin.create({{u"student_width"_s, 0.25}});
        QVERIFY2(distill->apply(soft, &error), qPrintable(error));
        QVERIFY(!torch::allclose(a[0].second, soft.model->namedParameters()[0].second, 1e-5, 1e-6));
    }

    // teacher_outputs cached: one teacher pass over the training split, whatever the epochs, and
    // the same student as with a teacher forward on every batch (eval mode is deterministic).
    void cachedTeacherOutputsRunTheTeacherOnce()
    {
        QString error;
        TeacherCalls perBatchCalls;
        test::Recorded perBatchRec;
        TechniqueContext perBatch = context(&perBatchCalls, nullptr, &perBatchRec);
        auto a = m_plugin.create({{u"student_width"_s, 0.25}, {u"epochs"_s, 2}});
        QVERIFY2(a->apply(perBatch, &error), qPrintable(error));
        QCOMPARE(perBatchCalls.forwards, 8); // 2 epochs x 4 batches

        TeacherCalls calls;
        test::Recorded rec;
        TechniqueContext c = context(&calls, nullptr, &rec);
        auto b = m_plugin.create(
            {{u"student_width"_s, 0.25}, {u"epochs"_s, 2}, {u"teacher_outputs"_s, u"cached"_s}});
        QVERIFY2(b->apply(c, &error), qPrintable(error));
        QCOMPARE(calls.forwards, 4); // once over the 256 rows, in batches of 64
        QCOMPARE(calls.samples, int64_t(256));
        QVERIFY(!calls.inTrainingMode);
        QVERIFY(!calls.withGrad);
        QCOMPARE(rec.metrics.at(u"teacher_forwards"_s), 4.0);
        QCOMPARE(rec.phases, (QStringList{u"prepare:teacher"_s, u"prepare:distill"_s}));
        const NamedTensors x = perBatch.model->namedParameters();
        const NamedTensors y = c.model->namedParameters();
        for (size_t i = 0; i < x.size(); ++i)
            QVERIFY2(torch::allclose(x[i].second, y[i].second, 1e-4, 1e-5), x[i].first.c_str());
    }

    void trainControlRecordsBothValidationAccuracies()
    {
        const QJsonObject params{{u"student_width"_s, 0.25}, {u"train_control"_s, true}};
        TeacherCalls calls;
        test::Recorded rec;
        TechniqueContext c = context(&calls, nullptr, &rec);
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        QCOMPARE(rec.phases, (QStringList{u"prepare:distill"_s, u"prepare:control"_s}));
        QCOMPARE(calls.forwards, 4); // the control student never asks the teacher
        QCOMPARE(c.model->name(), u"mlp-x0.25"_s);

        // Both figures are validation accuracies: the distilled student's is that of the model
        // handed back, the control's that of the use_teacher=false student.
        Evaluator evaluator;
        const auto kdEval = evaluator.evaluate(*c.model, m_data.validation, nullptr, &error);
        QVERIFY2(kdEval, qPrintable(error));
        QCOMPARE(rec.metrics.at(u"kd_val_accuracy"_s), kdEval->top1);
        QCOMPARE(rec.metrics.at(u"kd_val_loss"_s), kdEval->loss);

        TeacherCalls noCalls;
        test::Recorded noRec;
        TechniqueContext no = context(&noCalls, nullptr, &noRec);
        auto withoutTeacher =
            m_plugin.create({{u"student_width"_s, 0.25}, {u"use_teacher"_s, false}});
        QVERIFY2(withoutTeacher->apply(no, &error), qPrintable(error));
        const auto noEval = evaluator.evaluate(*no.model, m_data.validation, nullptr, &error);
        QVERIFY2(noEval, qPrintable(error));
        QCOMPARE(rec.metrics.at(u"control_val_accuracy"_s), noEval->top1);
        QCOMPARE(rec.metrics.at(u"control_val_loss"_s), noEval->loss);
        QVERIFY(rec.metrics.at(u"control_val_loss"_s) != rec.metrics.at(u"kd_val_loss"_s));
        QVERIFY(rec.logs.last().first.contains(u"validation accuracy with KD"_s));
    }

    void teacherWithoutSpecNeedsStudentZoo()
    {
        TeacherCalls calls;
        test::Recorded rec;
        TechniqueContext c = context(&calls, nullptr, &rec, /*hideSpec=*/true);
        QString error;
        auto byDefault = m_plugin.create({});
        QVERIFY(!byDefault->checkSupported(*c.model, c.backend, &error));
        QVERIFY2(error.contains(u"student_zoo"_s) && error.contains(u"torchscript:test"_s),
                 qPrintable(error));
        auto named = m_plugin.create({{u"student_zoo"_s, u"mlp"_s}, {u"student_width"_s, 0.25}});
        QVERIFY2(named->checkSupported(*c.model, c.backend, &error), qPrintable(error));
        QVERIFY2(named->apply(c, &error), qPrintable(error));
        QCOMPARE(calls.forwards, 4);
        QCOMPARE(c.model->name(), u"mlp-x0.25"_s);

        // A student that does not fit the teacher's input (flat samples, a conv net).
        auto conv = m_plugin.create({{u"student_zoo"_s, u"lenet5"_s}});
        const auto flat = test::zooModel(u"mlp"_s, 1, {20});
        QVERIFY(flat);
        QVERIFY(!conv->checkSupported(*flat, c.backend, &error));
        QVERIFY2(error.contains(u"student_zoo"_s) && error.contains(u"image input"_s),
                 qPrintable(error));
    }

    // A real TorchScript teacher (tests/data/tiny_cnn.pt: 1x8x8 inputs, 3 classes): only its
    // forward is used; the student comes from the zoo with the teacher's shape and classes.
    void torchScriptTeacherWorks()
    {
        QString error;
        std::unique_ptr<Model> teacher = TorchScriptModel::load(
            QStringLiteral(JB_TEST_DATA_DIR) + u"/tiny_cnn.pt"_s, {1, 8, 8}, 3, &error);
        QVERIFY2(teacher, qPrintable(error));
        DatasetSplits data = test::syntheticSplits(128, {1, 8, 8});
        for (Dataset *d : {&data.train, &data.validation, &data.test}) {
            d->targets = d->targets.remainder(3);
            d->numClasses = 3;
        }
        test::Recorded rec;
        TechniqueContext c = test::recordingContext(std::move(teacher), &data, nullptr, &rec);
        auto technique =
            m_plugin.create({{u"student_zoo"_s, u"mlp"_s}, {u"student_width"_s, 0.25}});
        QVERIFY(technique);
        QVERIFY2(technique->checkSupported(*c.model, c.backend, &error), qPrintable(error));
        QVERIFY2(technique->apply(c, &error), qPrintable(error));
        QCOMPARE(c.model->kind(), Model::Kind::Spec);
        QCOMPARE(c.model->name(), u"mlp-x0.25"_s);
        QCOMPARE(c.model->numClasses(), int64_t(3));
        QCOMPARE(rec.metrics.at(u"teacher_forwards"_s), 2.0); // 128 rows, batches of 64
        QCOMPARE(rec.metrics.at(u"teacher_params"_s), 243.0);
    }

    void epochsMustComeFromSomewhere()
    {
        auto technique = m_plugin.create({});
        TeacherCalls calls;
        test::Recorded rec;
        TechniqueContext c = context(&calls, nullptr, &rec);
        c.training.epochs = 0; // a pre-trained TorchScript baseline is not trained
        QString error;
        QVERIFY(!technique->apply(c, &error));
        QVERIFY2(error.startsWith(u"epochs:"_s), qPrintable(error));
        QCOMPARE(c.model->name(), u"mlp"_s); // the teacher stays
    }

    void cancelStopsAndKeepsTheTeacher()
    {
        auto technique = m_plugin.create({});
        Feedback feedback;
        feedback.cancel();
        TeacherCalls calls;
        test::Recorded rec;
        TechniqueContext c = context(&calls, &feedback, &rec);
        QString error;
        QVERIFY(!technique->apply(c, &error));
        QCOMPARE(error, u"cancelled"_s);
        QCOMPARE(c.model->name(), u"mlp"_s);
        QCOMPARE(calls.forwards, 0);
    }

    // The plan-level path: baseline, distilled student (with the control) and the student
    // without teacher, through joulebench-cli run and compare on a Fashion-MNIST subset.
    void planRunsThroughTheCli()
    {
        if (!QFileInfo::exists(u"/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"_s))
            QSKIP("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist");
        const QString plugin = QStringLiteral(JB_BUILD_DIR) + u"/lib/joulebench/plugins/"_s +
                               QFileInfo(QStringLiteral(JB_PLUGIN_FILE)).fileName();
        QVERIFY2(QFileInfo::exists(plugin), qPrintable(plugin));
        const QString planFile = m_scratch.filePath(u"kd-plan.json"_s);
        QFile f(planFile);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({
            "version": 1, "name": "kd-tiny",
            "dataset": { "name": "fashion-mnist", "trainLimit": 512, "testLimit": 256,
                         "validationFraction": 0.25 },
            "model": { "zoo": "mlp" },
            "training": { "epochs": 1, "batchSize": 64 },
            "variants": [
                { "label": "baseline", "chain": [] },
                { "label": "kd", "chain": [ { "plugin": "distill.kd",
                    "params": { "student_width": 0.25, "train_control": true } } ] },
                { "label": "no-kd", "chain": [ { "plugin": "distill.kd",
                    "params": { "student_width": 0.25, "use_teacher": false } } ] }
            ],
            "repetitions": 1,
            "inference": { "batchSizes": [16], "batches": 5, "warmupBatches": 1 },
            "measurement": { "idleBefore": 0.0 }
        })");
        f.close();
        auto cli = [](const QStringList &args) {
            QProcess p;
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert(u"JOULEBENCH_PLUGIN_PATH"_s, QString());
            p.setProcessEnvironment(env);
            p.start(QStringLiteral(JB_CLI_PATH), args);
            if (!p.waitForFinished(240000))
                p.kill();
            const QString out = QString::fromUtf8(p.readAllStandardOutput()) +
                                QString::fromUtf8(p.readAllStandardError());
            return std::make_pair(p.exitCode(), out);
        };
        const QString db = m_scratch.filePath(u"kd.sqlite"_s);
        const auto run =
            cli({u"run"_s, u"--plan"_s, planFile, u"--db"_s, db, u"--no-disk-cache"_s});
        QVERIFY2(run.first == 0, qPrintable(run.second));
        QVERIFY2(run.second.contains(u"prepare:distill"_s) &&
                     run.second.contains(u"prepare:control"_s) &&
                     run.second.contains(u"prepare:student"_s),
                 qPrintable(run.second));
        const auto compare = cli({u"compare"_s, u"--db"_s, db, u"--json"_s});
        QVERIFY2(compare.first == 0, qPrintable(compare.second));
        const QJsonArray variants = QJsonDocument::fromJson(compare.second.toUtf8())
                                        .object()
                                        .value(u"variants"_s)
                                        .toArray();
        QCOMPARE(variants.size(), 3);
        QMap<QString, QMap<QString, double>> means; // label -> figure id -> mean
        for (const QJsonValue &v : variants) {
            const QJsonObject vo = v.toObject();
            QCOMPARE(vo.value(u"runs"_s).toObject().value(u"completed"_s).toInt(), 1);
            for (const QJsonValue &fig : vo.value(u"figures"_s).toArray())
                means[vo.value(u"label"_s).toString()].insert(
                    fig.toObject().value(u"id"_s).toString(),
                    fig.toObject().value(u"mean"_s).toDouble());
        }
        // The stored model of both student variants is the student: a quarter-width MLP.
        QVERIFY(means[u"kd"_s].value(u"|params"_s) < means[u"baseline"_s].value(u"|params"_s) / 3);
        QCOMPARE(means[u"kd"_s].value(u"|params"_s), means[u"no-kd"_s].value(u"|params"_s));
        // One teacher forward per batch of the ~384 training rows (512 less the stratified 25 %).
        const double rows = means[u"kd"_s].value(u"prepare|teacher_forward_samples"_s);
        QVERIFY2(rows > 370 && rows < 400, qPrintable(QString::number(rows)));
        QCOMPARE(means[u"kd"_s].value(u"prepare|teacher_forwards"_s), std::ceil(rows / 64));
        QCOMPARE(means[u"no-kd"_s].value(u"prepare|teacher_forwards"_s), 0.0);
        QVERIFY(means[u"kd"_s].contains(u"prepare|kd_val_accuracy"_s));
        QVERIFY(means[u"kd"_s].contains(u"prepare|control_val_accuracy"_s));
        QVERIFY(means[u"kd"_s].value(u"evaluate|accuracy"_s) > 0.3); // it learned something
    }
};

QTEST_GUILESS_MAIN(TestDistillKd)
#include "tst_distill_kd.moc"
