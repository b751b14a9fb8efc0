#!/usr/bin/env bash
# Side-by-side speed: numpy tutorial vs mnist-gpu --cpu vs GPU backends. See benches/compare.py.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import numpy' 2>/dev/null || { echo "numpy is needed: python3 -m pip install numpy" >&2; exit 1; }
cargo build --release --quiet
exec python3 benches/compare.py "$@"
