#!/usr/bin/env bash
# The checks that need a GPU machine, most important first, each with its own time limit; logs
# go to $OUT (default /tmp/out). Run from the project root where torchkata is installed. On an
# H100 with 16 cores the steps took: 1: 30 s, 2: 3-4 min, 3: 25 s + 90 s, 4: 50 s, 5: 2 min.
set -u
export COLUMNS=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
T() { /usr/bin/time -f "[%e s wall]" "$@"; }

echo "== 1. exercise suite on cuda: the reference passes, the stubs fail" > "$O/1-exercises-cuda.txt"
timeout 150 python3 -m pytest tests/exercises --device=cuda --impl=solutions -q -p no:cacheprovider 2>&1 | tail -4 >> "$O/1-exercises-cuda.txt"
timeout 100 python3 -m pytest tests/exercises --device=cuda --impl=exercises -q -p no:cacheprovider 2>&1 | tail -1 >> "$O/1-exercises-cuda.txt"

echo "== 2. the whole suite on cuda" > "$O/2-suite-cuda.txt"
timeout 300 python3 -m pytest tests --device=cuda --impl=solutions -q -p no:cacheprovider --tb=short 2>&1 | tail -60 >> "$O/2-suite-cuda.txt"

G="$O/3-grading.txt"
python3 benchmarks/make_class.py /tmp/class40 > /dev/null
for device in cpu cuda; do
  echo "== 3. class of 40, grade --device $device --jobs 16" >> "$G"
  ( T timeout 200 python3 -m torchkata grade /tmp/class40 --out /tmp/g40-$device --device $device --jobs 16 ) > /tmp/g40-$device.log 2>&1
  echo "exit $?" >> "$G"; tail -4 /tmp/g40-$device.log >> "$G"
done
diff -q /tmp/g40-cpu/grades.csv /tmp/g40-cuda/grades.csv >> "$G" && echo "cpu and cuda grades.csv identical" >> "$G"
tar czf "$O/7-grades.tgz" -C /tmp g40-cpu g40-cuda 2>/dev/null

I="$O/4-isolate-check.txt"
STUDENT=$(ls -d /tmp/class40/* | head -1)
for device in cpu cuda; do
  echo "== pytest --isolate --device=$device on $STUDENT" >> "$I"
  ( T timeout 120 python3 -m pytest tests/exercises --impl=$STUDENT --isolate --device=$device -q -p no:cacheprovider ) 2>&1 | tail -3 >> "$I"
done
echo "== torchkata check --device cuda" >> "$I"
timeout 90 python3 -m torchkata check training.train_step --device cuda --exercises solutions >> "$I" 2>&1; echo "exit $?" >> "$I"

echo "== 5. cuda benchmarks" > "$O/6-bench-log.txt"
timeout 200 python3 -m pytest benchmarks --device=cuda --impl=solutions -q -p no:cacheprovider --benchmark-max-time=0.2 \
  --benchmark-min-rounds=5 --bench-out /tmp/bench 2>&1 | tail -15 >> "$O/6-bench-log.txt"
cp /tmp/bench/bench-cuda.md "$O/5-bench-cuda.md" 2>/dev/null
echo ALL STEPS DONE
