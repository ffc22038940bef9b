#!/usr/bin/env bash
# The checks that need a GPU machine, most important first, each with its own time limit; logs
# go to $OUT (default /tmp/out). Run from the project root where torchkata is installed (.gpu/run
# does that). On one H200 with 16 cores (2026-11-27) steps 1-4 took about 4 minutes; step 5, the
# rest of the suite on cuda, is slow there (every harness test that grades in a subprocess pays
# CUDA's start-up): it streams one line per test, so a run cut short still says how far it got.
# Prepare with `bash ../shared/gpu/prepare babel`: the GPU image lacks Babel, which reads the
# Chinese catalog (tests/harness/test_messages.py and every `--lang zh` need it).
set -u
export COLUMNS=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
T() { /usr/bin/time -f "[%e s wall]" "$@"; }
PYTEST="python3 -m pytest -q -p no:cacheprovider"

echo "== 1. exercise suite on cuda: the reference passes, the stubs fail" > "$O/1-exercises-cuda.txt"
( T timeout 150 $PYTEST tests/exercises --device=cuda --impl=solutions --tb=short ) 2>&1 | tail -40 >> "$O/1-exercises-cuda.txt"
( T timeout 100 $PYTEST tests/exercises --device=cuda --impl=exercises ) 2>&1 | tail -2 >> "$O/1-exercises-cuda.txt"

G="$O/2-grading.txt"
python3 benchmarks/make_class.py /tmp/class40 > /dev/null
for device in cuda cpu; do
  echo "== 2. class of 40, grade --device $device --jobs 16" >> "$G"
  ( T timeout 150 python3 -m torchkata grade /tmp/class40 --out /tmp/g40-$device --device $device --jobs 16 ) > /tmp/g40-$device.log 2>&1
  echo "exit $?" >> "$G"; tail -4 /tmp/g40-$device.log >> "$G"
done
diff /tmp/g40-cpu/grades.csv /tmp/g40-cuda/grades.csv >> "$G" && echo "cpu and cuda grades.csv identical" >> "$G"
tar czf "$O/6-grades.tgz" -C /tmp g40-cpu g40-cuda 2>/dev/null

I="$O/3-isolate-check.txt"
STUDENT=/tmp/class40/student-01
for device in cpu cuda; do
  echo "== pytest --isolate --device=$device on $STUDENT (a complete student)" >> "$I"
  ( T timeout 120 $PYTEST tests/exercises --impl=$STUDENT --isolate --device=$device ) 2>&1 | tail -3 >> "$I"
done
for exercise in training.train_step capstone.fit networks.layer_summary; do
  echo "== torchkata check $exercise --device cuda" >> "$I"
  timeout 90 python3 -m torchkata check $exercise --device cuda --exercises solutions >> "$I" 2>&1; echo "exit $?" >> "$I"
done

echo "== 4. cuda benchmarks" > "$O/4-bench-log.txt"
timeout 200 $PYTEST benchmarks --device=cuda --impl=solutions --benchmark-max-time=0.2 \
  --benchmark-min-rounds=5 --bench-out /tmp/bench 2>&1 | tail -15 >> "$O/4-bench-log.txt"
cp /tmp/bench/bench-cuda.md "$O/4-bench-cuda.md" 2>/dev/null

echo "== 5. the rest of the suite on cuda (tests/exercises was step 1), one line per test" > "$O/5-suite-cuda.txt"
timeout -s INT 600 python3 -m pytest tests --ignore=tests/exercises --device=cuda --impl=solutions -v \
  -p no:cacheprovider --tb=short --durations=20 >> "$O/5-suite-cuda.txt" 2>&1
echo ALL STEPS DONE
