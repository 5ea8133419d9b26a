#!/bin/sh
# Interleaved before/after: builds authmail at OLD (a commit) and at NEW (a
# commit; the working tree when omitted), then runs the load tool against each in turn, RUNS rounds
# (default 3) per database and concurrency, so both builds see the same
# minutes of a shared machine. Prints one JSON line per run, tagged with
# "build": "old" or "new". Usage: bench/ab.sh OLD [NEW] > ab.jsonl
set -eu
OLD=${1:?usage: bench/ab.sh OLD-COMMIT [NEW-COMMIT]}
NEW=${2:-}
RUNS=${RUNS:-3}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/old" "$tmp/new"
git archive "$OLD" | tar -x -C "$tmp/old"
(cd "$tmp/old" && go build -o "$tmp/authmail-old" ./cmd/authmail)
if [ -n "$NEW" ]; then
	git archive "$NEW" | tar -x -C "$tmp/new"
	(cd "$tmp/new" && go build -o "$tmp/authmail-new" ./cmd/authmail)
else
	go build -o "$tmp/authmail-new" ./cmd/authmail
fi
go build -o "$tmp/load" ./bench/load
for db in ${DBS:-sqlite postgres}; do
	for c in ${CS:-8 32}; do
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
