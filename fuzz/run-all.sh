#!/usr/bin/env bash
# Builds the fuzz targets and runs each one for a fixed time, one after another.
#
#   fuzz/run-all.sh [SECONDS_PER_TARGET [TARGET...]]     (default 20 s, every target)
#
# Prints libFuzzer's closing lines for each target and exits non-zero if any target
# crashed; the full output of each run is kept in fuzz/target/run-all-logs/.
set -euo pipefail
cd "$(dirname "$0")"

# Not called SECONDS: bash's SECONDS counts the seconds since the shell started.
seconds_per_target="${1:-20}"
if ! [[ "$seconds_per_target" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET [TARGET...]]  (a positive whole number, default 20)" >&2
    exit 2
fi
shift $(($# > 0 ? 1 : 0))
all_targets=(scan_v1 scan_v2 index_v1 index_v2 recover_dir model)
targets=("${@:-${all_targets[@]}}")
for target in "${targets[@]}"; do
    if ! [[ " ${all_targets[*]} " == *" $target "* ]]; then
        echo "unknown target $target (targets: ${all_targets[*]})" >&2
        exit 2
    fi
done
log_dir=target/run-all-logs

# libFuzzer's leak check is off for the targets that open logs: the store starts threads
# (the segment preparer, the interval syncer), and the thread-local destructors the
# standard library registers on their first use are reported as leaks of 32 bytes, at
# random, long after the input that first used them. Leaks are not what these targets
# look for; the decoders keep the check.
extra_flags() {
    case "$1" in
        recover_dir | model) echo "-detect_leaks=0" ;;
        *) ;;
    esac
}

# cargo-fuzz needs a nightly toolchain (sanitizers); the repository root pins a stable one,
# which `+nightly` overrides.
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "no nightly toolchain: install one with 'rustup toolchain install nightly'" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build
mkdir -p "$log_dir"

failed=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log="$log_dir/$target.log"
    printf '\n=== %s (%ss)\n' "$target" "$seconds_per_target"
    status=0
    # shellcheck disable=SC2046 # the flags are words on purpose
    cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds_per_target" -print_final_stats=1 $(extra_flags "$target") \
        >"$log" 2>&1 || status=$?
    # libFuzzer's summary: "Done N runs in S second(s)" and the stat:: lines.
    grep -E '^(Done [0-9]+ runs|stat::)' "$log" || true
    if [[ "$status" -ne 0 ]]; then
        failed+=("$target")
        echo "--- $target failed (exit $status), full output in fuzz/$log:"
        # The failed assertion, and cargo-fuzz's account of the input (path, bytes, how
        # to reproduce and minimise it).
        grep -m 1 -A 4 'panicked at' "$log" || true
        sed -n '/^Failing input:/,/^Minimize test case with:/p' "$log"
    fi
done

if [[ "${#failed[@]}" -ne 0 ]]; then
    printf '\nfuzz targets with findings: %s (inputs in fuzz/artifacts/)\n' "${failed[*]}" >&2
    exit 1
fi
printf '\nall %d fuzz targets ran %ss each without a finding\n' "${#targets[@]}" "$seconds_per_target"
