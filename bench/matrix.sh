#!/bin/sh
# Runs the load tool on SQLite and PostgreSQL at concurrency 1, 8 and 32,
# RUNS times each (default 3), plus the SMTP sink baseline, and prints one
# JSON line per run. N_SQLITE_<c> / N_PG_<c> size each point for ~10 s.
# Usage: bench/matrix.sh > results.jsonl
set -eu
RUNS=${RUNS:-3}
cd "$(dirname "$0")/.."
go build -o /tmp/authmail-load ./bench/load
for c in 1 8 32; do
	/tmp/authmail-load -baseline -n 20000 -c $c | tail -1
done
for db in sqlite postgres; do
	for c in 1 8 32; do
		case $db-$c in
		sqlite-1) n=3000 ;; sqlite-8) n=5000 ;; sqlite-32) n=6000 ;;
		postgres-1) n=2500 ;; postgres-8) n=4500 ;; postgres-32) n=4500 ;;
		esac
		i=0
		while [ $i -lt "$RUNS" ]; do
			/tmp/authmail-load -db $db -n $n -c $c | tail -1
			i=$((i + 1))
		done
	done
done
