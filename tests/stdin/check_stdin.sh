#!/bin/sh
# rec-train --data criteo:- and movielens:- read standard input: a pipe (here through cat) or a
# redirected file; a character device (a terminal would wait for typing; /dev/null stands in
# for one) is refused by name. So are the inputs read whole (a synthetic spec, an architecture,
# a job log), whose parse errors name standard input, not "-". Usage: check_stdin.sh SCALEPLAN FIXTURES_DIR
set -u
bin=$1
fixtures=$2
fail() { echo "FAIL: $*"; exit 1; }
# criteo-bom.tsv: 20 good lines (16 train, 2 valid, 2 test) after a byte-order mark.
out=$(cat "$fixtures/criteo-bom.tsv" | "$bin" rec-train --data criteo:- --arch dlrm-s --json) ||
  fail "criteo:- from a pipe exited $?"
echo "$out" | grep -q '"data": "criteo:-"' || fail "the data is not named criteo:-: $out"
echo "$out" | grep -q '"train": 16' || fail "not 16 training examples: $out"
out=$("$bin" rec-train --data criteo:- --arch dlrm-s --json < "$fixtures/criteo-bom.tsv") ||
  fail "criteo:- from a redirected file exited $?"
echo "$out" | grep -q '"train": 16' || fail "redirected: not 16 training examples: $out"
echo "$out" | grep -q '"data": "criteo:-"' || fail "redirected: the data is not named criteo:-: $out"
# movielens-small.csv: 20 ratings in time order; the last 10% (2) are the test split, the 10%
# before them (2) validation, the first 16 training.
out=$(cat "$fixtures/movielens-small.csv" | "$bin" rec-train --data movielens:- --arch dlrm-s --json) ||
  fail "movielens:- from a pipe exited $?"
printf '%s\n' "$out" | grep -q '"data": "movielens:-"' || fail "the data is not named movielens:-: $out"
# The split's counts, keys in order (test, train, valid), the last without a comma.
printf '%s\n' "$out" | grep -q '"test": 2,$' || fail "movielens: not 2 test examples: $out"
printf '%s\n' "$out" | grep -q '"train": 16,$' || fail "movielens: not 16 training examples: $out"
printf '%s\n' "$out" | grep -q '"valid": 2$' || fail "movielens: not 2 validation examples: $out"
# A redirected file is read from where standard input stands: its junk first line, consumed
# by head (which leaves the offset after the line), is not read again.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{ printf 'not a criteo line\n'; cat "$fixtures/criteo-bom.tsv"; } > "$tmp"
out=$({ head -n 1 > /dev/null; "$bin" rec-train --data criteo:- --arch dlrm-s --json; } < "$tmp") ||
  fail "criteo:- after head exited $?"
echo "$out" | grep -q '"train": 16' || fail "after head: not 16 training examples: $out"
# Two inputs on standard input are refused before either is read.
err=$(printf '' | "$bin" rec-train --data criteo:- --arch - 2>&1 >/dev/null)
[ $? -eq 2 ] || fail "--arch - beside --data criteo:- did not exit 2"
echo "$err" | grep -q 'both read standard input' || fail "two inputs: $err"
# A bad line names standard input and the line.
err=$(printf '1\t2\n' | "$bin" rec-train --data criteo:- --arch dlrm-s 2>&1 >/dev/null)
[ $? -eq 2 ] || fail "a bad line on standard input did not exit 2"
echo "$err" | grep -q 'standard input:1: has 2 tab-separated fields' || fail "bad line: $err"
err=$("$bin" rec-train --data movielens:- --arch dlrm-s 2>&1 >/dev/null < /dev/null)
[ $? -eq 2 ] || fail "a character device on standard input did not exit 2"
echo "$err" | grep -q 'standard input: not a regular file or a pipe' || fail "device: $err"
# Read whole: the same refusal of a device, before any parsing.
for args in "--data synthetic:- --arch dlrm-s" "--arch -"; do
  err=$("$bin" rec-train $args 2>&1 >/dev/null < /dev/null)
  [ $? -eq 2 ] || fail "rec-train $args from a character device did not exit 2"
  echo "$err" | grep -q 'standard input: not a regular file or a pipe' || fail "$args device: $err"
done
err=$("$bin" rec-suggest --log - 2>&1 >/dev/null < /dev/null)
[ $? -eq 2 ] || fail "rec-suggest --log - from a character device did not exit 2"
echo "$err" | grep -q 'standard input: not a regular file or a pipe' || fail "log device: $err"
# From a pipe they are read, and a parse error names standard input.
err=$(printf '{"blocks": [' | "$bin" rec-train --arch - 2>&1 >/dev/null)
[ $? -eq 2 ] || fail "a truncated architecture on standard input did not exit 2"
echo "$err" | grep -q 'error: standard input:1:1' || fail "truncated architecture: $err"
err=$(printf 'dense: x\n' | "$bin" rec-train --data synthetic:- --arch dlrm-s 2>&1 >/dev/null)
[ $? -eq 2 ] || fail "a bad spec on standard input did not exit 2"
echo "$err" | grep -q 'standard input:1: synthetic.dense = x' || fail "spec from a pipe: $err"
echo "ok"
