#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by run.sh and test.sh: install what is missing, configure and build.

JB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JB_BUILD="${JB_BUILD_DIR:-$JB_ROOT/build}"

# Every Debian package the project needs to build, test and run.
JB_PACKAGES=(
    build-essential cmake ninja-build git pkg-config
    qt6-base-dev qt6-base-dev-tools libqt6sql6-sqlite libqt6opengl6-dev
    libqcustomplot-dev
    qt6-svg-dev           # SVG chart export
    libtorch-dev
    libsqlite3-dev sqlite3
    zlib1g-dev            # the data-set readers gunzip IDX files themselves
    libopenblas0-openmp   # fp32 baselines are ~30x slower with the reference BLAS
    dataset-fashion-mnist # the default demo data set
    xvfb xauth            # GUI tests and screenshots without a display
    python3-torch         # the peer the engine's speed is compared against (tests/bench)
    clang                 # libFuzzer targets and the sanitizer build
)

jb_log() { printf '\033[1m[joulebench]\033[0m %s\n' "$*" >&2; }

jb_install_packages() {
    if [ "${JB_SKIP_INSTALL:-0}" = 1 ]; then
        jb_log "JB_SKIP_INSTALL=1: not installing packages"
        return 0
    fi
    local missing=()
    for p in "${JB_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        jb_log "all ${#JB_PACKAGES[@]} required Debian packages are present"
    else
        jb_log "installing missing Debian packages: ${missing[*]}"
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then
            command -v sudo >/dev/null || { jb_log "error: not root and no sudo; install as root: apt-get install ${missing[*]}"; return 1; }
            sudo="sudo"
        fi
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # libtorch calls whatever libblas.so.3 is selected; make it OpenBLAS, never the reference BLAS.
    local blas
    blas="$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/ {print $2}')"
    case "$blas" in
        *openblas*) ;;
        *)
            local ob=/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
            if [ -e "$ob" ] && [ "$(id -u)" -eq 0 ]; then
                jb_log "selecting OpenBLAS as libblas.so.3 (was: ${blas:-unset})"
                update-alternatives --set libblas.so.3-x86_64-linux-gnu "$ob" >/dev/null
            else
                jb_log "warning: libblas.so.3 is '${blas:-unset}', not OpenBLAS: fp32 timings will be ~30x too slow"
            fi ;;
    esac
}

jb_build() {
    local generator=()
    command -v ninja >/dev/null && generator=(-G Ninja)
    if [ ! -f "$JB_BUILD/CMakeCache.txt" ]; then
        cmake -S "$JB_ROOT" -B "$JB_BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
    else
        cmake "$JB_BUILD" "$@" >/dev/null
    fi
    cmake --build "$JB_BUILD" -j"$(nproc)"
}
