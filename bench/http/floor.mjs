/**
 * The floor of the decision API's HTTP benchmark: what Node itself costs to serve the varied
 * workload on one core, with no decision made. `POST /v1/authorize` reads the body, parses it,
 * checks the bearer token, and answers a fixed 640-byte JSON the shape of Argus's answer (its
 * decision id fresh); `GET /healthz` answers ok.
 *
 *   FLOOR_SQLITE=<file>: also keeps the durable floor of the audit trail on the same thread: each
 *   request's body and answer go into one SQLite row (WAL, synchronous=FULL), committed together
 *   with whatever else arrived in the same event-loop turn, and the answer waits for its commit
 *   (group commit with no hash chain, no index but the rowid, no worker).
 *
 * Started by `bash bench/http/run.sh` (passes `floor`, `floor-sqlite`); by hand:
 * `ARGUS_BENCH_TOKEN=t node bench/http/floor.mjs 3000`.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const port = Number(process.argv[2] ?? 3000);
const bearer = `Bearer ${process.env.ARGUS_BENCH_TOKEN ?? ''}`;
const TAIL =
  '","policy_version":"sha256:fdcd3dd1316fc80033edb7956aa70e4c","result":{"allow":true,"decision":"allow","reasons":[{"policy":"tool-invoke-for-intent","effect":"permit","annotations":{"id":"tool-invoke-for-intent","reason":"a trusted agent calls a tool tool for an intent the tool allows"}}],"errors":[],"facts":{"agent":{"registered":true,"trust":"trusted","lease":"expired"},"resource":{"source":"registry","serverTrust":"trusted"},"delegation":{"checked":false},"goal":{"checked":false},"intent":{"checked":true,"name":"code-change","valid":true},"policies":{"evaluated":2,"total":10}}}}';

/** Group commit on this thread: rows gathered in one turn, one transaction, then every waiter answered. */
function durableLog(file) {
  const Database = createRequire(import.meta.url)('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS records (id TEXT NOT NULL, body TEXT NOT NULL, answer TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO records (id, body, answer) VALUES (?, ?, ?)');
  const commit = db.transaction((rows) => {
    for (const r of rows) insert.run(r[0], r[1], r[2]);
  });
  let rows = [];
  let waiters = [];
  const flush = () => {
    const batch = rows;
    const done = waiters;
    rows = [];
    waiters = [];
    commit(batch);
    for (const w of done) w();
  };
  return (id, body, answer, then) => {
    if (rows.push([id, body, answer]) === 1) setImmediate(flush);
    waiters.push(then);
  };
}

const log = process.env.FLOOR_SQLITE ? durableLog(process.env.FLOOR_SQLITE) : undefined;

createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end('{"status":"ok"}');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/v1/authorize') {
    res.statusCode = 404;
    res.end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (req.headers.authorization !== bearer || typeof body?.input !== 'object') {
      res.statusCode = body === undefined ? 400 : 401;
      res.end();
      return;
    }
    const id = randomUUID();
    const answer = `{"decision_id":"${id}${TAIL}`;
    const send = () => {
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(answer);
    };
    if (log) log(id, text, answer, send);
    else send();
  });
}).listen(port, '127.0.0.1');
