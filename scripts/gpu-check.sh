#!/usr/bin/env bash
# GPU check, for machines with a GPU: builds gan-lab with the `wgpu` feature,
# trains the reference DCGAN (experiments/dcgan.ron, batch 64, no scoring)
# for a few hundred steps with `--device wgpu`, and prints the images per
# second. Needs a GPU that wgpu can drive (Vulkan, Metal or DX12) and the
# Fashion-MNIST files (GAN_LAB_DATA, else the user cache, downloading there).
#
#   scripts/gpu-check.sh [STEPS]      (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300}
if ! [[ $steps =~ ^[1-9][0-9]*$ ]]; then
    echo "gpu-check: STEPS must be a positive whole number, not '$steps'" >&2
    exit 2
fi
if [ -z "${GAN_LAB_DATA:-}" ] && [ -d ../shared/data/fashion-mnist ]; then
    export GAN_LAB_DATA="$(cd ../shared/data/fashion-mnist && pwd)"
fi
cargo build --release --features wgpu
bin="${CARGO_TARGET_DIR:-target}/release/gan-lab"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/gpu-check.sqlite"
set +e
"$bin" --db "$db" --quiet run experiments/dcgan.ron --device wgpu \
    --set train.steps="$steps" --set samples.every="$steps" \
    --set checkpoint.every="$steps" --set eval=None >"$work/out" 2>"$work/err"
status=$?
set -e
if [ "$status" -ne 0 ]; then
    cat "$work/out" "$work/err" >&2
    if grep -qiE "adapter|vulkan|no suitable|device" "$work/err"; then
        echo "gpu-check: FAILED: wgpu found no usable GPU (Vulkan, Metal or DX12) on $(hostname); run this on a machine with a GPU and its driver" >&2
    else
        echo "gpu-check: FAILED: the wgpu run exited with status $status (output above)" >&2
    fi
    exit 1
fi
run=$(sed -n 's/^run \([^ ]*\) finished.*/\1/p' "$work/out")
throughput=$("$bin" --db "$db" show "$run" | grep '^Throughput:')
echo "gpu-check: DCGAN, batch 64, $steps steps, --device wgpu on $(hostname): ${throughput#Throughput: }"
