#!/bin/sh
# The sign-in figures: whole sign-ins by email code (load -scenario signin)
# on SQLite and PostgreSQL at concurrency 1, 8 and 32, RUNS rounds (default
# 3). Each round runs, back to back on the same build, the code-send path
# alone (load -scenario codes, the baseline: what the management route's
# send costs) and then the whole sign-in, so both see the same minutes of a
# shared machine. Prints one JSON line per run.
# Usage: bench/signin.sh > signin.jsonl
set -eu
RUNS=${RUNS:-3}
cd "$(dirname "$0")/.."
go build -o /tmp/authmail-load ./bench/load
for db in ${DBS:-sqlite postgres}; do
	for c in ${CS:-1 8 32}; do
		case $c in 1) n=300 ;; *) n=1000 ;; esac
		i=0
		while [ $i -lt "$RUNS" ]; do
			/tmp/authmail-load -scenario codes -db $db -n $n -c $c -warmup 50 | tail -1
			/tmp/authmail-load -scenario signin -db $db -n $n -c $c -warmup 50 | tail -1
			i=$((i + 1))
		done
	done
done
