#!/usr/bin/env bash
# The full `ragate tune` run on SciFact: index and measure hybrid, tune a reranker from the offline
# bi-encoder's weights on the train qrels, then measure hybrid vs hybrid+rerank on the test split
# with the tuned model. Usage: bench/tune_scifact.sh WORK_DIR MAX_MINUTES
set -euo pipefail
WORK=${1:?work dir}; MINUTES=${2:-40}
DATA=${DATA:-$(dirname "$0")/../../shared/datasets/scifact}
export RAGATE_QDRANT_PATH="$WORK/qdrant" RAGATE_SERVICE_IDLE_TIMEOUT_S=60
export RAGATE_RERANKER_MODEL=${RAGATE_RERANKER_MODEL:-$(dirname "$0")/../../shared/models/ragate-ce-minilm-l6-scifact}
mkdir -p "$WORK"
ragate eval --dataset "$DATA" --variants hybrid --candidates 30 --out "$WORK/eval-before" --json > "$WORK/eval-before.json"
/usr/bin/time -v ragate tune --dataset "$DATA" --base sentence-transformers/all-MiniLM-L6-v2 --epochs 1 \
  --max-minutes "$MINUTES" --output "$WORK/tuned" --no-progress --json > "$WORK/tune.json" 2> "$WORK/tune.log"
ragate service --stop
RAGATE_RERANKER_MODEL="$WORK/tuned" ragate eval --dataset "$DATA" --variants hybrid,hybrid+rerank --candidates 30 \
  --out "$WORK/eval-after" --json > "$WORK/eval-after.json"
RAGATE_RERANKER_MODEL="$WORK/tuned" ragate service --stop
