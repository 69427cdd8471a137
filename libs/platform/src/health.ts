import type { Router } from 'express';
import express from 'express';
import type { Registry } from 'prom-client';

/** One readiness check: `ok` false makes `/readyz` answer 503 with the detail. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<{ ok: boolean; detail?: string }> | { ok: boolean; detail?: string };
}

/** `/healthz` (process alive), `/readyz` (every check ok) and `/metrics` (Prometheus text). */
export function healthRouter(options: { checks: ReadinessCheck[]; metrics?: Registry }): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      options.checks.map(async (c) => {
        try {
          return { name: c.name, ...(await c.check()) };
        } catch (err) {
          return { name: c.name, ok: false, detail: err instanceof Error ? err.message : 'check failed' };
        }
      }),
    );
    const ok = results.every((r) => r.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks: results });
  });
  if (options.metrics) {
    const registry = options.metrics;
    router.get('/metrics', async (_req, res) => {
      res.setHeader('content-type', registry.contentType);
      res.send(await registry.metrics());
    });
  }
  return router;
}
