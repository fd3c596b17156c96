// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "store_types.h"

#include <QByteArray>

#include <vector>

namespace jb::db {

/// Summary of one block of SampleCodec::BlockSize consecutive samples of a chunk: the
/// second level of the downsampling pyramid (the chunk row itself is the third).
struct BlockSummary
{
    double tEnd = 0; ///< time of the block's last sample
    double jEnd = 0; ///< cumulative joules at the block's last sample
    float minW = 0;  ///< lowest interval power, rounded down to float (+inf: no interval)
    float maxW = 0;  ///< highest interval power, rounded up to float (-inf: no interval)
};
static_assert(sizeof(BlockSummary) == 24);

/// A chunk of samples of one domain, ready to be stored as one sample_chunk row.
struct EncodedChunk
{
    int n = 0;
    double t0 = 0, t1 = 0;                 ///< first and last sample time
    double j0 = 0, j1 = 0;                 ///< first and last cumulative joules
    bool hasPrev = false;                  ///< false only for the first chunk of a series
    double prevT = 0, prevJ = 0;           ///< last sample of the previous chunk
    double pMin = NoValue, pMax = NoValue; ///< exact interval power extremes (NaN: none)
    int codec = 0;
    QByteArray blocks; ///< BlockSummary array, little-endian
    QByteArray data;   ///< encoded times and joules
};

/// Lossless chunk encoding of (t, cumulative J) samples.
///
/// Times are stored as nanosecond integers (delta-of-delta, zigzag varint) and joules as
/// micro- or nanojoule integers (delta, zigzag varint) when every value of the chunk converts
/// back to exactly the same double. Values near that grid but not on it (t - t0 of ns clock
/// readings, energy summed in doubles) get a per-value residual in ulps; raw doubles are the
/// last resort. Decoding always returns the bit-identical doubles that were encoded.
///
/// Power of the interval (t[i-1], t[i]] is (J[i] - J[i-1]) / (t[i] - t[i-1]); intervals of zero
/// length have no power. Threads: stateless, any thread.
class SampleCodec
{
public:
    static constexpr int BlockSize = 64;

    enum TimeCodec : int { TimeRaw = 0, TimeNanoDod = 1, TimeNanoDodResidual = 2 };
    enum EnergyCodec : int {
        EnergyRaw = 0,
        EnergyMicroDelta = 1,
        EnergyNanoDelta = 2,
        EnergyMicroDeltaResidual = 3,
    };
    static int timeCodec(int codec) { return codec & 0x0f; }
    static int energyCodec(int codec) { return (codec >> 4) & 0x0f; }

    /// Encodes n >= 1 samples with non-decreasing t. prev is the last sample of the previous
    /// chunk of the same series (nullptr for the first chunk).
    static void encode(const EnergySample *samples, int n, const EnergySample *prev,
                       EncodedChunk *out);
    /// Appends the n samples of an encoded data blob to out. False on malformed data.
    static bool decode(int codec, const QByteArray &data, int n, std::vector<EnergySample> *out,
                       QString *error);
    /// The block summaries of a chunk of n samples. False when the blob has the wrong size.
    static bool decodeBlocks(const QByteArray &blocks, int n, std::vector<BlockSummary> *out,
                             QString *error);

    static float floorToFloat(double x);
    static float ceilToFloat(double x);
};

} // namespace jb::db
