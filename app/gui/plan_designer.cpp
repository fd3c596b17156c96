// SPDX-License-Identifier: GPL-3.0-or-later
#include "plan_designer.h"

#include "engine/plan_grid.h"
#include "param_form.h"
#include "variant_chain_editor.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

namespace jb::gui {

namespace {

// Rough duration guess for the grid preview. Stated assumptions, shown with the figure: a
// small CNN on a few CPU cores. The idle windows are exact.
constexpr double kAssumedTrainSamplesPerS = 2000.0;
constexpr double kAssumedInferSamplesPerS = 4000.0;

qint64 defaultTrainSize(const QString &dataset)
{
    if (dataset == QLatin1String("mnist") || dataset == QLatin1String("fashion-mnist"))
        return 60000;
    if (dataset.startsWith(QLatin1String("cifar")))
        return 50000;
    return 0; // tensor: unknown
}

QSpinBox *spin(int lo, int hi)
{
    auto *s = new QSpinBox;
    s->setRange(lo, hi);
    return s;
}

} // namespace

PlanDesigner::PlanDesigner(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QHBoxLayout(this);
    auto *split = new QSplitter(Qt::Horizontal);
    layout->addWidget(split);

    auto *scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    scroll->setWidget(buildSettings());
    scroll->setMinimumWidth(380);
    split->addWidget(scroll);

    auto *right = new QWidget;
    auto *rl = new QVBoxLayout(right);
    m_chains = new VariantChainEditor;
    rl->addWidget(m_chains, 3);
    m_grid = new QLabel;
    m_grid->setObjectName(QStringLiteral("gridPreview"));
    m_grid->setWordWrap(true);
    rl->addWidget(m_grid);
    m_problemView = new QPlainTextEdit;
    m_problemView->setObjectName(QStringLiteral("problemView"));
    m_problemView->setReadOnly(true);
    m_problemView->setMaximumHeight(130);
    rl->addWidget(new QLabel(tr("Problems (the run stays disabled until there are none):")));
    rl->addWidget(m_problemView);
    split->addWidget(right);
    split->setStretchFactor(1, 1);

    connect(m_chains, &VariantChainEditor::changed, this, &PlanDesigner::changed);
    setPlan(Plan{});
}

QWidget *PlanDesigner::buildSettings()
{
    auto *w = new QWidget;
    auto *v = new QVBoxLayout(w);
    auto group = [v](const QString &title) {
        auto *box = new QGroupBox(title);
        auto *form = new QFormLayout(box);
        v->addWidget(box);
        return form;
    };
    auto reg = [this](const QString &path, QWidget *field) {
        field->setObjectName(path);
        m_fields.insert(path, field);
        return field;
    };

    QFormLayout *f = group(tr("Experiment"));
    f->addRow(tr("Name"), reg(QStringLiteral("name"), m_name = new QLineEdit));
    f->addRow(tr("Description"), reg(QStringLiteral("description"), m_description = new QLineEdit));
    f->addRow(tr("Seed"), reg(QStringLiteral("seed"), m_seed = spin(0, 2147483647)));

    f = group(tr("Dataset"));
    m_dataset = new QComboBox;
    m_dataset->addItems(planDatasetNames());
    f->addRow(tr("Data set"), reg(QStringLiteral("dataset.name"), m_dataset));
    m_datasetPath = new QLineEdit;
    m_datasetPath->setPlaceholderText(tr("standard locations"));
    f->addRow(tr("Folder"), reg(QStringLiteral("dataset.path"), m_datasetPath));
    f->addRow(tr("Train limit (0 = all)"),
              reg(QStringLiteral("dataset.trainLimit"), m_trainLimit = spin(0, 100000000)));
    f->addRow(tr("Test limit (0 = all)"),
              reg(QStringLiteral("dataset.testLimit"), m_testLimit = spin(0, 100000000)));

    f = group(tr("Baseline model"));
    m_zoo = new QComboBox;
    m_zoo->setEditable(true);
    m_zoo->setToolTip(tr("A zoo architecture name (see docs/metrics.md); leave empty when a "
                         "TorchScript file is given."));
    f->addRow(tr("Zoo model"), reg(QStringLiteral("model.zoo"), m_zoo));
    m_width = new QDoubleSpinBox;
    m_width->setRange(0.0, 16.0);
    m_width->setSingleStep(0.25);
    f->addRow(tr("Width multiplier"), reg(QStringLiteral("model.width"), m_width));
    auto *tsRow = new QHBoxLayout;
    m_torchScript = new QLineEdit;
    m_torchScript->setPlaceholderText(tr("or a TorchScript file (.pt)"));
    reg(QStringLiteral("model.torchScript"), m_torchScript);
    auto *browse = new QPushButton(tr("…"));
    tsRow->addWidget(m_torchScript);
    tsRow->addWidget(browse);
    f->addRow(tr("TorchScript"), tsRow);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("TorchScript model"), QString(),
                                                          tr("TorchScript (*.pt *.pth)"));
        if (!file.isEmpty()) {
            m_torchScript->setText(file);
            m_zoo->setCurrentText(QString());
        }
    });

    f = group(tr("Training"));
    f->addRow(tr("Epochs"), reg(QStringLiteral("training.epochs"), m_epochs = spin(0, 10000)));
    f->addRow(tr("Batch size"),
              reg(QStringLiteral("training.batchSize"), m_batchSize = spin(1, 1000000)));
    m_optimizer = new QComboBox;
    m_optimizer->addItems({QStringLiteral("adam"), QStringLiteral("sgd")});
    f->addRow(tr("Optimizer"), reg(QStringLiteral("training.optimizer"), m_optimizer));
    m_learningRate = new QDoubleSpinBox;
    m_learningRate->setDecimals(6);
    m_learningRate->setRange(0.0, 10.0);
    m_learningRate->setSingleStep(0.0001);
    f->addRow(tr("Learning rate"), reg(QStringLiteral("training.learningRate"), m_learningRate));
    m_schedule = new QComboBox;
    m_schedule->addItems({QStringLiteral("constant"), QStringLiteral("step"), QStringLiteral("cosine")});
    f->addRow(tr("Schedule"), reg(QStringLiteral("training.schedule"), m_schedule));

    f = group(tr("Where and how often"));
    m_backends = new QListWidget;
    m_backends->setMaximumHeight(90);
    f->addRow(tr("Backends"), reg(QStringLiteral("backends"), m_backends));
    m_meterList = new QListWidget;
    m_meterList->setMaximumHeight(110);
    f->addRow(tr("Meters"), reg(QStringLiteral("measurement.meters"), m_meterList));
    f->addRow(tr("Repetitions"), reg(QStringLiteral("repetitions"), m_repetitions = spin(0, 1000)));
    m_order = new QComboBox;
    m_order->addItems({QStringLiteral("interleaved"), QStringLiteral("shuffled")});
    f->addRow(tr("Run order"), reg(QStringLiteral("order"), m_order));

    f = group(tr("Inference workload and budget"));
    m_batchSizes = new QLineEdit;
    m_batchSizes->setToolTip(tr("Comma-separated batch sizes, measured in this order, e.g. 1, 64"));
    f->addRow(tr("Batch sizes"), reg(QStringLiteral("inference.batchSizes"), m_batchSizes));
    f->addRow(tr("Measured batches"),
              reg(QStringLiteral("inference.batches"), m_batches = spin(0, 100000000)));
    f->addRow(tr("Warm-up batches"),
              reg(QStringLiteral("inference.warmupBatches"), m_warmup = spin(0, 100000000)));
    m_budget = new QDoubleSpinBox;
    m_budget->setRange(0.0, 100.0);
    m_budget->setSuffix(tr(" points"));
    m_budget->setToolTip(tr("Largest accuracy loss vs the baseline a variant may have, in "
                            "percentage points"));
    f->addRow(tr("Accuracy budget"), reg(QStringLiteral("accuracyBudget"), m_budget));
    v->addStretch(1);

    // Any edit revalidates.
    for (QLineEdit *e : {m_name, m_description, m_datasetPath, m_torchScript, m_batchSizes})
        connect(e, &QLineEdit::textChanged, this, &PlanDesigner::changed);
    for (QComboBox *c : {m_dataset, m_optimizer, m_schedule, m_order})
        connect(c, &QComboBox::currentIndexChanged, this, &PlanDesigner::changed);
    connect(m_zoo, &QComboBox::currentTextChanged, this, &PlanDesigner::changed);
    for (QSpinBox *s : {m_seed, m_trainLimit, m_testLimit, m_epochs, m_batchSize, m_repetitions,
                        m_batches, m_warmup})
        connect(s, &QSpinBox::valueChanged, this, &PlanDesigner::changed);
    for (QDoubleSpinBox *s : {m_width, m_learningRate, m_budget})
        connect(s, &QDoubleSpinBox::valueChanged, this, &PlanDesigner::changed);
    connect(m_backends, &QListWidget::itemChanged, this, &PlanDesigner::changed);
    connect(m_meterList, &QListWidget::itemChanged, this, [this](QListWidgetItem *item) {
        if (m_loading)
            return;
        // "auto" excludes explicit meters and the other way round.
        m_loading = true;
        const bool isAuto = item->data(Qt::UserRole).toString() == QLatin1String("auto");
        if (item->checkState() == Qt::Checked)
            for (int i = 0; i < m_meterList->count(); ++i) {
                QListWidgetItem *o = m_meterList->item(i);
                const bool oAuto = o->data(Qt::UserRole).toString() == QLatin1String("auto");
                if (o != item && oAuto != isAuto)
                    o->setCheckState(Qt::Unchecked);
            }
        m_loading = false;
        changed();
    });
    return w;
}

void PlanDesigner::setTechniques(const QList<TechniqueMetadata> &techniques)
{
    m_techniques = techniques;
    const QList<PlanVariant> keep = m_chains->variants();
    m_chains->setTechniques(techniques);
    m_chains->setVariants(keep);
    revalidate();
}

void PlanDesigner::setMachine(const QStringList &backends, bool backendsKnown,
                              const QList<MeterChoice> &meters)
{
    const Plan current = plan();
    m_machineBackends = backends;
    m_backendsKnown = backendsKnown;
    m_meters = meters;
    m_loading = true;
    fillBackends(current.backends);
    fillMeters(current.measurement.meters);
    m_loading = false;
    revalidate();
}

void PlanDesigner::fillBackends(const QStringList &chosen)
{
    m_backends->clear();
    QStringList all = m_machineBackends;
    for (const QString &b : chosen)
        if (!all.contains(b))
            all.append(b);
    for (const QString &b : all) {
        auto *item = new QListWidgetItem(b, m_backends);
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
        item->setCheckState(chosen.contains(b) ? Qt::Checked : Qt::Unchecked);
        if (m_backendsKnown && !m_machineBackends.contains(b)) {
            item->setForeground(QColor(0xd3, 0x2f, 0x2f));
            item->setToolTip(tr("Not available on this machine ('joulebench-cli backends')."));
        }
    }
}

void PlanDesigner::fillMeters(const QStringList &chosen)
{
    m_meterList->clear();
    auto *autoItem = new QListWidgetItem(tr("auto (every readable hardware meter)"), m_meterList);
    autoItem->setData(Qt::UserRole, QStringLiteral("auto"));
    autoItem->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
    autoItem->setCheckState(chosen.contains(QStringLiteral("auto")) ? Qt::Checked : Qt::Unchecked);
    QStringList listed;
    for (const MeterChoice &m : m_meters) {
        const QString kind = m.estimate ? tr("estimate") : tr("measured");
        auto *item = new QListWidgetItem(QStringLiteral("%1 — %2 (%3)").arg(m.id, m.displayName, kind),
                                         m_meterList);
        item->setData(Qt::UserRole, m.id);
        item->setCheckState(chosen.contains(m.id) ? Qt::Checked : Qt::Unchecked);
        if (m.readable) {
            item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
            item->setToolTip(m.estimate ? tr("Readable. An estimate, not a hardware counter: its "
                                             "figures are labelled \"estimate\".")
                                        : tr("Readable hardware energy counter."));
        } else {
            item->setFlags(Qt::ItemIsUserCheckable); // shown, but disabled
            item->setToolTip(tr("Not readable: %1").arg(m.reason));
        }
        listed.append(m.id);
    }
    for (const QString &id : chosen) // a loaded plan's meter this machine does not know
        if (id != QLatin1String("auto") && !listed.contains(id)) {
            auto *item = new QListWidgetItem(id + tr(" (unknown here)"), m_meterList);
            item->setData(Qt::UserRole, id);
            item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
            item->setCheckState(Qt::Checked);
        }
}

QStringList PlanDesigner::checkedItems(QListWidget *list) const
{
    QStringList out;
    for (int i = 0; i < list->count(); ++i) {
        const QListWidgetItem *item = list->item(i);
        if (item->checkState() == Qt::Checked) {
            const QVariant id = item->data(Qt::UserRole);
            out.append(id.isValid() ? id.toString() : item->text());
        }
    }
    return out;
}

void PlanDesigner::setPlan(const Plan &p)
{
    m_loading = true;
    m_base = p;
    m_name->setText(p.name);
    m_description->setText(p.description);
    m_seed->setValue(int(p.seed));
    m_dataset->setCurrentText(p.dataset.name);
    m_datasetPath->setText(p.dataset.path);
    m_trainLimit->setValue(int(p.dataset.trainLimit));
    m_testLimit->setValue(int(p.dataset.testLimit));
    if (m_zoo->findText(p.model.zoo) < 0 && !p.model.zoo.isEmpty())
        m_zoo->addItem(p.model.zoo);
    m_zoo->setCurrentText(p.model.zoo);
    m_width->setValue(p.model.width);
    m_torchScript->setText(p.model.torchScript);
    m_epochs->setValue(int(p.training.epochs));
    m_batchSize->setValue(int(p.training.batchSize));
    m_optimizer->setCurrentText(p.training.optimizer);
    m_learningRate->setValue(p.training.learningRate);
    m_schedule->setCurrentText(p.training.schedule);
    fillBackends(p.backends);
    fillMeters(p.measurement.meters);
    m_repetitions->setValue(int(p.repetitions));
    m_order->setCurrentIndex(p.order == PlanOrder::Shuffled ? 1 : 0);
    QStringList sizes;
    for (qint64 b : p.inference.batchSizes)
        sizes.append(QString::number(b));
    m_batchSizes->setText(sizes.join(QStringLiteral(", ")));
    m_batches->setValue(int(p.inference.batches));
    m_warmup->setValue(int(p.inference.warmupBatches));
    m_budget->setValue(p.accuracyBudget);
    m_chains->setVariants(p.variants);
    m_loading = false;
    setClean();
}

void PlanDesigner::setClean()
{
    m_cleanJson = plan().toJson();
    revalidate();
}

Plan PlanDesigner::plan() const
{
    Plan p = m_base;
    p.name = m_name->text();
    p.description = m_description->text();
    p.seed = m_seed->value();
    p.dataset.name = m_dataset->currentText();
    p.dataset.path = m_datasetPath->text();
    p.dataset.trainLimit = m_trainLimit->value();
    p.dataset.testLimit = m_testLimit->value();
    p.model.zoo = m_zoo->currentText().trimmed();
    p.model.width = m_width->value();
    p.model.torchScript = m_torchScript->text().trimmed();
    p.training.epochs = m_epochs->value();
    p.training.batchSize = m_batchSize->value();
    p.training.optimizer = m_optimizer->currentText();
    p.training.learningRate = m_learningRate->value();
    p.training.schedule = m_schedule->currentText();
    p.backends = checkedItems(m_backends);
    p.measurement.meters = checkedItems(m_meterList);
    p.repetitions = m_repetitions->value();
    p.order = m_order->currentIndex() == 1 ? PlanOrder::Shuffled : PlanOrder::Interleaved;
    p.inference.batchSizes.clear();
    for (const QString &part : m_batchSizes->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const qint64 b = part.trimmed().toLongLong(&ok);
        p.inference.batchSizes.append(ok ? b : 0); // 0 is rejected by the plan check
    }
    p.inference.batches = m_batches->value();
    p.inference.warmupBatches = m_warmup->value();
    p.accuracyBudget = m_budget->value();
    p.variants = m_chains->variants();
    return p;
}

PlanContext PlanDesigner::planContext() const
{
    PlanContext c;
    QStringList ids;
    for (const TechniqueMetadata &t : m_techniques)
        ids.append(t.id);
    c.pluginIds = ids;
    c.schemaFor = [this](const QString &id) -> const ParamSchema * {
        for (const TechniqueMetadata &t : m_techniques)
            if (t.id == id)
                return &t.parameters;
        return nullptr;
    };
    return c;
}

void PlanDesigner::changed()
{
    if (!m_loading)
        revalidate();
}

double PlanDesigner::roughDurationS(const Plan &p, int runs) const
{
    qint64 train = p.dataset.trainLimit > 0 ? p.dataset.trainLimit : defaultTrainSize(p.dataset.name);
    train = qint64(double(train) * (1.0 - p.dataset.validationFraction));
    double inferSamples = 0;
    for (qint64 b : p.inference.batchSizes)
        inferSamples += double(b) * double(p.inference.batches + p.inference.warmupBatches);
    const double perRun = p.measurement.idleBefore + p.measurement.idleAfter +
                          double(p.training.epochs) * double(train) / kAssumedTrainSamplesPerS +
                          inferSamples / kAssumedInferSamplesPerS;
    return perRun * runs;
}

void PlanDesigner::revalidate()
{
    const Plan p = plan();
    QStringList problems;
    // What only this machine knows.
    if (m_backendsKnown)
        for (const QString &b : p.backends)
            if (!m_machineBackends.contains(b))
                problems.append(tr("backends: '%1' is not available on this machine (available: "
                                   "%2)").arg(b, m_machineBackends.join(QStringLiteral(", "))));
    for (const QString &id : p.measurement.meters)
        for (const MeterChoice &m : m_meters)
            if (m.id == id && !m.readable)
                problems.append(tr("measurement.meters: '%1' is not readable: %2").arg(id, m.reason));
    if (p.measurement.meters.isEmpty())
        problems.append(tr("measurement.meters: choose 'auto' or at least one readable meter"));
    if (m_batchSizes->text().split(QLatin1Char(','), Qt::SkipEmptyParts).size() !=
            p.inference.batchSizes.size() ||
        p.inference.batchSizes.contains(0))
        problems.append(tr("inference.batchSizes: '%1' is not a comma-separated list of "
                           "positive integers, e.g. 1, 64").arg(m_batchSizes->text()));
    // The CLI's own check, with the plugin schemas.
    QStringList planErrors;
    const std::optional<Plan> parsed = Plan::fromJson(p.toJson(), &planErrors, planContext());
    problems += planErrors;
    problems.removeDuplicates();

    for (auto it = m_fields.constBegin(); it != m_fields.constEnd(); ++it) {
        bool bad = false;
        for (const QString &e : problems)
            bad = bad || e.startsWith(it.key() + QLatin1Char(':')) ||
                  e.startsWith(it.key() + QLatin1Char('[')) ||
                  e.startsWith(it.key() + QLatin1Char(' '));
        ParamForm::markInvalid(it.value(), bad);
    }
    m_gridRuns = parsed ? int(expandGrid(*parsed).size()) : 0;
    if (parsed) {
        const double s = roughDurationS(*parsed, m_gridRuns);
        m_grid->setText(tr("Grid: %1 variants × %2 backends × %3 repetitions = <b>%4 runs</b>, "
                           "roughly %5 min (a guess assuming ~%6 training and ~%7 inference "
                           "samples/s; idle windows exact).")
                            .arg(parsed->variants.size())
                            .arg(parsed->backends.size())
                            .arg(parsed->repetitions)
                            .arg(m_gridRuns)
                            .arg(s / 60.0, 0, 'f', 1)
                            .arg(kAssumedTrainSamplesPerS)
                            .arg(kAssumedInferSamplesPerS));
    } else {
        m_grid->setText(tr("Grid: not expanded until the plan is valid."));
    }
    m_problems = problems;
    m_problemView->setPlainText(problems.isEmpty() ? tr("None: the plan can run.")
                                                   : problems.join(QLatin1Char('\n')));
    Q_EMIT problemsChanged(m_problems);
    const bool modified = p.toJson() != m_cleanJson;
    if (modified != m_modified) {
        m_modified = modified;
        Q_EMIT modifiedChanged(modified);
    }
}

bool PlanDesigner::load(const QString &path, QString *error)
{
    QStringList errors;
    // Structural parse without schemas first, so that a plan with a bad parameter still
    // opens and shows the problem in the form; the schema check runs in revalidate().
    std::optional<Plan> p = Plan::load(path, &errors, planContext());
    if (!p) {
        QStringList structural;
        p = Plan::load(path, &structural, PlanContext{});
        if (!p) {
            *error = structural.join(QLatin1Char('\n'));
            return false;
        }
    }
    m_filePath = path;
    setPlan(*p);
    return true;
}

bool PlanDesigner::save(const QString &path, QString *error)
{
    if (!plan().save(path, error))
        return false;
    m_filePath = path;
    setClean();
    return true;
}

} // namespace jb::gui
