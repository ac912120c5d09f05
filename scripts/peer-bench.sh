#!/usr/bin/env bash
# Runs the side-by-side peer benchmark (benches/peers: walrs, okaywal, commitlog,
# raft-engine and raw-file baselines; workloads A-G) and regenerates
# docs/peer-benchmarks.md and docs/benchmarks.svg from its output.
#
#   scripts/peer-bench.sh              # everything, 6-8 minutes on 2 vCPUs once built
#   WAL_PEERS_ONLY=A,E scripts/peer-bench.sh   # some workloads (earlier results of the
#                                              # others are kept and reported again)
#   WAL_PEERS_SCALE=100 scripts/peer-bench.sh  # smoke run, sizes / 100
#
# WAL_PEERS_DATA_DIR chooses where the logs are written (default
# benches/peers/target/bench-data): the file system measured is that one's.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="$repo/benches/peers"
target="${CARGO_TARGET_DIR:-$peers/target}"
data_dir="${WAL_PEERS_DATA_DIR:-$target/bench-data}"
results="$target/peer-results"

# A full run starts clean, so that the report never mixes in figures of an earlier run.
if [[ -z "${WAL_PEERS_ONLY:-}" ]]; then
    rm -rf "$target/criterion" "$results"
fi
mkdir -p "$results" "$data_dir"

# The machine, as the report states it.
cpu="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
cores="$(nproc)"
kernel="$(uname -r)"
read -r device fstype < <(df -T "$data_dir" | awk 'NR==2 {print $1, $2}')
rustc_version="$(cd "$peers" && rustc --version)"
# What was measured: the commit, and whether the crates had uncommitted changes.
revision="$(git -C "$repo" rev-parse --short HEAD)"
if [[ -n "$(git -C "$repo" status --porcelain -- crates)" ]]; then
    revision="$revision + uncommitted changes in crates/"
fi
cat > "$results/machine.json" <<EOF
{"cpu": "$cpu", "cores": $cores, "kernel": "$kernel", "filesystem": "$fstype",
 "device": "$device", "data_dir": "$data_dir", "date": "$(date -u +%Y-%m-%dT%H:%MZ)",
 "rustc": "$rustc_version", "revision": "$revision", "loadavg_start": "$(cut -d' ' -f1-3 /proc/loadavg)"}
EOF

echo "peer-bench: $cpu, $cores cores, kernel $kernel, $fstype on $device; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo bench --manifest-path "$peers/Cargo.toml" --bench peers
python3 "$repo/scripts/plot_benchmarks.py" --target "$target" \
    --svg "$repo/docs/benchmarks.svg" --markdown "$repo/docs/peer-benchmarks.md"
cat "$repo/docs/peer-benchmarks.md"
