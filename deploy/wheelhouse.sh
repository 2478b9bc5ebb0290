#!/usr/bin/env bash
# Every wheel the streamwise image installs, gathered once from PyPI (or a site's mirror of
# it) into one folder: the image then installs with `pip install --no-index`, and an
# air-gapped site copies this folder in instead of reaching PyPI. llama-cpp-python has no
# wheel on PyPI: it is compiled here once, portable (CMAKE_ARGS), and kept with the rest.
#   deploy/wheelhouse.sh PYTHON DIR
set -euo pipefail
python=$1
dir=$2
stamp="$dir/.complete"
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
  echo "wheelhouse $dir: up to date ($(du -sh "$dir" | cut -f1))"
  exit 0
fi
mkdir -p "$dir"
echo "wheelhouse $dir: gathering the runtime dependencies of pyproject.toml..."
started=$(date +%s)
# setuptools and wheel: the image builds streamwise itself from source, with no index.
"$python" -m pip wheel --progress-bar off --quiet --wheel-dir "$dir" . setuptools wheel
rm -f "$dir"/streamwise-*.whl  # the image builds the project from its own copy
rm -rf build                  # what pip wheel . left behind (setuptools' build dir)
touch "$stamp"
echo "wheelhouse $dir: $(ls "$dir"/*.whl | wc -l) wheels, $(du -sh "$dir" | cut -f1), in $(( $(date +%s) - started )) s"
