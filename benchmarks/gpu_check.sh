#!/usr/bin/env bash
# The checks that need a GPU machine, most important first, each with its own time limit;
# logs go to $OUT (default /tmp/out). Run from the project root where torchkata is installed.
set -u
export COLUMNS=120
O=${OUT:-/tmp/out}; mkdir -p "$O"
T() { /usr/bin/time -f "[%e s wall]" "$@"; }
echo "== 1. exercise suite on cuda (solutions)" | tee "$O/1-exercises-cuda.txt"
timeout 150 python3 -m pytest tests/exercises --device=cuda --impl=solutions -q -p no:cacheprovider 2>&1 | tail -8 >> "$O/1-exercises-cuda.txt"
echo "== stubs on cuda" >> "$O/1-exercises-cuda.txt"
timeout 100 python3 -m pytest tests/exercises --device=cuda --impl=exercises -q -p no:cacheprovider 2>&1 | tail -4 >> "$O/1-exercises-cuda.txt"
python3 benchmarks/make_class.py /tmp/class40 > /dev/null
G="$O/2-grading.txt"
for run in "cpu 16" "cuda 16"; do
  set -- $run
  echo "== 2. class of 40, grade --device $1 --jobs $2" >> "$G"
  ( T timeout 150 python3 -m torchkata grade /tmp/class40 --out /tmp/g40-$1 --device $1 --jobs $2 ) > /tmp/g40-$1.log 2>&1
  echo "exit $?" >> "$G"; tail -6 /tmp/g40-$1.log >> "$G"
done
echo "== naive: one pytest --isolate per student, 16 at a time" >> "$G"
( T timeout 150 bash -c 'ls -d /tmp/class40/* | xargs -P 16 -I{} python3 -m pytest tests/exercises --impl={} --isolate -q --tb=no -p no:cacheprovider' ) 2>&1 | tail -1 >> "$G"
echo "== sample class (cpu)" >> "$G"
( timeout 120 python3 -m torchkata grade --out /tmp/gs ) > /tmp/gs.log 2>&1; echo "exit $?" >> "$G"; tail -12 /tmp/gs.log >> "$G"
tar czf "$O/7-grades.tgz" -C /tmp g40-cpu g40-cuda gs 2>/dev/null
I="$O/3-isolate-check.txt"
STUDENT=$(ls -d /tmp/class40/* | head -1)
for dev in cpu cuda; do
  echo "== pytest --isolate --device=$dev on $STUDENT" >> "$I"
  ( T timeout 120 python3 -m pytest tests/exercises --impl=$STUDENT --isolate --device=$dev -q -p no:cacheprovider ) 2>&1 | tail -6 >> "$I"
done
echo "== torchkata check --device cuda (solutions, train_step)" >> "$I"
timeout 90 python3 -m torchkata check training.train_step --device cuda --exercises solutions >> "$I" 2>&1; echo "exit $?" >> "$I"
for dev in cpu cuda; do
  echo "== watch's WarmGrader on $dev" >> "$I"
  timeout 90 python3 -c "
from pathlib import Path; from torchkata.session import WarmGrader
g = WarmGrader('$dev'); r = g.grade(Path('solutions'), ['training.train_step', 'networks.Model', 'activations.sigmoid'])
print({k: v['verdict'] for k, v in r.verdicts.items()}, r.grading_error, r.crashed, r.timed_out)" >> "$I" 2>&1
done
echo "== 4. the whole suite on cuda" | tee "$O/4-suite-cuda.txt"
timeout 230 python3 -m pytest tests --device=cuda --impl=solutions -q -p no:cacheprovider -x --tb=short 2>&1 | tail -60 >> "$O/4-suite-cuda.txt"
echo "== 5. cuda benchmarks" > "$O/6-bench-log.txt"
timeout 150 python3 -m pytest benchmarks --device=cuda --impl=solutions -q -p no:cacheprovider --benchmark-max-time=0.2 \
  --benchmark-min-rounds=5 --bench-out /tmp/bench 2>&1 | tail -15 >> "$O/6-bench-log.txt"
cp /tmp/bench/bench-cuda.md "$O/5-bench-cuda.md" 2>/dev/null
echo ALL STEPS DONE
