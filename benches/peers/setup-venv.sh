#!/usr/bin/env bash
# Makes the peers' Python environment outside the repository (it is ~5 GB with torch's CUDA wheels).
# Usage: benches/peers/setup-venv.sh [VENV_DIR]   (default: $HOME/peers-venv)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-$HOME/peers-venv}
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "the pinned versions are for Python 3.11"'
"$python" -m venv "$venv"
"$venv/bin/pip" install -q -r "$here/requirements.txt"
"$venv/bin/python" -c 'import numpy, torch; print("peers venv:", "numpy", numpy.__version__, "torch", torch.__version__)'
echo "ready: $venv/bin/python"
