#!/bin/sh
# Interleaved before/after: builds authmail at OLD (a commit) and at the
# working tree, then runs the load tool against each in turn, RUNS rounds
# (default 3) per database and concurrency, so both builds see the same
# minutes of a shared machine. Prints one JSON line per run, tagged with
# "build": "old" or "new". Usage: bench/ab.sh OLD > ab.jsonl
set -eu
OLD=${1:?usage: bench/ab.sh OLD-COMMIT}
RUNS=${RUNS:-3}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$OLD" | tar -x -C "$tmp"
(cd "$tmp" && go build -o "$tmp/authmail-old" ./cmd/authmail)
go build -o "$tmp/authmail-new" ./cmd/authmail
go build -o "$tmp/load" ./bench/load
for db in sqlite postgres; do
	for c in 8 32; do
		case $db-$c in
		sqlite-8) n=5000 ;; sqlite-32) n=6000 ;;
		postgres-8) n=4500 ;; postgres-32) n=4500 ;;
		esac
		i=0
		while [ $i -lt "$RUNS" ]; do
			for build in old new; do
				"$tmp/load" -server "$tmp/authmail-$build" -db $db -n $n -c $c | tail -1 |
					sed "s/^{/{\"build\":\"$build\",/"
			done
			i=$((i + 1))
		done
	done
done
