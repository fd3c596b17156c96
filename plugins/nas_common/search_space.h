// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/arch_spec.h"

#include <QJsonObject>
#include <QList>
#include <QString>

#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <vector>

namespace jb::nas {

/// One convolution block of a candidate: conv (or depthwise + 1x1 pointwise) -> BN -> ReLU.
struct Block
{
    int64_t width = 16;     ///< output channels
    int64_t kernel = 3;     ///< odd; padding kernel / 2 keeps the spatial size
    bool depthwise = false; ///< depthwise-separable: depthwise kxk, then pointwise 1x1
    bool operator==(const Block &other) const = default;
};

/// A point of the search space (the genotype): the conv blocks in order.
struct Candidate
{
    std::vector<Block> blocks;
    bool operator==(const Candidate &other) const = default;
    /// A short unique text, e.g. "c16k3-s32k5" (c: plain conv, s: depthwise-separable).
    QString key() const;
    QJsonObject toJson() const;
};

/// The search space on the architecture spec: depth (number of conv blocks), a width and a
/// kernel size per block, depthwise-separable or not. Pools: `pools` 2x2 max-pools spread evenly
/// over the blocks (after block i when floor((i+1) p / d) > floor(i p / d)); the head is
/// flatten -> linear(numClasses). Every candidate builds to a valid spec for the input shape
/// (the constructor checks that the smallest spatial size survives the pools).
///
/// Plain value; sample()/mutate() use only the generator they are given (deterministic for a
/// seed); any thread.
class SearchSpace
{
public:
    struct Options
    {
        std::vector<int64_t> inputShape = {1, 28, 28}; ///< [C, H, W] of one sample
        int64_t numClasses = 10;
        int minDepth = 2;
        int maxDepth = 4;
        std::vector<int64_t> widths = {8, 16, 24, 32, 48};
        std::vector<int64_t> kernels = {3, 5};
        bool allowDepthwise = true;
        int pools = 2;
    };

    /// Checks the options; the message names the parameter (min_depth, widths, kernels, pools).
    static std::optional<SearchSpace> create(const Options &options, QString *error);
    /// Parses "8,16,24" (positive integers, no duplicates); the message names `parameter`.
    static std::optional<std::vector<int64_t>> parseList(const QString &text,
                                                         const QString &parameter, QString *error);

    const Options &options() const { return m_options; }

    /// A uniformly random candidate: depth in [minDepth, maxDepth], each block's width, kernel
    /// and depthwise flag drawn independently.
    Candidate sample(std::mt19937_64 &rng) const;
    Candidate sample(uint64_t seed) const;
    /// One change, always different from `parent` when the space allows one: a block's width,
    /// a block's kernel, a block's depthwise flag, a random block added (at a random position)
    /// or a block removed. `what` (may be null) gets a description ("width of block 2: 16 -> 32").
    Candidate mutate(const Candidate &parent, std::mt19937_64 &rng, QString *what = nullptr) const;
    /// True when the candidate lies in the space (depth, widths, kernels, depthwise allowed).
    bool contains(const Candidate &candidate) const;

    /// The architecture spec of a candidate, named "nas-<key>", validated (ArchSpec::validate).
    std::optional<ArchSpec> build(const Candidate &candidate, QString *error) const;

private:
    explicit SearchSpace(Options options) : m_options(std::move(options)) {}
    Block randomBlock(std::mt19937_64 &rng) const;
    Options m_options;
};

/// Pareto front of (accuracy up, cost down) points: true for a point no other point dominates
/// (another with accuracy >= and cost <= and one of them strict). Equal points are all on it.
std::vector<bool> paretoFront(const std::vector<double> &accuracy, const std::vector<double> &cost);

/// One evaluated member of the evolving population.
struct Member
{
    int id = 0;
    Candidate candidate;
    double fitness = 0; ///< larger is better
};

/// Regularized evolution (Real, Aggarwal, Huang, Le: Regularized Evolution for Image Classifier
/// Architecture Search, AAAI 2019): while the population has fewer than `populationSize`
/// members, candidates are random; afterwards `sampleSize` members are drawn at random (with
/// replacement), the fittest of them is mutated, the child joins as the youngest member and the
/// OLDEST member leaves (aging), whatever its fitness.
///
/// Threads: one thread at a time. Deterministic for a seed and the same fitness values.
class RegularizedEvolution
{
public:
    RegularizedEvolution(SearchSpace space, int populationSize, int sampleSize, uint64_t seed);

    /// The next candidate to evaluate; *parentId is the tournament winner's id, or -1 for a
    /// random one (population still filling). `what` describes the mutation (may be null).
    Candidate next(int *parentId, QString *what = nullptr);
    /// Adds an evaluated candidate as the youngest member. When the population then exceeds
    /// its size, the oldest member is removed and its id returned.
    std::optional<int> add(int id, const Candidate &candidate, double fitness);
    /// Oldest first.
    const std::deque<Member> &population() const { return m_population; }

private:
    SearchSpace m_space;
    int m_populationSize;
    int m_sampleSize;
    std::mt19937_64 m_rng;
    std::deque<Member> m_population;
};

} // namespace jb::nas
