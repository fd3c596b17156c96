// SPDX-License-Identifier: GPL-3.0-or-later
#include "sample_codec.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

static_assert(std::endian::native == std::endian::little,
              "sample chunks are stored little-endian; add byte swapping for this platform");

namespace jb::db {

namespace {

constexpr double TimeScale = 1e9;      // ns
constexpr double MicroScale = 1e6;     // uJ
constexpr double NanoScale = 1e9;      // nJ
constexpr double MaxExactInt = 9.0e15; // below 2^53: integers and their doubles agree

inline quint64 zigzag(qint64 v)
{
    return (static_cast<quint64>(v) << 1) ^ static_cast<quint64>(v >> 63);
}
inline qint64 unzigzag(quint64 z)
{
    return static_cast<qint64>(z >> 1) ^ -static_cast<qint64>(z & 1);
}

inline void putVarint(uchar *&p, quint64 v)
{
    while (v >= 0x80) {
        *p++ = static_cast<uchar>(v) | 0x80;
        v >>= 7;
    }
    *p++ = static_cast<uchar>(v);
}

inline bool getVarint(const uchar *&p, const uchar *end, quint64 *v)
{
    quint64 result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return false;
        const uchar b = *p++;
        result |= static_cast<quint64>(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = result;
            return true;
        }
    }
    return false;
}

inline double valueOf(const EnergySample &s, bool time)
{
    return time ? s.t : s.joules;
}

/// Integer-grid column: Order 1 = deltas, 2 = delta-of-deltas, of round(value x scale).
/// Without Residual: false as soon as a value does not convert back exactly (the caller then
/// tries the next codec). With Residual: after each delta, the distance in ulps between the
/// value and its grid point, so any value near the grid (e.g. t - t0 of ns timestamps, or
/// energy summed in doubles) is stored exactly in a few bytes. False when out of range.
template <int Order, bool Residual>
bool encodeGrid(const EnergySample *s, int n, bool time, double scale, uchar *&p)
{
    qint64 prev = 0;
    qint64 prevDelta = 0;
    for (int i = 0; i < n; ++i) {
        const double v = valueOf(s[i], time);
        const double x = v * scale;
        if (!(std::fabs(x) < MaxExactInt))
            return false;
        const qint64 q = static_cast<qint64>(x >= 0 ? x + 0.5 : x - 0.5);
        const double r = static_cast<double>(q) / scale;
        const quint64 residual = std::bit_cast<quint64>(v) - std::bit_cast<quint64>(r);
        if (!Residual && residual != 0)
            return false;
        const qint64 delta = q - prev;
        putVarint(p, zigzag(Order == 2 ? delta - prevDelta : delta));
        if (Residual)
            putVarint(p, zigzag(static_cast<qint64>(residual)));
        prevDelta = delta;
        prev = q;
    }
    return true;
}

template <int Order, bool Residual>
bool decodeGrid(const uchar *&p, const uchar *end, int n, bool time, double scale,
                EnergySample *out)
{
    // Unsigned (wrapping) sums: a damaged blob must not be undefined behaviour.
    quint64 q = 0;
    quint64 delta = 0;
    for (int i = 0; i < n; ++i) {
        quint64 z;
        if (!getVarint(p, end, &z))
            return false;
        const quint64 v = static_cast<quint64>(unzigzag(z));
        if (Order == 2)
            delta += v;
        else
            delta = v;
        q += delta;
        double value = static_cast<double>(static_cast<qint64>(q)) / scale;
        if (Residual) {
            if (!getVarint(p, end, &z))
                return false;
            value = std::bit_cast<double>(std::bit_cast<quint64>(value) +
                                          static_cast<quint64>(unzigzag(z)));
        }
        if (time)
            out[i].t = value;
        else
            out[i].joules = value;
    }
    return true;
}

void encodeRaw(const EnergySample *s, int n, bool time, uchar *&p)
{
    for (int i = 0; i < n; ++i) {
        const double v = valueOf(s[i], time);
        std::memcpy(p, &v, sizeof v);
        p += sizeof v;
    }
}

bool decodeRaw(const uchar *&p, const uchar *end, int n, bool time, EnergySample *out)
{
    if (end - p < static_cast<qsizetype>(n) * 8)
        return false;
    for (int i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, p, sizeof v);
        p += sizeof v;
        if (time)
            out[i].t = v;
        else
            out[i].joules = v;
    }
    return true;
}

} // namespace

float SampleCodec::floorToFloat(double x)
{
    float f = static_cast<float>(x);
    if (static_cast<double>(f) > x)
        f = std::nextafter(f, -std::numeric_limits<float>::infinity());
    return f;
}

float SampleCodec::ceilToFloat(double x)
{
    float f = static_cast<float>(x);
    if (static_cast<double>(f) < x)
        f = std::nextafter(f, std::numeric_limits<float>::infinity());
    return f;
}

void SampleCodec::encode(const EnergySample *s, int n, const EnergySample *prev, EncodedChunk *out)
{
    Q_ASSERT(n >= 1);
    out->n = n;
    out->t0 = s[0].t;
    out->t1 = s[n - 1].t;
    out->j0 = s[0].joules;
    out->j1 = s[n - 1].joules;
    out->hasPrev = prev != nullptr;
    out->prevT = prev ? prev->t : 0;
    out->prevJ = prev ? prev->joules : 0;

    // Pyramid levels: exact chunk extremes (double) and per-block extremes (float, outward).
    constexpr double inf = std::numeric_limits<double>::infinity();
    const int nBlocks = (n + BlockSize - 1) / BlockSize;
    out->blocks.resize(static_cast<qsizetype>(nBlocks) * sizeof(BlockSummary));
    auto *blocks = reinterpret_cast<BlockSummary *>(out->blocks.data());
    double chunkMin = inf, chunkMax = -inf;
    double lastT = prev ? prev->t : 0, lastJ = prev ? prev->joules : 0;
    bool haveLast = prev != nullptr;
    for (int b = 0; b < nBlocks; ++b) {
        const int begin = b * BlockSize;
        const int end = std::min(n, begin + BlockSize);
        double bMin = inf, bMax = -inf;
        for (int i = begin; i < end; ++i) {
            const double t = s[i].t, j = s[i].joules;
            if (haveLast) {
                const double dt = t - lastT;
                if (dt > 0) {
                    const double p = (j - lastJ) / dt;
                    bMin = std::min(bMin, p);
                    bMax = std::max(bMax, p);
                }
            }
            lastT = t;
            lastJ = j;
            haveLast = true;
        }
        BlockSummary bs;
        bs.tEnd = s[end - 1].t;
        bs.jEnd = s[end - 1].joules;
        bs.minW = floorToFloat(bMin);
        bs.maxW = ceilToFloat(bMax);
        std::memcpy(&blocks[b], &bs, sizeof bs);
        chunkMin = std::min(chunkMin, bMin);
        chunkMax = std::max(chunkMax, bMax);
    }
    out->pMin = chunkMin <= chunkMax ? chunkMin : NoValue;
    out->pMax = chunkMin <= chunkMax ? chunkMax : NoValue;

    // Worst case: 4-byte header + two columns of two 10-byte varints per value.
    out->data.resize(4 + static_cast<qsizetype>(n) * 40);
    uchar *const base = reinterpret_cast<uchar *>(out->data.data());
    uchar *p = base + 4;
    // Each column: the exact grid if every value is on it (fails fast otherwise), else the
    // grid with residuals, else raw doubles; residuals only where they beat raw.
    const qsizetype rawBytes = static_cast<qsizetype>(n) * 8;
    const auto column = [&](bool time, auto &&attempts) {
        uchar *const start = p;
        for (const auto &[codec, encode] : attempts) {
            p = start;
            if (encode(p) && p - start <= rawBytes)
                return codec;
        }
        p = start;
        encodeRaw(s, n, time, p);
        return 0;
    };
    using Attempt = std::pair<int, std::function<bool(uchar *&)>>;
    const int timeCodec = column(
        true,
        std::array<Attempt, 2>{
            Attempt{TimeNanoDod,
                    [&](uchar *&q) { return encodeGrid<2, false>(s, n, true, TimeScale, q); }},
            Attempt{TimeNanoDodResidual,
                    [&](uchar *&q) { return encodeGrid<2, true>(s, n, true, TimeScale, q); }}});
    const quint32 timeBytes = static_cast<quint32>(p - (base + 4));
    std::memcpy(base, &timeBytes, 4);
    const int energyCodec = column(
        false,
        std::array<Attempt, 3>{
            Attempt{EnergyMicroDelta,
                    [&](uchar *&q) { return encodeGrid<1, false>(s, n, false, MicroScale, q); }},
            Attempt{EnergyNanoDelta,
                    [&](uchar *&q) { return encodeGrid<1, false>(s, n, false, NanoScale, q); }},
            Attempt{EnergyMicroDeltaResidual,
                    [&](uchar *&q) { return encodeGrid<1, true>(s, n, false, MicroScale, q); }}});
    out->data.resize(p - base);
    out->codec = timeCodec | (energyCodec << 4);
}

bool SampleCodec::decode(int codec, const QByteArray &data, int n, std::vector<EnergySample> *out,
                         QString *error)
{
    const auto bad = [&](const char *why) {
        if (error)
            *error = QStringLiteral("sample chunk (codec %1, %2 samples) is malformed: %3")
                         .arg(codec)
                         .arg(n)
                         .arg(QString::fromLatin1(why));
        return false;
    };
    if (n <= 0)
        return bad("no samples");
    if (data.size() < 4)
        return bad("shorter than its header");
    const uchar *const base = reinterpret_cast<const uchar *>(data.constData());
    const uchar *const end = base + data.size();
    quint32 timeBytes;
    std::memcpy(&timeBytes, base, 4);
    if (timeBytes > static_cast<quint64>(data.size() - 4))
        return bad("time column longer than the blob");
    const size_t first = out->size();
    out->resize(first + n);
    EnergySample *dst = out->data() + first;
    const uchar *p = base + 4;
    const uchar *const timeEnd = p + timeBytes;
    bool ok;
    switch (timeCodec(codec)) {
    case TimeRaw:
        ok = decodeRaw(p, timeEnd, n, true, dst);
        break;
    case TimeNanoDod:
        ok = decodeGrid<2, false>(p, timeEnd, n, true, TimeScale, dst);
        break;
    case TimeNanoDodResidual:
        ok = decodeGrid<2, true>(p, timeEnd, n, true, TimeScale, dst);
        break;
    default:
        ok = false;
    }
    if (!ok || p != timeEnd) {
        out->resize(first);
        return bad("time column does not decode");
    }
    switch (energyCodec(codec)) {
    case EnergyRaw:
        ok = decodeRaw(p, end, n, false, dst);
        break;
    case EnergyMicroDelta:
        ok = decodeGrid<1, false>(p, end, n, false, MicroScale, dst);
        break;
    case EnergyMicroDeltaResidual:
        ok = decodeGrid<1, true>(p, end, n, false, MicroScale, dst);
        break;
    case EnergyNanoDelta:
        ok = decodeGrid<1, false>(p, end, n, false, NanoScale, dst);
        break;
    default:
        ok = false;
    }
    if (!ok || p != end) {
        out->resize(first);
        return bad("energy column does not decode");
    }
    return true;
}

bool SampleCodec::decodeBlocks(const QByteArray &blocks, int n, std::vector<BlockSummary> *out,
                               QString *error)
{
    const int nBlocks = (n + BlockSize - 1) / BlockSize;
    const qsizetype expected = static_cast<qsizetype>(nBlocks) * qsizetype(sizeof(BlockSummary));
    if (n <= 0 || blocks.size() != expected) {
        if (error)
            *error = QStringLiteral("block summary of a chunk of %1 samples has %2 bytes, "
                                    "expected %3")
                         .arg(n)
                         .arg(blocks.size())
                         .arg(expected);
        return false;
    }
    const size_t first = out->size();
    out->resize(first + nBlocks);
    std::memcpy(out->data() + first, blocks.constData(), blocks.size());
    return true;
}

} // namespace jb::db
