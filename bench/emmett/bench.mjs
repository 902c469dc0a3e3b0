// bench.mjs - the dispatch workload of bench_dispatch with Emmett
// (@event-driven-io/emmett + emmett-postgresql): its PostgreSQL event store
// and CommandHandler, retrying on version conflicts.  1,000 streams of 10
// events; deposits into random streams for SECONDS with CONNS worker
// processes (one connection each); then every balance is checked.
//
//   node bench.mjs CONNS SECONDS        (EMMETT_DB: a postgresql:// URL)
// Prints "RESULT emmett_cps_<CONNS> x" and "RESULT emmett_balances_ok_<CONNS> 0|1".
import { fork } from 'node:child_process';
import { CommandHandler } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';

const N_ACCOUNTS = 1000;
const url = process.env.EMMETT_DB;
if (!url) { console.error('EMMETT_DB is not set'); process.exit(1); }

const evolve = (state, event) => {
  switch (event.type) {
    case 'AccountOpened': return { ...state, opened: true };
    case 'MoneyDeposited': return { ...state, balance: state.balance + event.data.amount };
    default: return state;
  }
};
const initialState = () => ({ opened: false, balance: 0 });
const handle = CommandHandler({ evolve, initialState, retry: { onVersionConflict: 10 } });
const deposit = (amount) => (state) => {
  if (!state.opened) throw new Error('account_not_found');
  if (!(amount > 0)) throw new Error('invalid_amount');
  return { type: 'MoneyDeposited', data: { amount } };
};
const streamId = (prefix, i) => `${prefix}-acc-${String(i).padStart(4, '0')}`;

async function worker(prefix, seconds, index) {
  const store = getPostgreSQLEventStore(url);
  const deposits = new Array(N_ACCOUNTS).fill(0);
  let done = 0;
  let rng = (index + 1) * 2654435761 % 4294967296;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    rng = (rng * 1664525 + 1013904223) % 4294967296;
    const a = rng % N_ACCOUNTS;
    await handle(store, streamId(prefix, a), deposit(1));
    deposits[a]++;
    done++;
  }
  await store.close();
  return { done, deposits };
}

async function main() {
  if (process.argv[2] === 'worker') {
    const [, , , prefix, seconds, index] = process.argv;
    const r = await worker(prefix, Number(seconds), Number(index));
    process.send(r, () => process.exit(0));
    return;
  }
  const conns = Number(process.argv[2] || 1), seconds = Number(process.argv[3] || 10);
  const prefix = `e${conns}x${Date.now().toString(36)}`;
  const store = getPostgreSQLEventStore(url);
  // seed: an opening and 9 deposits of 10 per stream
  for (let i = 0; i < N_ACCOUNTS; i++) {
    const events = [{ type: 'AccountOpened', data: { account_number: streamId(prefix, i) } }];
    for (let d = 0; d < 9; d++) events.push({ type: 'MoneyDeposited', data: { amount: 10 } });
    await store.appendToStream(streamId(prefix, i), events);
  }
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(Array.from({ length: conns }, (_, i) => new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ['worker', prefix, String(seconds), String(i)]);
    child.on('message', resolve);
    child.on('exit', (code) => { if (code) reject(new Error(`worker exited ${code}`)); });
  })));
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const done = results.reduce((s, r) => s + r.done, 0);
  console.log(`RESULT emmett_cps_${conns} ${(done / dt).toFixed(1)}`);
  let ok = 1;
  for (let i = 0; i < N_ACCOUNTS; i++) {
    const want = 90 + results.reduce((s, r) => s + r.deposits[i], 0);
    const { state } = await store.aggregateStream(streamId(prefix, i), { evolve, initialState });
    if (state.balance !== want) { ok = 0; console.error(`${streamId(prefix, i)}: ${state.balance} != ${want}`); }
  }
  console.log(`RESULT emmett_balances_ok_${conns} ${ok}`);
  await store.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
