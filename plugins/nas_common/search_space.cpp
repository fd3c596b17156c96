// SPDX-License-Identifier: GPL-3.0-or-later
#include "search_space.h"

#include <QJsonArray>
#include <QSet>
#include <QStringList>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace jb::nas {

namespace {

/// A uniform index in [0, n) (n > 0).
size_t pick(std::mt19937_64 &rng, size_t n)
{
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
}

/// A value of `choices` other than `current` (choices has at least two values).
int64_t pickOther(std::mt19937_64 &rng, const std::vector<int64_t> &choices, int64_t current)
{
    std::vector<int64_t> others;
    for (const int64_t c : choices)
        if (c != current)
            others.push_back(c);
    return others.empty() ? current : others[pick(rng, others.size())];
}

} // namespace

QString Candidate::key() const
{
    QStringList parts;
    for (const Block &b : blocks)
        parts.append(u"%1%2k%3"_s.arg(b.depthwise ? u"s"_s : u"c"_s).arg(b.width).arg(b.kernel));
    return parts.join(u'-');
}

QJsonObject Candidate::toJson() const
{
    QJsonArray list;
    for (const Block &b : blocks)
        list.append(QJsonObject{{u"width"_s, qint64(b.width)},
                                {u"kernel"_s, qint64(b.kernel)},
                                {u"depthwise"_s, b.depthwise}});
    return QJsonObject{{u"key"_s, key()}, {u"blocks"_s, list}};
}

std::optional<std::vector<int64_t>> SearchSpace::parseList(const QString &text,
                                                           const QString &parameter,
                                                           QString *error)
{
    std::vector<int64_t> values;
    const QStringList parts = text.split(u',', Qt::SkipEmptyParts);
    for (const QString &part : parts) {
        bool ok = false;
        const qlonglong v = part.trimmed().toLongLong(&ok);
        if (!ok || v <= 0) {
            *error = u"parameter '%1': '%2' is not a positive integer (write e.g. \"8,16,32\")"_s
                         .arg(parameter, part.trimmed());
            return std::nullopt;
        }
        if (std::find(values.begin(), values.end(), v) != values.end()) {
            *error = u"parameter '%1': %2 is listed twice"_s.arg(parameter).arg(v);
            return std::nullopt;
        }
        values.push_back(v);
    }
    if (values.empty()) {
        *error = u"parameter '%1' is empty: give at least one value, e.g. \"8,16,32\""_s.arg(
            parameter);
        return std::nullopt;
    }
    return values;
}

std::optional<SearchSpace> SearchSpace::create(const Options &options, QString *error)
{
    if (options.inputShape.size() != 3) {
        *error = u"the search space needs image input [C, H, W]; the data has %1"_s.arg(
            shapeToString(options.inputShape));
        return std::nullopt;
    }
    if (options.numClasses < 2) {
        *error = u"the data set has %1 classes; the search needs at least 2"_s.arg(
            options.numClasses);
        return std::nullopt;
    }
    if (options.minDepth < 1 || options.maxDepth < options.minDepth) {
        *error = u"parameters min_depth (%1) and max_depth (%2): need 1 <= min_depth <= "
                 "max_depth"_s.arg(options.minDepth)
                     .arg(options.maxDepth);
        return std::nullopt;
    }
    if (options.widths.empty() || options.kernels.empty()) {
        *error = u"parameters widths and kernels need at least one value each"_s;
        return std::nullopt;
    }
    for (const int64_t k : options.kernels)
        if (k % 2 == 0) {
            *error = u"parameter 'kernels': %1 is even; use odd kernel sizes (3, 5, 7) so "
                     "padding keeps the spatial size"_s.arg(k);
            return std::nullopt;
        }
    const int64_t side = std::min(options.inputShape[1], options.inputShape[2]);
    for (const int64_t k : options.kernels)
        if (k > side) {
            *error = u"parameter 'kernels': %1 is larger than the input (%2)"_s.arg(k).arg(
                shapeToString(options.inputShape));
            return std::nullopt;
        }
    if (options.pools < 0 || (side >> std::min(options.pools, 30)) < 1) {
        *error = u"parameter 'pools': %1 2x2 max-pools shrink the input %2 to nothing; use at "
                 "most %3"_s.arg(options.pools)
                     .arg(shapeToString(options.inputShape))
                     .arg(int(std::log2(double(side))));
        return std::nullopt;
    }
    return SearchSpace(options);
}

Block SearchSpace::randomBlock(std::mt19937_64 &rng) const
{
    Block b;
    b.width = m_options.widths[pick(rng, m_options.widths.size())];
    b.kernel = m_options.kernels[pick(rng, m_options.kernels.size())];
    b.depthwise = m_options.allowDepthwise && pick(rng, 2) == 1;
    return b;
}

Candidate SearchSpace::sample(std::mt19937_64 &rng) const
{
    Candidate c;
    const int depth = m_options.minDepth + int(pick(rng, size_t(m_options.maxDepth -
                                                                m_options.minDepth + 1)));
    for (int i = 0; i < depth; ++i)
        c.blocks.push_back(randomBlock(rng));
    return c;
}

Candidate SearchSpace::sample(uint64_t seed) const
{
    std::mt19937_64 rng(seed);
    return sample(rng);
}

Candidate SearchSpace::mutate(const Candidate &parent, std::mt19937_64 &rng, QString *what) const
{
    enum Op { Width, Kernel, Depthwise, Add, Remove };
    std::vector<Op> ops;
    const int depth = int(parent.blocks.size());
    if (m_options.widths.size() > 1 && depth > 0)
        ops.push_back(Width);
    if (m_options.kernels.size() > 1 && depth > 0)
        ops.push_back(Kernel);
    if (m_options.allowDepthwise && depth > 0)
        ops.push_back(Depthwise);
    if (depth < m_options.maxDepth)
        ops.push_back(Add);
    if (depth > m_options.minDepth)
        ops.push_back(Remove);
    Candidate child = parent;
    if (ops.empty()) { // a space of one point
        if (what)
            *what = u"no mutation possible (the space has one candidate)"_s;
        return child;
    }
    const size_t i = depth > 0 ? pick(rng, size_t(depth)) : 0;
    switch (ops[pick(rng, ops.size())]) {
    case Width: {
        const int64_t old = child.blocks[i].width;
        child.blocks[i].width = pickOther(rng, m_options.widths, old);
        if (what)
            *what = u"width of block %1: %2 -> %3"_s.arg(i).arg(old).arg(child.blocks[i].width);
        break;
    }
    case Kernel: {
        const int64_t old = child.blocks[i].kernel;
        child.blocks[i].kernel = pickOther(rng, m_options.kernels, old);
        if (what)
            *what = u"kernel of block %1: %2 -> %3"_s.arg(i).arg(old).arg(child.blocks[i].kernel);
        break;
    }
    case Depthwise:
        child.blocks[i].depthwise = !child.blocks[i].depthwise;
        if (what)
            *what = u"block %1 %2"_s.arg(i).arg(child.blocks[i].depthwise
                                                    ? u"made depthwise-separable"_s
                                                    : u"made a plain convolution"_s);
        break;
    case Add: {
        const size_t at = pick(rng, size_t(depth + 1));
        child.blocks.insert(child.blocks.begin() + std::ptrdiff_t(at), randomBlock(rng));
        if (what)
            *what = u"block added at %1"_s.arg(at);
        break;
    }
    case Remove:
        child.blocks.erase(child.blocks.begin() + std::ptrdiff_t(i));
        if (what)
            *what = u"block %1 removed"_s.arg(i);
        break;
    }
    return child;
}

bool SearchSpace::contains(const Candidate &candidate) const
{
    const int depth = int(candidate.blocks.size());
    if (depth < m_options.minDepth || depth > m_options.maxDepth)
        return false;
    auto has = [](const std::vector<int64_t> &list, int64_t v) {
        return std::find(list.begin(), list.end(), v) != list.end();
    };
    for (const Block &b : candidate.blocks)
        if (!has(m_options.widths, b.width) || !has(m_options.kernels, b.kernel) ||
            (b.depthwise && !m_options.allowDepthwise))
            return false;
    return true;
}

std::optional<ArchSpec> SearchSpace::build(const Candidate &candidate, QString *error) const
{
    if (candidate.blocks.empty()) {
        *error = u"a candidate needs at least one block"_s;
        return std::nullopt;
    }
    ArchSpec spec;
    spec.name = u"nas-"_s + candidate.key();
    spec.inputShape = m_options.inputShape;
    spec.numClasses = m_options.numClasses;
    const int depth = int(candidate.blocks.size());
    const int pools = m_options.pools;
    for (int i = 0; i < depth; ++i) {
        const Block &b = candidate.blocks[size_t(i)];
        if (b.depthwise) {
            spec.layers.push_back(layers::depthwise(b.kernel, 1, b.kernel / 2, false));
            spec.layers.push_back(layers::conv(b.width, 1, 1, 0, false));
        } else {
            spec.layers.push_back(layers::conv(b.width, b.kernel, 1, b.kernel / 2, false));
        }
        spec.layers.push_back(layers::batchNorm());
        spec.layers.push_back(layers::act());
        if ((i + 1) * pools / depth > i * pools / depth)
            spec.layers.push_back(layers::maxPool(2));
    }
    spec.layers.push_back(layers::flatten());
    spec.layers.push_back(layers::linear(m_options.numClasses));
    QString why;
    if (!spec.validate(&why)) {
        *error = u"candidate %1 does not build: %2"_s.arg(candidate.key(), why);
        return std::nullopt;
    }
    return spec;
}

std::vector<bool> paretoFront(const std::vector<double> &accuracy, const std::vector<double> &cost)
{
    const size_t n = std::min(accuracy.size(), cost.size());
    std::vector<bool> front(n, true);
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n && front[i]; ++j)
            if (j != i && accuracy[j] >= accuracy[i] && cost[j] <= cost[i] &&
                (accuracy[j] > accuracy[i] || cost[j] < cost[i]))
                front[i] = false;
    return front;
}

RegularizedEvolution::RegularizedEvolution(SearchSpace space, int populationSize, int sampleSize,
                                           uint64_t seed)
    : m_space(std::move(space)),
      m_populationSize(std::max(1, populationSize)),
      m_sampleSize(std::max(1, sampleSize)),
      m_rng(seed)
{
}

Candidate RegularizedEvolution::next(int *parentId, QString *what)
{
    if (int(m_population.size()) < m_populationSize) {
        *parentId = -1;
        if (what)
            *what = u"random (population filling)"_s;
        return m_space.sample(m_rng);
    }
    const Member *best = nullptr;
    for (int s = 0; s < m_sampleSize; ++s) {
        const Member &m = m_population[pick(m_rng, m_population.size())];
        if (!best || m.fitness > best->fitness)
            best = &m;
    }
    *parentId = best->id;
    return m_space.mutate(best->candidate, m_rng, what);
}

std::optional<int> RegularizedEvolution::add(int id, const Candidate &candidate, double fitness)
{
    m_population.push_back({id, candidate, fitness});
    if (int(m_population.size()) <= m_populationSize)
        return std::nullopt;
    const int oldest = m_population.front().id;
    m_population.pop_front();
    return oldest;
}

} // namespace jb::nas
