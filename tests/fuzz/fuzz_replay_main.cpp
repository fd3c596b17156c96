// SPDX-License-Identifier: GPL-3.0-or-later
// Replays a fuzz target over files without libFuzzer: the CTest regression that every build
// (gcc, no fuzzer runtime) runs over tests/fuzz/corpus/<target>/, and the way to re-run a crash
// file that scripts/fuzz.sh found: fuzz_replay_<target> FILE_OR_FOLDER...
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>

#include <cstdint>
#include <cstdio>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
        return 2;
    }
    int inputs = 0;
    for (int i = 1; i < argc; ++i) {
        const QString arg = QString::fromLocal8Bit(argv[i]);
        QStringList files;
        if (QFileInfo(arg).isDir()) {
            QDirIterator it(arg, QDir::Files, QDirIterator::Subdirectories);
            while (it.hasNext())
                files.append(it.next());
            files.sort();
        } else {
            files.append(arg);
        }
        if (files.isEmpty()) {
            std::fprintf(stderr, "%s: no input files (the corpus folder is empty or missing)\n",
                         qPrintable(arg));
            return 1;
        }
        for (const QString &path : files) {
            QFile f(path);
            if (!f.open(QIODevice::ReadOnly)) {
                std::fprintf(stderr, "%s: cannot read: %s\n", qPrintable(path),
                             qPrintable(f.errorString()));
                return 1;
            }
            const QByteArray bytes = f.readAll();
            LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.constData()),
                                   size_t(bytes.size()));
            ++inputs;
        }
    }
    std::printf("%d inputs replayed without a failed invariant\n", inputs);
    return 0;
}
