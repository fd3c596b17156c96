// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QJsonObject>
#include <QString>
#include <QStringList>

namespace jb {

/// The BLAS library libtorch's fp32 matrix products actually call. Debian's libtorch calls
/// whatever `libblas.so.3` the alternatives system selects; the reference (netlib) BLAS makes
/// fp32 matmul ~30x slower than OpenBLAS, which would falsify every energy figure.
struct BlasInfo
{
    /// "openblas", "blis", "mkl", "atlas", "reference" (netlib) or "unknown".
    QString kind;
    /// The loaded object that provides sgemm_ (found with dlsym + dladdr, symlinks resolved),
    /// e.g. /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3.
    QString library;
    /// openblas_get_config() when the library has it, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH
    /// NO_AFFINITY Haswell MAX_THREADS=64"; empty otherwise.
    QString config;
    /// Threads the BLAS will use (openblas_get_num_threads), 0 when it cannot say.
    int threads = 0;
    /// Every loaded object that looks like a BLAS (there may be more than one: Debian's libtorch
    /// also links libopenblas.so.0 directly), for the record.
    QStringList loadedLibraries;

    bool isReference() const { return kind == QLatin1String("reference"); }
    QJsonObject toJson() const;
};

/// Looks at the libraries loaded into this process (no I/O beyond /proc-free dl_* calls). Any
/// thread, cheap (< 1 ms).
BlasInfo detectBlas();

/// Sets the thread count of every loaded OpenBLAS or BLIS (openblas_set_num_threads /
/// bli_thread_set_num_threads, looked up with dlsym), so BLAS calls use the same number of
/// threads as libtorch's intra-op pool. Returns the number of libraries set; 0 when none offers
/// a setter (then the BLAS follows OMP_NUM_THREADS / omp_set_num_threads, which
/// at::set_num_threads also sets). Call it from the thread that configures the backend.
int setBlasThreads(int threads);

} // namespace jb
