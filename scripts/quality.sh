#!/usr/bin/env bash
# Rule quality against the sandbox's ground truth: the demo estate and a larger seed, per rule
# recall, precision and mean absolute savings error. Exits non-zero when a waste or governance
# rule misses recall 100 % / precision 98 %, or a rule's savings error exceeds 5 %.
# The analytics section scores cost-anomaly detection against the planted anomalies (recall,
# precision; targets 95 % / 90 % over at least 200 planted) and backtests the month-end forecast
# at mid-month (MAPE on steady subscriptions, target 5 %; 80 % interval coverage reported).
# AZCOPS_QUALITY_SECTIONS=rules,analytics picks sections.
# AZCOPS_QUALITY_ESTATES=demo,large picks estates; AZCOPS_QUALITY_PROFILE=debug skips the
# release build (slower run, much faster build).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${AZCOPS_QUALITY_PROFILE:-release}" = "debug" ]; then
  cargo test --locked --bench quality
else
  cargo bench --locked --bench quality
fi
