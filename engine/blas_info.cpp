// SPDX-License-Identifier: GPL-3.0-or-later
#include "blas_info.h"

#include "engine_log.h"

#include <QFileInfo>
#include <QJsonArray>

#include <dlfcn.h>
#include <link.h>

namespace jb {

namespace {

QStringList loadedObjects()
{
    QStringList paths;
    dl_iterate_phdr(
        [](dl_phdr_info *info, size_t, void *data) {
            if (info->dlpi_name && info->dlpi_name[0])
                static_cast<QStringList *>(data)->append(QString::fromLocal8Bit(info->dlpi_name));
            return 0;
        },
        &paths);
    return paths;
}

QString realPath(const QString &path)
{
    const QString canonical = QFileInfo(path).canonicalFilePath();
    return canonical.isEmpty() ? path : canonical;
}

bool looksLikeBlas(const QString &path)
{
    const QString file = QFileInfo(path).fileName();
    return file.startsWith(QLatin1String("libblas")) || file.contains(QLatin1String("openblas")) ||
           file.startsWith(QLatin1String("libblis")) || file.startsWith(QLatin1String("libmkl_rt")) ||
           file.startsWith(QLatin1String("libmkl_core")) || file.contains(QLatin1String("atlas"));
}

/// Classifies a BLAS by its resolved path (Debian installs each under its own folder:
/// openblas-openmp/, openblas-pthread/, blis-openmp/, atlas/, blas/ for the reference one).
QString classify(const QString &resolved, const QString &asLoaded)
{
    const QString both = resolved + QLatin1Char(' ') + asLoaded;
    if (both.contains(QLatin1String("openblas"), Qt::CaseInsensitive))
        return QStringLiteral("openblas");
    if (both.contains(QLatin1String("blis"), Qt::CaseInsensitive))
        return QStringLiteral("blis");
    if (both.contains(QLatin1String("mkl"), Qt::CaseInsensitive))
        return QStringLiteral("mkl");
    if (both.contains(QLatin1String("atlas"), Qt::CaseInsensitive))
        return QStringLiteral("atlas");
    if (resolved.contains(QLatin1String("/blas/libblas")) ||
        resolved.contains(QLatin1String("/libblas.so.3.")))
        return QStringLiteral("reference");
    return QStringLiteral("unknown");
}

/// A handle on an object that is already loaded (RTLD_NOLOAD: never loads anything).
void *loadedHandle(const QString &path)
{
    return dlopen(path.toLocal8Bit().constData(), RTLD_LAZY | RTLD_NOLOAD);
}

} // namespace

QJsonObject BlasInfo::toJson() const
{
    return QJsonObject{{QStringLiteral("kind"), kind},
                       {QStringLiteral("library"), library},
                       {QStringLiteral("config"), config},
                       {QStringLiteral("threads"), threads},
                       {QStringLiteral("loadedLibraries"), QJsonArray::fromStringList(loadedLibraries)}};
}

BlasInfo detectBlas()
{
    BlasInfo info;
    info.kind = QStringLiteral("unknown");
    for (const QString &p : loadedObjects()) {
        if (looksLikeBlas(p))
            info.loadedLibraries << realPath(p);
    }
    info.loadedLibraries.removeDuplicates();
    // Which object answers sgemm_ in the global scope is the one libtorch's calls reach.
    void *sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
    Dl_info where{};
    if (!sgemm || !dladdr(sgemm, &where) || !where.dli_fname) {
        info.kind = QStringLiteral("none");
        qCWarning(lcEngine) << "no BLAS symbol sgemm_ is loaded: libtorch is not using a BLAS";
        return info;
    }
    const QString asLoaded = QString::fromLocal8Bit(where.dli_fname);
    info.library = realPath(asLoaded);
    info.kind = classify(info.library, asLoaded);
    if (void *h = loadedHandle(asLoaded)) {
        using ConfigFn = char *(*)();
        using ThreadsFn = int (*)();
        if (auto cfg = reinterpret_cast<ConfigFn>(dlsym(h, "openblas_get_config")))
            info.config = QString::fromLatin1(cfg()).trimmed();
        if (auto thr = reinterpret_cast<ThreadsFn>(dlsym(h, "openblas_get_num_threads")))
            info.threads = thr();
        else if (auto bli = reinterpret_cast<ThreadsFn>(dlsym(h, "bli_thread_get_num_threads")))
            info.threads = bli();
        dlclose(h);
    }
    if (info.kind == QLatin1String("unknown") && info.config.startsWith(QLatin1String("OpenBLAS")))
        info.kind = QStringLiteral("openblas");
    if (info.isReference())
        qCWarning(lcEngine).noquote()
            << "libtorch uses the reference BLAS" << info.library
            << "- fp32 timings and energy will be ~30x too high; select OpenBLAS: "
               "update-alternatives --set libblas.so.3-x86_64-linux-gnu "
               "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3";
    return info;
}

int setBlasThreads(int threads)
{
    int set = 0;
    QStringList done;
    QList<void *> called; // a shim (libblas.so.3) and its OpenBLAS resolve to one function
    for (const QString &p : loadedObjects()) {
        // Two names of one file (libopenblas.so.0, openblas-openmp/libblas.so.3) are one object.
        if (!looksLikeBlas(p) || done.contains(realPath(p)))
            continue;
        done << realPath(p);
        void *h = loadedHandle(p);
        if (!h)
            continue;
        using SetFn = void (*)(int);
        void *f = dlsym(h, "openblas_set_num_threads");
        if (!f)
            f = dlsym(h, "bli_thread_set_num_threads");
        if (f && !called.contains(f)) {
            reinterpret_cast<SetFn>(f)(threads);
            called << f;
            ++set;
        }
        dlclose(h);
    }
    return set;
}

} // namespace jb
