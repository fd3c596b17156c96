// SPDX-License-Identifier: GPL-3.0-or-later
#include "selection.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace Qt::StringLiterals;

namespace jb::data {

namespace {

/// A random permutation of [0, n) from its own generator (not torch's global one).
std::vector<int64_t> permutation(int64_t n, uint64_t seed)
{
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const torch::Tensor p = torch::randperm(n, gen, torch::TensorOptions(torch::kLong));
    return {p.data_ptr<int64_t>(), p.data_ptr<int64_t>() + n};
}

/// `count` of `rows`, at random.
std::vector<int64_t> drawFrom(const std::vector<int64_t> &rows, int64_t count, uint64_t seed)
{
    count = std::clamp<int64_t>(count, 0, int64_t(rows.size()));
    const std::vector<int64_t> p = permutation(int64_t(rows.size()), seed);
    std::vector<int64_t> out;
    out.reserve(size_t(count));
    for (int64_t i = 0; i < count; ++i)
        out.push_back(rows[size_t(p[size_t(i)])]);
    return out;
}

/// Seeds for the parts of one draw (per class, per bin): distinct and fixed by the seed.
uint64_t partSeed(uint64_t seed, int64_t part)
{
    return seed * 0x9E3779B97F4A7C15ULL + uint64_t(part) * 0xBF58476D1CE4E5B9ULL + 1;
}

} // namespace

std::optional<RatioSchedule> RatioSchedule::fromParams(const QJsonObject &params, QString *error)
{
    RatioSchedule s;
    s.start = params.value(u"ratio"_s).toDouble(1.0);
    const QString kind = params.value(u"ratio_schedule"_s).toString(u"constant"_s);
    s.kind = kind == u"linear"_s ? Kind::Linear : Kind::Constant;
    s.end = s.kind == Kind::Linear ? params.value(u"ratio_end"_s).toDouble(s.start) : s.start;
    if (!(s.start > 0 && s.start <= 1) || !(s.end > 0 && s.end <= 1)) {
        *error =
            u"params.ratio and params.ratio_end must be in (0, 1], got %1 and %2"_s.arg(s.start)
                .arg(s.end);
        return std::nullopt;
    }
    if (s.kind == Kind::Linear && s.end > s.start) {
        *error = u"params.ratio_end (%1) is larger than params.ratio (%2): the linear schedule "
                 "decreases the ratio; swap them or use ratio_schedule \"constant\""_s.arg(s.end)
                     .arg(s.start);
        return std::nullopt;
    }
    return s;
}

double RatioSchedule::at(int epoch, int epochs) const
{
    if (kind == Kind::Constant || epochs <= 1)
        return start;
    const double t = std::clamp(double(epoch) / double(epochs - 1), 0.0, 1.0);
    return start + (end - start) * t;
}

int64_t subsetCount(int64_t n, double ratio)
{
    if (n <= 0)
        return 0;
    return std::clamp<int64_t>(std::llround(double(n) * ratio), 1, n);
}

std::vector<int64_t> randomRows(int64_t n, int64_t count, uint64_t seed)
{
    std::vector<int64_t> all(size_t(std::max<int64_t>(n, 0)));
    std::iota(all.begin(), all.end(), 0);
    std::vector<int64_t> out = drawFrom(all, count, seed);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<int64_t> stratifiedRandomRows(const torch::Tensor &targets, int64_t count,
                                          uint64_t seed)
{
    const torch::Tensor t = targets.to(torch::kCPU, torch::kLong).contiguous();
    const int64_t n = t.numel();
    const int64_t *y = t.data_ptr<int64_t>();
    const int64_t classes = n > 0 ? t.max().item<int64_t>() + 1 : 0;
    std::vector<std::vector<int64_t>> byClass(size_t(std::max<int64_t>(classes, 0)));
    for (int64_t i = 0; i < n; ++i)
        byClass[size_t(y[i])].push_back(i);
    count = std::clamp<int64_t>(count, 0, n);

    // Largest-remainder apportionment of `count` over the classes by their size.
    std::vector<int64_t> quota(byClass.size());
    std::vector<std::pair<double, int64_t>> remainders;
    int64_t given = 0;
    for (size_t c = 0; c < byClass.size(); ++c) {
        const double exact = double(count) * double(byClass[c].size()) / double(n);
        quota[c] = int64_t(std::floor(exact));
        given += quota[c];
        remainders.emplace_back(exact - double(quota[c]), int64_t(c));
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto &a, const auto &b) { return a.first > b.first; });
    for (size_t i = 0; given < count && i < remainders.size(); ++i) {
        const auto c = size_t(remainders[i].second);
        if (quota[c] < int64_t(byClass[c].size())) {
            ++quota[c];
            ++given;
        }
    }
    std::vector<int64_t> out;
    out.reserve(size_t(count));
    for (size_t c = 0; c < byClass.size(); ++c) {
        const std::vector<int64_t> part =
            drawFrom(byClass[c], quota[c], partSeed(seed, int64_t(c)));
        out.insert(out.end(), part.begin(), part.end());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<int64_t> hardestRows(const std::vector<double> &scores, int64_t count)
{
    std::vector<int64_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    count = std::clamp<int64_t>(count, 0, int64_t(order.size()));
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return scores[size_t(a)] > scores[size_t(b)]; });
    order.resize(size_t(count));
    std::sort(order.begin(), order.end());
    return order;
}

std::vector<int64_t> binStratifiedRows(const std::vector<double> &scores, int64_t count, int bins,
                                       uint64_t seed)
{
    bins = std::max(bins, 1);
    count = std::clamp<int64_t>(count, 0, int64_t(scores.size()));
    if (scores.empty())
        return {};
    const auto [lo, hi] = std::minmax_element(scores.begin(), scores.end());
    const double width = (*hi - *lo) / double(bins);
    std::vector<std::vector<int64_t>> members(static_cast<size_t>(bins));
    for (size_t i = 0; i < scores.size(); ++i) {
        const int b = width > 0 ? std::min(int((scores[i] - *lo) / width), bins - 1) : 0;
        members[size_t(b)].push_back(int64_t(i));
    }
    // Fill the smallest bins first; what a bin cannot take goes to the remaining ones.
    std::vector<size_t> bySize(members.size());
    std::iota(bySize.begin(), bySize.end(), 0);
    std::stable_sort(bySize.begin(), bySize.end(),
                     [&](size_t a, size_t b) { return members[a].size() < members[b].size(); });
    std::vector<int64_t> out;
    out.reserve(size_t(count));
    int64_t left = count;
    for (size_t k = 0; k < bySize.size(); ++k) {
        const size_t b = bySize[k];
        const int64_t share = left / int64_t(bySize.size() - k);
        const int64_t take = std::min<int64_t>(share, int64_t(members[b].size()));
        const std::vector<int64_t> part = drawFrom(members[b], take, partSeed(seed, int64_t(b)));
        out.insert(out.end(), part.begin(), part.end());
        left -= take;
    }
    // Integer shares may leave a few rows: take them from the largest bins, still at random.
    for (size_t k = bySize.size(); left > 0 && k-- > 0;) {
        const size_t b = bySize[k];
        std::vector<int64_t> rest;
        std::vector<int64_t> taken = out;
        std::sort(taken.begin(), taken.end());
        for (int64_t r : members[b])
            if (!std::binary_search(taken.begin(), taken.end(), r))
                rest.push_back(r);
        const std::vector<int64_t> part = drawFrom(rest, left, partSeed(seed, int64_t(b) + bins));
        out.insert(out.end(), part.begin(), part.end());
        left -= int64_t(part.size());
    }
    std::sort(out.begin(), out.end());
    return out;
}

torch::Tensor el2nScores(const torch::Tensor &logits, const torch::Tensor &targets)
{
    torch::NoGradGuard noGrad;
    const torch::Tensor p = torch::softmax(logits.detach().to(torch::kCPU, torch::kDouble), 1);
    const torch::Tensor onehot =
        torch::one_hot(targets.to(torch::kCPU, torch::kLong), logits.size(1)).to(torch::kDouble);
    return (p - onehot).norm(2, {1});
}

ForgettingCounter::ForgettingCounter(int64_t rows)
    : m_events(size_t(rows), 0), m_presented(size_t(rows), 0), m_learned(size_t(rows), 0),
      m_last(size_t(rows), 0)
{
}

void ForgettingCounter::record(const torch::Tensor &rows, const torch::Tensor &correct)
{
    const torch::Tensor r = rows.to(torch::kCPU, torch::kLong).contiguous();
    const torch::Tensor c = correct.to(torch::kCPU, torch::kBool).contiguous();
    const int64_t *rp = r.data_ptr<int64_t>();
    const bool *cp = c.data_ptr<bool>();
    for (int64_t i = 0; i < r.numel(); ++i) {
        const auto row = size_t(rp[i]);
        const uint8_t now = cp[i] ? 1 : 0;
        if (m_presented[row] > 0 && m_last[row] && !now)
            ++m_events[row];
        m_last[row] = now;
        m_learned[row] |= now;
        ++m_presented[row];
    }
}

std::vector<double> ForgettingCounter::scores() const
{
    const int64_t most = m_events.empty() ? 0 : *std::max_element(m_events.begin(), m_events.end());
    std::vector<double> out(m_events.size());
    for (size_t i = 0; i < m_events.size(); ++i)
        out[i] = m_learned[i] ? double(m_events[i]) : double(most + 1);
    return out;
}

int64_t ForgettingCounter::unforgettable() const
{
    int64_t n = 0;
    for (size_t i = 0; i < m_events.size(); ++i)
        n += m_learned[i] && m_events[i] == 0;
    return n;
}

int64_t ForgettingCounter::neverLearned() const
{
    return int64_t(std::count(m_learned.begin(), m_learned.end(), uint8_t(0)));
}

} // namespace jb::data
