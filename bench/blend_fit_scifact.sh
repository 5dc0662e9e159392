#!/usr/bin/env bash
# Fit the blend's weights on SciFact train (`ragate calibrate --fit-blend`), then measure hybrid,
# hybrid+rerank and hybrid+rerank+blend on the test split with the configured weights and with the
# fitted ones. WORK_DIR/qdrant is the index (an existing SciFact index there is reused); the fitted
# weights are written to WORK_DIR/config.toml. Usage: bench/blend_fit_scifact.sh WORK_DIR [CANDIDATES]
set -euo pipefail
WORK=${1:?work dir}; N=${2:-50}
HERE=$(dirname "$0")
DATA=${DATA:-$HERE/../../shared/datasets/scifact}
export RAGATE_QDRANT_PATH="$WORK/qdrant" RAGATE_SERVICE_IDLE_TIMEOUT_S=60 RAGATE_RETRIEVAL_CANDIDATES="$N"
export RAGATE_RERANKER_MODEL=${RAGATE_RERANKER_MODEL:-$HERE/../../shared/models/ragate-ce-minilm-l6-scifact}
mkdir -p "$WORK"
cp "$HERE/../config.toml" "$WORK/config.before.toml"
cp "$HERE/../config.toml" "$WORK/config.toml"
step() {  # step NAME CONFIG ARGS...: one ragate command, its seconds and the load average around it
  local name=$1 cfg=$2; shift 2
  echo "$name start $(date -u +%FT%TZ) $(cut -d' ' -f1-3 /proc/loadavg)" >> "$WORK/steps.log"
  local t0=$SECONDS
  ragate --config "$cfg" "$@" --no-progress --json > "$WORK/$name.json"
  ragate --config "$cfg" service --stop > /dev/null  # the next step starts a service with its own config
  echo "$name end $((SECONDS - t0))s $(cut -d' ' -f1-3 /proc/loadavg)" >> "$WORK/steps.log"
}
step calibrate "$WORK/config.toml" calibrate --dataset "$DATA" --fit-blend --write-config
VARIANTS=hybrid,hybrid+rerank,hybrid+rerank+blend
step eval-configured "$WORK/config.before.toml" eval --dataset "$DATA" --variants "$VARIANTS" --candidates "$N" --out "$WORK/eval-configured"
step eval-fitted "$WORK/config.toml" eval --dataset "$DATA" --variants "$VARIANTS" --candidates "$N" --out "$WORK/eval-fitted"
