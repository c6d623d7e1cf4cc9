#!/usr/bin/env bash
# Tests cluster/slurm/gradmix.sbatch's time-limit path on one machine, with fake srun, sbcast,
# scontrol and module commands on PATH (srun runs its command here; scontrol records what it is
# asked). Checks, on a synthetic data root and a small config:
#   1. SIGTERM to the batch script (what --signal=B:TERM@120 sends) stops the run at a checkpoint,
#      the script asks scontrol to requeue the job and exits 75; no summary.json yet;
#   2. the requeued start continues the same folder with --resume and finishes (exit 0);
#   3. a third start of a finished run does nothing (exit 0);
#   4. a failing `module load` stops the job (exit 1) before anything runs.
# Usage: cluster/test-requeue.sh [BIN]   (default: $GRADMIX_BIN, else .build/release/gradmix)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-${GRADMIX_BIN:-$root/.build/release/gradmix}}
[[ -x $bin ]] || { echo "test-requeue: $bin is not an executable" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "test-requeue: FAILED: $*" >&2; exit 1; }

mkdir -p "$work/bin"
cat >"$work/bin/srun" <<'SH'
#!/usr/bin/env bash
# Fake srun: drops its own --options and runs the command here (exec, so signals reach it).
echo "srun $*" >>"$FAKE_LOG"
while [[ ${1:-} == --* ]]; do shift; done
exec "$@"
SH
cat >"$work/bin/sbcast" <<'SH'
#!/usr/bin/env bash
echo "sbcast $*" >>"$FAKE_LOG"
while [[ ${1:-} == --* ]]; do shift; done
cp "$1" "$2"
SH
cat >"$work/bin/scontrol" <<'SH'
#!/usr/bin/env bash
echo "scontrol $*" >>"$FAKE_LOG"
SH
cat >"$work/bin/module" <<'SH'
#!/usr/bin/env bash
echo "module $*" >>"$FAKE_LOG"
[[ -z ${FAKE_MODULE_FAIL:-} ]] || { echo "Lmod has detected the following error: unknown module" >&2; exit 1; }
SH
chmod +x "$work/bin/"*

"$bin" data synthesize "$work/data" >/dev/null
cat >"$work/c.yaml" <<'YAML'
model: {spec: conv6k5s2-relu-pool2-fc24-relu-fc10}
classes: 10
steps: 300
batch_size: 10
sources:
  - {domain: mnist, split: train, classes: [0, 1, 2, 3, 4]}
  - {domain: syndigits, split: train, classes: [5, 6, 7, 8, 9]}
target: {domain: mnist, split: test, labelled_per_class: 3, unlabelled: 50, test: 100}
optimizer: {lr: 0.05, momentum: 0.9}
eval_every: 100
log_every: 1
checkpoint_every: 100
YAML
export PATH="$work/bin:$PATH" FAKE_LOG="$work/fake.log" REPO="$root" BIN="$bin" CONFIG="$work/c.yaml"
export DATA="$work/data" OUT="$work/run" MODULES="openmpi openblas" SLURM_JOB_ID=4242 SLURM_JOB_NAME=test
export SLURM_CPUS_PER_TASK=1 TMPDIR="$work" SLURM_SUBMIT_DIR="$work"
sbatch=$root/cluster/slurm/gradmix.sbatch

# 1. The time limit: SIGTERM to the batch script once training is under way.
# env --default-signal: a shell cannot trap a signal ignored when it started (as under some test runners).
env --default-signal=TERM bash "$sbatch" >"$work/start1.log" 2>&1 &
job=$!
for _ in $(seq 600); do
  [[ $( { wc -l <"$work/run/metrics.jsonl"; } 2>/dev/null || echo 0) -ge 5 ]] && break
  kill -0 "$job" 2>/dev/null || break
  sleep 0.1
done
kill -TERM "$job"
status=0; wait "$job" || status=$?
[[ $status == 75 ]] || fail "the interrupted start exited $status, not 75: $(cat "$work/start1.log")"
grep -q "scontrol requeue 4242" "$FAKE_LOG" || fail "no requeue asked: $(cat "$FAKE_LOG")"
grep -q "sbcast" "$FAKE_LOG" || fail "the data was not staged"
ls "$work/run/checkpoints/"step-*.safetensors >/dev/null 2>&1 || fail "no checkpoint written"
[[ ! -f $work/run/summary.json ]] || fail "an interrupted run wrote summary.json"
echo "test-requeue: 1. SIGTERM -> checkpoint, requeue, exit 75: ok"

# 2. The requeued start resumes the same folder and finishes.
export SLURM_RESTART_COUNT=1
status=0; bash "$sbatch" -- >"$work/start2.log" 2>&1 || status=$?
[[ $status == 0 ]] || fail "the requeued start exited $status: $(cat "$work/start2.log")"
grep -q -- "--resume $work/run" "$FAKE_LOG" || fail "the requeued start did not use --resume: $(cat "$FAKE_LOG")"
[[ -f $work/run/summary.json ]] || fail "the resumed run did not finish"
echo "test-requeue: 2. requeued start resumes and finishes: ok"

# 3. A finished run is not run again.
before=$(grep -c "^srun .*gradmix" "$FAKE_LOG" || true)
bash "$sbatch" >"$work/start3.log" 2>&1 || fail "a start of a finished run failed"
[[ $(grep -c "^srun .*gradmix" "$FAKE_LOG" || true) == "$before" ]] || fail "a finished run was started again"
echo "test-requeue: 3. finished run left alone: ok"

# 4. A failing module load stops the job before anything runs.
status=0; FAKE_MODULE_FAIL=1 OUT="$work/run2" bash "$sbatch" >"$work/start4.log" 2>&1 || status=$?
[[ $status == 1 ]] || fail "a failed module load exited $status, not 1"
grep -q "module load openmpi openblas failed" "$work/start4.log" || fail "no message for the failed module load"
[[ ! -e $work/run2 ]] || fail "the job ran despite the failed module load"
echo "test-requeue: 4. failed module load stops the job: ok"
echo "test-requeue: all passed"
