// graphile-worker, the peer of Baedal's outbox worker in docs/benchmarks.md, run on the same
// PostgreSQL server and machine in the same benchmark run.
//
//   node bench.mjs <postgres-url> <jobs> <latency-samples> <concurrency>
//
// Prints one JSON line: the no-op drain rate (jobs/s) and add -> start latency (p50, p99 ms).
import { run, makeWorkerUtils, Logger } from 'graphile-worker';
import pg from 'pg';
import { performance } from 'node:perf_hooks';

const [url, jobsArg, samplesArg, concurrencyArg] = process.argv.slice(2);
const jobs = Number(jobsArg ?? 20000);
const samples = Number(samplesArg ?? 200);
const concurrency = Number(concurrencyArg ?? 10);

const logger = new Logger(() => () => {});

const utils = await makeWorkerUtils({ connectionString: url, logger });
await utils.migrate();
const pool = new pg.Pool({ connectionString: url });

// Drain: queue `jobs` no-op jobs in one statement, then time a runner emptying the queue.
await pool.query(
  "select graphile_worker.add_job('noop', json_build_object('i', i)) from generate_series(1, $1) i",
  [jobs],
);
const started = performance.now();
const drainRunner = await run({
  connectionString: url,
  concurrency,
  noHandleSignals: true,
  pollInterval: 1000,
  logger,
  taskList: { noop: async () => {} },
});
for (;;) {
  const { rows } = await pool.query('select count(*)::int as n from graphile_worker.jobs');
  if (rows[0].n === 0) break;
  await new Promise((r) => setTimeout(r, 5));
}
const drainSeconds = (performance.now() - started) / 1000;
await drainRunner.stop();

// Latency: one job at a time, from addJob() to the task starting.
const waiting = new Map();
const latencyRunner = await run({
  connectionString: url,
  concurrency: 1,
  noHandleSignals: true,
  pollInterval: 1000,
  logger,
  taskList: {
    latency: async (payload) => {
      const done = waiting.get(payload.id);
      if (done) done(performance.now());
    },
  },
});
await new Promise((r) => setTimeout(r, 300));
const lags = [];
for (let i = 0; i < samples; i++) {
  const startedAt = new Promise((resolve) => waiting.set(i, resolve));
  const t0 = performance.now();
  await utils.addJob('latency', { id: i });
  lags.push((await startedAt) - t0);
}
await latencyRunner.stop();
await utils.release();
await pool.end();
lags.sort((a, b) => a - b);
const pick = (q) => lags[Math.round((lags.length - 1) * q)];
console.log(JSON.stringify({
  jobs,
  concurrency,
  drain_per_second: jobs / drainSeconds,
  latency_p50_ms: pick(0.5),
  latency_p99_ms: pick(0.99),
}));
