#!/usr/bin/env bash
# docs/dev/tutorial-outputs.sh - runs every command shown in docs/tutorial.md
# (and the examples of docs/cli.md) and prints its real output, section by section, so the tutorial can be
# refreshed by pasting.  Event ids, dates and positions differ per run.
#
#   docs/dev/tutorial-outputs.sh [BUILD_DIR]    (default: build/demo, the
#                                               build tree of scripts/demo)
#
# Needs aggc, bank and libincident.a built in BUILD_DIR (scripts/demo does
# that; so does any full build).  Starts its own PostgreSQL in
# BUILD_DIR/tutorial-pg, resets it, and stops it at the end.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build/demo}" && pwd)
aggc=$build/compiler/aggc
bank=$build/examples/bank/bank
pgdir=$build/tutorial-pg
for p in "$aggc" "$bank"; do
  [ -x "$p" ] || { echo "missing $p: build first (scripts/demo)" >&2; exit 1; }
done

envtext=$("$src/scripts/pg" start "$pgdir" 2>/dev/null)
eval "$envtext"
"$src/scripts/pg" reset "$pgdir" >/dev/null 2>&1
work=$(mktemp -d)
trap '"$src/scripts/pg" stop "$pgdir" >/dev/null 2>&1; rm -rf "$work"' EXIT
cd "$work"
cp "$src/examples/bank/bank.agg" .

section() { printf '\n==================== %s\n' "$*"; }

show_arg() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "$1"; fi
}
# run NAME PROGRAM ARGS...: print "$ NAME ARGS", then stdout and stderr as
# they come, then "[exit N]" when not 0.
run() {
  local name=$1 prog=$2 a line; shift 2
  line="\$ $name"
  for a in "$@"; do line+=" $(show_arg "$a")"; done
  printf '%s\n' "$line"
  local rc=0
  "$prog" "$@" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then printf '[exit %d]\n' "$rc"; fi
  return 0
}
b() { run bank "$bank" "$@"; }
sql() { printf '$ psql -c "%s"\n' "$1"; psql -X -P pager=off -c "$1"; }

# excerpt FILE REGEX: from the first line matching REGEX to the next blank line.
excerpt() {
  awk -v re="$2" '!on && $0 ~ re { on = 1 } on { if ($0 == "") exit; print }' "$1"
}

section "aggc"
mkdir gen
run aggc "$aggc" -o gen --emit=c,sql,dot bank.agg
echo '$ ls gen'
ls gen

section "bank.h: enum and rejections"
excerpt gen/bank.h '^typedef enum bank_transfer_status'
echo
excerpt gen/bank.h '^#define BANK_REJECTIONS'
section "bank.h: Account state"
excerpt gen/bank.h '^/\* state of Account'
section "bank.h: WithdrawMoney"
excerpt gen/bank.h '^/\* command WithdrawMoney'
section "bank.h: projection row"
excerpt gen/bank.h '^/\* a row of projection bank_accounts'
section "bank.h: rules"
awk '/^\/\* execute rules/ { on = 1 } on && /^int bank_account_(execute_withdraw_money|apply_money_withdrawn)/ { print; getline; if ($0 ~ /^    /) print }' gen/bank.h
section "bank.h: domain"
grep -n 'bank_account_type;\|bank_domain;' gen/bank.h
section "bank.c: execute WithdrawMoney"
excerpt gen/bank.c '^/\* execute WithdrawMoney'
section "bank.c: apply MoneyWithdrawn"
excerpt gen/bank.c '^/\* apply MoneyWithdrawn'
section "bank.sql"
excerpt gen/bank.sql 'CREATE TABLE IF NOT EXISTS "bank_accounts"'

section "help"
b --help

section "first account"
b init
b dispatch OpenAccount '{"aggregate_id":"A1"}'
b state Account A1
b projection bank_accounts A1
b events Account A1

section "rejections"
b dispatch OpenAccount '{"aggregate_id":"A1"}'
b dispatch WithdrawMoney '{"aggregate_id":"A1","amount":100}'
b dispatch DepositMoney '{"aggregate_id":"NOPE","amount":100}'
b events Account A1

section "bad input"
b dispatch DepositMoney '{"aggregate_id":"A1","amount":0}'
b dispatch DepositMoney '{"aggregate_id":"A1","amount":"100"}'
b dispatch DepositMoney '{"aggregate_id":"A1","amount":100,"currency":"EUR"}'
b dispatch DepositMony '{"aggregate_id":"A1","amount":100}'
b --db 'host=/nonexistent dbname=nope' dispatch DepositMoney '{"aggregate_id":"A1","amount":0}'
b --db 'host=/nonexistent dbname=nope' dispatch DepositMoney '{"aggregate_id":"A1","amount":10}'

section "deposits and a withdrawal"
b dispatch DepositMoney '{"aggregate_id":"A1","amount":100}'
b dispatch DepositMoney '{"aggregate_id":"A1","amount":100}'
b dispatch WithdrawMoney '{"aggregate_id":"A1","amount":125}'
b projection bank_accounts

section "transfers"
b dispatch OpenAccount '{"aggregate_id":"A2"}'
b dispatch RequestTransfer '{"aggregate_id":"T1","source_account_number":"A1","destination_account_number":"A2","amount":50}'
b dispatch RequestTransfer '{"aggregate_id":"T2","source_account_number":"A1","destination_account_number":"A2","amount":500}'
b dispatch RequestTransfer '{"aggregate_id":"T3","source_account_number":"A1","destination_account_number":"NOBODY","amount":10}'
b events Transfer T3
b projection transfers
b projection bank_accounts
sql "SELECT aggregate_id AS id, version AS v, event_type, metadata->>'command_type' AS command, left(metadata->>'correlation_id', 8) AS correlation, left(metadata->>'causation_id', 8) AS causation, left(event_id::text, 8) AS event FROM events WHERE position >= (SELECT min(position) FROM events WHERE aggregate_id = 'T1') AND position <= (SELECT max(position) FROM events WHERE aggregate_id = 'T1') ORDER BY position"

section "concurrency"
b dispatch OpenAccount '{"aggregate_id":"C1"}'
b dispatch DepositMoney '{"aggregate_id":"C1","amount":100}'
printf '%s\n' '$ for i in 1 2 3 4 5; do bank dispatch WithdrawMoney '"'"'{"aggregate_id":"C1","amount":24}'"'"' >/dev/null & done; wait'
pids=()
for i in 1 2 3 4 5; do
  ( rc=0
    "$bank" dispatch WithdrawMoney '{"aggregate_id":"C1","amount":24}' >/dev/null 2>"$work/race.$i" || rc=$?
    echo "$rc" >"$work/race.$i.rc" ) &
  pids+=($!)
done
wait "${pids[@]}"
for i in 1 2 3 4 5; do
  printf 'exit %s %s\n' "$(cat "$work/race.$i.rc")" "$(cat "$work/race.$i")"
done | sort | uniq -c | sed 's/ *$//'
echo "(counted: uniq -c of each process's exit status and stderr)"
b projection bank_accounts C1
sql "SELECT version, event_type, data FROM events WHERE aggregate_id = 'C1' ORDER BY version"

section "snapshots"
b dispatch OpenAccount '{"aggregate_id":"S1"}'
printf '%s\n' '$ for i in $(seq 150); do bank dispatch DepositMoney '"'"'{"aggregate_id":"S1","amount":1}'"'"' >/dev/null; done'
for i in $(seq 150); do "$bank" dispatch DepositMoney '{"aggregate_id":"S1","amount":1}' >/dev/null; done
sql "SELECT aggregate_type, aggregate_id, version, state FROM snapshots"
b state Account S1

section "rebuild"
sql "UPDATE bank_accounts SET balance = 0"
b projection bank_accounts A1
b rebuild bank_accounts
b projection bank_accounts A1

section "more bad input (docs/cli.md)"
b dispatch OpenAccount '{}'
b dispatch OpenAccount 'not json'

section "memory store"
b --memory dispatch OpenAccount '{"aggregate_id":"M1"}'
b --memory dispatch DepositMoney '{"aggregate_id":"M1","amount":5}'

section "typed errors in C"
cat >typed.c <<'C'
#include <stdio.h>
#include <incident/app.h>
#include <incident/store.h>
#include "bank.h"

int main(void) {
    inc_error err;
    inc_store *store = inc_mem_store_open(&err);
    inc_app *app = store ? inc_app_new(&bank_domain, store, &err) : NULL;
    if (!app) { fprintf(stderr, "%s\n", err.message); return 1; }

    bank_open_account open;
    bank_open_account_init(&open);
    open.aggregate_id = "A1";
    if (inc_dispatch(app, &bank_open_account_desc, &open, NULL, &err) != 0) return 1;

    bank_withdraw_money w;
    bank_withdraw_money_init(&w);
    w.aggregate_id = "A1";
    w.amount = 10;
    if (inc_dispatch(app, &bank_withdraw_money_desc, &w, NULL, &err) != 0) {
        switch (bank_rejection_of(&err)) {
        case BANK_REJECT_NO_ENOUGH_BALANCE:
            printf("refused: %s (kind %s)\n", bank_rejection_name(BANK_REJECT_NO_ENOUGH_BALANCE),
                   inc_error_kind_name(err.kind));
            break;
        case BANK_REJECT_NONE:
            printf("not a rejection: %s\n", err.message); /* database down, conflict, ... */
            break;
        default:
            printf("other rejection: %s\n", err.code);
        }
    }
    inc_app_free(app);
    inc_store_close(store);
    return 0;
}
C
cat typed.c
printf '%s\n' '$ cc -std=c11 -Wall -Wextra -Werror -pedantic -Igen typed.c gen/bank.c -lincident -ljansson -lpq -o typed'
cc -std=c11 -Wall -Wextra -Werror -pedantic -Igen -I"$src/runtime/include" typed.c gen/bank.c \
   "$build/runtime/libincident.a" -ljansson -lpq -o typed
echo '$ ./typed'
./typed
