#!/usr/bin/env bash
# Runs every test of mpsa on Debian 12, as root: installs the dependencies (scripts/setup.sh),
# builds twice and runs ctest:
#   build/      g++ 12, RelWithDebInfo: all labels (unit kernel frr strongswan vm lab)
#   build-san/  clang, ASan + UBSan + libFuzzer: unit tests again under sanitizers, fuzz runs
# Options through the environment: MPSA_TEST_LABELS (ctest -L regex for build/, default: all but
# fuzz), MPSA_SKIP_SAN=1 (skip the sanitizer build), MPSA_JOBS (default: nproc),
# MPSA_FUZZ_SECONDS (per fuzz target, default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${MPSA_JOBS:-$(nproc)}
start=$(date +%s)
say() { printf '\n=== %s (%ds)\n' "$*" $(($(date +%s) - start)); }

say "setup"
"$root/scripts/setup.sh"

# Leftovers of an interrupted earlier run (namespaces, FRR) must not disturb this one.
/usr/bin/python3 "$root/tests/lab/labrun.py" gc || true

say "format check"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target format-check

say "build (g++)"
cmake --build build -j "$jobs"

if [[ ${MPSA_SKIP_SAN:-0} != 1 ]]; then
    say "build (clang, ASan + UBSan + libFuzzer)"
    CXX=clang++ cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMPSA_SANITIZE=ON \
        -DMPSA_FUZZ=ON -DMPSA_BUILD_BENCH=OFF \
        -DMPSA_FUZZ_SECONDS="${MPSA_FUZZ_SECONDS:-30}" >/dev/null
    cmake --build build-san -j "$jobs"
    say "unit + fuzz tests under sanitizers"
    (cd build-san && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest -L 'unit|fuzz' -j "$jobs" --output-on-failure --no-tests=error)
fi

say "all tests (g++ build)"
# The VM tests use a whole core each under TCG: run them two at a time at most.
cd build
ctest -L "${MPSA_TEST_LABELS:-unit|kernel|frr|strongswan|vm|lab}" -j "$jobs" \
    --output-on-failure --no-tests=error --timeout 1200
