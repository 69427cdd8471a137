/**
 * A loopback stand-in for the registry's scanner API, used until tests run against the real
 * registry router: keeps records by id, counts writes, and can be told to fail.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

/** The stub and what it saw. */
export interface RegistryStub {
  url: string;
  records: Map<string, { collection: string; body: unknown; writes: number }>;
  writes: string[];
  /** The next `n` writes answer 503. */
  failNext(n: number): void;
  /** Every write answers 503 while true. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/** Starts the stub on an ephemeral loopback port. */
export async function startRegistryStub(token: string): Promise<RegistryStub> {
  const records = new Map<string, { collection: string; body: unknown; writes: number }>();
  const writes: string[] = [];
  let failures = 0;
  let down = false;
  const app = express();
  app.use(express.json());
  app.use((req, res, next) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.status(401).json({ code: 'unauthorized', message: 'missing or invalid credential', errors: [] });
      return;
    }
    if (down || failures > 0) {
      failures = Math.max(0, failures - 1);
      res.status(503).json({ code: 'unavailable', message: 'registry store unavailable', errors: [] });
      return;
    }
    next();
  });
  app.put('/v1/registry/:collection/:id', (req, res) => {
    const key = `${req.params.collection}/${req.params.id}`;
    writes.push(`PUT ${key}`);
    const prev = records.get(key);
    records.set(key, { collection: req.params.collection, body: req.body as unknown, writes: (prev?.writes ?? 0) + 1 });
    res.status(prev ? 200 : 201).json({ id: req.params.id, trust: 'discovered' });
  });
  app.post('/v1/registry/:collection/:id/lease', (req, res) => {
    writes.push(`LEASE ${req.params.collection}/${req.params.id}`);
    res.status(200).json({ id: req.params.id });
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    records,
    writes,
    failNext: (n) => void (failures = n),
    setDown: (d) => void (down = d),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
