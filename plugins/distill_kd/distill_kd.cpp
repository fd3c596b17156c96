// SPDX-License-Identifier: GPL-3.0-or-later
// distill.kd: knowledge distillation (Hinton, Vinyals, Dean 2015). The trained model handed to
// the step is the teacher; a smaller zoo student is trained on the teacher's softened outputs
// and replaces it. See docs/techniques/distillation.md.
#include "kd_loss.h"

#include "engine/evaluator.h"
#include "engine/model.h"
#include "engine/spec_model.h"
#include "engine/technique.h"
#include "engine/trainer.h"
#include "engine/zoo.h"

#include <QJsonObject>
#include <QObject>
#include <QtPlugin>

#include <torch/torch.h>

#include <algorithm>
#include <optional>
#include <vector>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

// Offsets from the run's seed: the student's initial weights, and its training (batch order,
// torch::manual_seed). The KD student, the use_teacher=false student and the control student
// all use the same two, so they differ only in the loss.
constexpr quint64 kStudentInitSeed = 0x4b44'0001;
constexpr quint64 kStudentTrainSeed = 0x4b44'0002;

/// The technique. Runs on the runner's worker thread; one instance per run.
class KnowledgeDistillation final : public Technique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        m_studentZoo = params.value(u"student_zoo"_s).toString().trimmed();
        m_width = params.value(u"student_width"_s).toDouble();
        m_temperature = params.value(u"temperature"_s).toDouble();
        m_alpha = params.value(u"alpha"_s).toDouble();
        m_epochs = int(params.value(u"epochs"_s).toInteger());
        m_learningRate = params.value(u"learning_rate"_s).toDouble();
        m_useTeacher = params.value(u"use_teacher"_s).toBool();
        m_trainControl = params.value(u"train_control"_s).toBool();
        m_cacheTeacher = params.value(u"teacher_outputs"_s).toString() == u"cached"_s;
        if (!m_studentZoo.isEmpty() && !zooModelNames().contains(m_studentZoo)) {
            *error =
                u"student_zoo: unknown zoo model '%1' (known: %2; empty = the teacher's)"_s.arg(
                    m_studentZoo, zooModelNames().join(u", "_s));
            return false;
        }
        if (!(m_temperature > 0)) { // the schema's minimum already says so; keep T^2 safe
            *error = u"temperature: must be > 0, got %1"_s.arg(m_temperature);
            return false;
        }
        if (m_trainControl && !m_useTeacher) {
            *error = u"train_control: the control student is the one use_teacher false trains; "
                     "with use_teacher false there is no distilled student to compare it with "
                     "(set use_teacher to true, or train_control to false)"_s;
            return false;
        }
        return true;
    }

    bool checkSupported(const Model &model, const Backend &backend, QString *error) const override
    {
        Q_UNUSED(backend);
        const std::optional<ArchSpec> spec = studentSpec(model, error);
        if (!spec)
            return false;
        if (spec->numClasses != model.numClasses()) { // a zoo spec change would break this
            *error = u"the student '%1' has %2 classes, the teacher '%3' %4: distillation needs "
                     "logits over the same classes"_s.arg(spec->name)
                         .arg(spec->numClasses)
                         .arg(model.name())
                         .arg(model.numClasses());
            return false;
        }
        return true;
    }

    bool apply(TechniqueContext &context, QString *error) override
    {
        if (!context.model) {
            *error = u"no teacher: the step got no model"_s;
            return false;
        }
        if (!context.data || context.data->train.size() == 0) {
            *error = u"distillation needs the training split (context.data is empty)"_s;
            return false;
        }
        if (m_trainControl && context.data->validation.size() == 0) {
            *error = u"train_control compares the students on the validation split, which is "
                     "empty: set the plan's dataset.validationFraction above 0, or "
                     "train_control to false"_s;
            return false;
        }
        Model &teacher = *context.model;
        const bool teacherWasTraining = teacher.isTraining();
        try {
            const bool ok = distill(context, error);
            if (!ok && context.model) // failed or cancelled: the teacher stays, as it was
                context.model->setTraining(teacherWasTraining);
            return ok;
        } catch (const std::exception &e) {
            teacher.setTraining(teacherWasTraining);
            *error = u"distillation failed: "_s + exceptionText(e);
            return false;
        }
    }

private:
    /// The zoo entry of the student: student_zoo, or the teacher's own entry read from its spec
    /// name ("cnn-small", or "cnn-small-x2" as zooSpec() names a width-2 model).
    std::optional<QString> studentZooName(const Model &teacher, QString *error) const
    {
        if (!m_studentZoo.isEmpty())
            return m_studentZoo;
        const QStringList known = zooModelNames();
        const ArchSpec *spec = teacher.spec();
        if (!spec) {
            *error = u"student_zoo: the teacher '%1' (%2) has no architecture spec to take the "
                     "student's zoo entry from; set student_zoo to one of %3"_s.arg(
                         teacher.name(), teacher.source(), known.join(u", "_s));
            return std::nullopt;
        }
        QString name = spec->name;
        const qsizetype suffix = name.lastIndexOf(u"-x"_s);
        if (!known.contains(name) && suffix > 0)
            name = name.left(suffix);
        if (!known.contains(name)) {
            *error = u"student_zoo: the teacher's spec '%1' is not a zoo entry; set student_zoo "
                     "to one of %2"_s.arg(spec->name, known.join(u", "_s));
            return std::nullopt;
        }
        return name;
    }

    /// The student's spec for the teacher's input shape and class count (the same zooSpec()
    /// the runner builds its baseline with).
    std::optional<ArchSpec> studentSpec(const Model &teacher, QString *error) const
    {
        const std::optional<QString> zoo = studentZooName(teacher, error);
        if (!zoo)
            return std::nullopt;
        QString why;
        std::optional<ArchSpec> spec =
            zooSpec(*zoo, ZooOptions{teacher.inputShape(), teacher.numClasses(), m_width}, &why);
        if (!spec)
            *error = u"student_zoo / student_width: "_s + why;
        return spec;
    }

    /// A fresh student, initialised from the run's seed, on the teacher's device.
    std::unique_ptr<Model> buildStudent(const Model &teacher, quint64 seed, QString *error) const
    {
        const std::optional<ArchSpec> spec = studentSpec(teacher, error);
        if (!spec)
            return nullptr;
        std::unique_ptr<Model> student = SpecModel::create(*spec, seed + kStudentInitSeed, error);
        if (student)
            student->to(teacher.device());
        return student;
    }

    /// The student's training options: the baseline's, with this step's epochs, learning rate
    /// and seed. Fails when neither the step nor the baseline gives a number of epochs.
    std::optional<TrainOptions> studentOptions(const TechniqueContext &context,
                                               QString *error) const
    {
        TrainOptions o = context.training;
        o.epochs = m_epochs > 0 ? m_epochs : context.training.epochs;
        if (o.epochs <= 0) {
            *error = u"epochs: the baseline trains 0 epochs (a pre-trained model), so the "
                     "student's epochs cannot default to it; set epochs"_s;
            return std::nullopt;
        }
        if (m_learningRate > 0) {
            if (o.learningRate > 0)
                o.minLearningRate *= m_learningRate / o.learningRate; // cosine floor, same ratio
            o.learningRate = m_learningRate;
        }
        o.seed = context.seed + kStudentTrainSeed;
        o.epochSubset = nullptr;
        o.loss = nullptr;
        o.afterStep = nullptr;
        o.onEpoch = nullptr;
        return o;
    }

    /// Trains `student` with `options`; the log line names `what`. "cancelled" on cancel.
    static std::optional<TrainResult> trainStudent(TechniqueContext &context, Model &student,
                                                   const TrainOptions &options, const QString &what,
                                                   QString *error)
    {
        std::optional<TrainResult> result =
            Trainer(options).train(student, context.data->train, context.feedback, error);
        if (!result)
            return std::nullopt;
        if (result->canceled) {
            *error = u"cancelled"_s;
            return std::nullopt;
        }
        if (context.log && !result->epochs.empty()) {
            const EpochStats &last = result->epochs.back();
            context.log(
                u"%1: %2 epochs, last training loss %3, training accuracy %4 (%5 s)"_s.arg(what)
                    .arg(result->epochs.size())
                    .arg(last.loss, 0, 'g', 5)
                    .arg(last.accuracy, 0, 'f', 4)
                    .arg(result->seconds, 0, 'f', 1),
                QJsonObject{{u"epochs"_s, int(result->epochs.size())},
                            {u"loss"_s, last.loss},
                            {u"train_accuracy"_s, last.accuracy},
                            {u"learning_rate"_s, last.learningRate},
                            {u"seconds"_s, result->seconds}});
        }
        return result;
    }

    /// The model's figures on the validation split (never the test split).
    static std::optional<EvalResult> validationFigures(TechniqueContext &context, Model &model,
                                                       QString *error)
    {
        EvalOptions options;
        options.device = model.device();
        const std::optional<EvalResult> r =
            Evaluator(options).evaluate(model, context.data->validation, context.feedback, error);
        if (!r)
            return std::nullopt;
        if (r->canceled) {
            *error = u"cancelled"_s;
            return std::nullopt;
        }
        return r;
    }

    /// The teacher's logits for every row of the training split, in row order, computed once
    /// in batches of `batchSize` (eval mode, no grad); counts the forward passes.
    static bool teacherLogits(TechniqueContext &context, Model &teacher, int64_t batchSize,
                              torch::Tensor *out, int64_t *forwards, int64_t *samples,
                              QString *error)
    {
        const Dataset &train = context.data->train;
        const int64_t n = train.size();
        const torch::Device device = teacher.device();
        const torch::ScalarType dtype = teacher.computeDtype();
        std::vector<torch::Tensor> parts;
        torch::NoGradGuard noGrad;
        for (int64_t begin = 0; begin < n; begin += batchSize) {
            if (context.feedback && context.feedback->isCanceled()) {
                *error = u"cancelled"_s;
                return false;
            }
            const int64_t len = std::min(batchSize, n - begin);
            torch::Tensor x = train.inputs.narrow(0, begin, len).to(device);
            if (x.scalar_type() != dtype)
                x = x.to(dtype);
            parts.push_back(teacher.forward(x).to(torch::kFloat));
            ++*forwards;
            *samples += len;
            if (context.feedback)
                context.feedback->setProgress(
                    double(begin + len) / double(n),
                    u"teacher outputs: %1/%2 samples"_s.arg(begin + len).arg(n));
        }
        *out = torch::cat(parts);
        return true;
    }

    bool distill(TechniqueContext &context, QString *error)
    {
        Model &teacher = *context.model;
        const std::optional<TrainOptions> options = studentOptions(context, error);
        if (!options)
            return false;
        std::unique_ptr<Model> student = buildStudent(teacher, context.seed, error);
        if (!student)
            return false;
        if (context.feedback && context.feedback->isCanceled()) {
            *error = u"cancelled"_s;
            return false;
        }

        TrainOptions o = *options;
        int64_t teacherForwards = 0;
        int64_t teacherSamples = 0;
        torch::Tensor cached; // [train rows, classes]: the teacher's logits (cached mode)
        if (m_useTeacher) {
            teacher.setTraining(false); // eval mode: BN running statistics, no dropout
            if (m_cacheTeacher) {
                if (context.beginPhase)
                    context.beginPhase(u"prepare:teacher"_s);
                if (!teacherLogits(context, teacher, o.batchSize, &cached, &teacherForwards,
                                   &teacherSamples, error))
                    return false;
            }
            const torch::ScalarType teacherDtype = teacher.computeDtype();
            const double t = m_temperature;
            const double alpha = m_alpha;
            o.loss = [&teacher, &teacherForwards, &teacherSamples, &cached, teacherDtype, t,
                      alpha](const BatchContext &batch) {
                torch::Tensor logits;
                if (cached.defined()) {
                    logits = cached.index_select(0, batch.indices.to(cached.device()));
                } else {
                    torch::NoGradGuard noGrad;
                    torch::Tensor x = batch.inputs;
                    if (x.scalar_type() != teacherDtype)
                        x = x.to(teacherDtype);
                    logits = teacher.forward(x);
                    ++teacherForwards;
                    teacherSamples += batch.inputs.size(0);
                }
                return kd::distillationLoss(batch.logits, logits, batch.targets, t, alpha);
            };
            o.label = u"distillation (T %1, alpha %2)"_s.arg(t).arg(alpha);
        } else {
            o.label = u"student without teacher"_s;
        }

        if (context.beginPhase)
            context.beginPhase(m_useTeacher ? u"prepare:distill"_s : u"prepare:student"_s);
        const QString what = m_useTeacher
                                 ? u"distilled student %1 (T %2, alpha %3)"_s.arg(student->name())
                                       .arg(m_temperature)
                                       .arg(m_alpha)
                                 : u"student %1 on labels only (no teacher)"_s.arg(student->name());
        const std::optional<TrainResult> trained = trainStudent(context, *student, o, what, error);
        if (!trained)
            return false;

        std::optional<EvalResult> kdVal;
        std::optional<EvalResult> controlVal;
        if (m_trainControl) {
            if (context.beginPhase)
                context.beginPhase(u"prepare:control"_s);
            kdVal = validationFigures(context, *student, error);
            if (!kdVal)
                return false;
            std::unique_ptr<Model> control = buildStudent(teacher, context.seed, error);
            if (!control)
                return false;
            TrainOptions co = *options;
            co.label = u"control student (no teacher)"_s;
            if (!trainStudent(context, *control, co,
                              u"control student %1 on labels only"_s.arg(control->name()), error))
                return false;
            controlVal = validationFigures(context, *control, error);
            if (!controlVal)
                return false;
        }

        const int64_t studentParams = parameterCount(*student);
        const int64_t teacherParams = parameterCount(teacher);
        const double ratio =
            studentParams > 0 ? double(teacherParams) / double(studentParams) : 0.0;
        if (context.metric) {
            context.metric(u"student_params"_s, double(studentParams), u"count"_s);
            context.metric(u"teacher_params"_s, double(teacherParams), u"count"_s);
            context.metric(u"compression_ratio"_s, ratio, u"ratio"_s);
            context.metric(u"teacher_forwards"_s, double(teacherForwards), u"batches"_s);
            context.metric(u"teacher_forward_samples"_s, double(teacherSamples), u"samples"_s);
            context.metric(u"student_epochs"_s, double(trained->epochs.size()), u"epochs"_s);
            if (kdVal && controlVal) {
                context.metric(u"kd_val_accuracy"_s, kdVal->top1, u"fraction"_s);
                context.metric(u"control_val_accuracy"_s, controlVal->top1, u"fraction"_s);
                context.metric(u"kd_val_loss"_s, kdVal->loss, u"nats"_s);
                context.metric(u"control_val_loss"_s, controlVal->loss, u"nats"_s);
                context.metric(u"kd_val_ece"_s, kdVal->ece, u"fraction"_s);
                context.metric(u"control_val_ece"_s, controlVal->ece, u"fraction"_s);
            }
        }
        if (context.log) {
            QJsonObject data{{u"teacher"_s, teacher.name()},
                             {u"student"_s, student->name()},
                             {u"use_teacher"_s, m_useTeacher},
                             {u"teacher_outputs"_s, m_cacheTeacher ? u"cached"_s : u"per_batch"_s},
                             {u"temperature"_s, m_temperature},
                             {u"alpha"_s, m_alpha},
                             {u"epochs"_s, o.epochs},
                             {u"learning_rate"_s, o.learningRate},
                             {u"teacher_params"_s, double(teacherParams)},
                             {u"student_params"_s, double(studentParams)},
                             {u"compression_ratio"_s, ratio},
                             {u"teacher_forwards"_s, double(teacherForwards)},
                             {u"teacher_forward_samples"_s, double(teacherSamples)}};
            QString line =
                u"student %1 (%2 parameters) replaces teacher %3 (%4 parameters), "
                "%5x fewer; %6 teacher forward passes (%7 samples)"_s.arg(student->name())
                    .arg(studentParams)
                    .arg(teacher.name())
                    .arg(teacherParams)
                    .arg(ratio, 0, 'f', 2)
                    .arg(teacherForwards)
                    .arg(teacherSamples);
            if (kdVal && controlVal) {
                data.insert(u"kd_val_accuracy"_s, kdVal->top1);
                data.insert(u"control_val_accuracy"_s, controlVal->top1);
                data.insert(u"kd_val_loss"_s, kdVal->loss);
                data.insert(u"control_val_loss"_s, controlVal->loss);
                line += u"; validation accuracy with KD %1, without %2 (loss %3 vs %4)"_s
                            .arg(kdVal->top1, 0, 'f', 4)
                            .arg(controlVal->top1, 0, 'f', 4)
                            .arg(kdVal->loss, 0, 'f', 4)
                            .arg(controlVal->loss, 0, 'f', 4);
            }
            context.log(line, data);
        }
        if (context.feedback)
            context.feedback->setProgress(1.0,
                                          u"distillation: student %1 ready"_s.arg(student->name()));
        context.model = std::move(student); // evaluation and inference measure the student
        return true;
    }

    QString m_studentZoo;
    double m_width = 0.5;
    double m_temperature = 4.0;
    double m_alpha = 0.9;
    int m_epochs = 0;
    double m_learningRate = 0;
    bool m_useTeacher = true;
    bool m_trainControl = false;
    bool m_cacheTeacher = false; ///< teacher_outputs "cached": one teacher pass, logits reused
};

} // namespace

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class KnowledgeDistillationPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "distill_kd.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<KnowledgeDistillation>();
    }
};

} // namespace jb::plugins

#include "distill_kd.moc"
