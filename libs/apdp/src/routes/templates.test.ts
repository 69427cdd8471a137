import { errorHandler, jsonBody, silentLogger, createMetricsRegistry } from '@argus/platform';
import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import { PolicyHolder } from '../policy-holder.ts';
import { ShadowEvaluator } from '../shadow.ts';
import { shadowRouter, templatesRouter } from './templates.ts';

const SCHEMA = `namespace Argus {
  entity Agent;
  entity Tool;
  action "tool:call" appliesTo { principal: Agent, resource: Tool };
}`;
const TEMPLATE =
  '@id("grant-tool")\n@reason("a per-agent grant")\npermit (principal == ?principal, action == Argus::Action::"tool:call", resource == ?resource);';
const STATIC = '@id("nobody")\nforbid (principal, action, resource == Argus::Tool::"nuke");';

const requireAdmin: RequestHandler = (req, res, next) => {
  if (req.headers.authorization !== 'Bearer admin') {
    res.status(401).json({ code: 'unauthorized', message: 'admin token required', errors: [] });
    return;
  }
  res.locals.subject = 'admin';
  next();
};

function build() {
  const holder = new PolicyHolder();
  const loaded = holder.replace(
    {
      schema: SCHEMA,
      policies: [
        { file: 'grants.cedar', text: TEMPLATE },
        { file: 'static.cedar', text: STATIC },
      ],
    },
    'directory',
  );
  if (!loaded.ok) throw new Error('fixture set');
  const shadow = new ShadowEvaluator({ metrics: createMetricsRegistry({ defaultMetrics: false }) });
  const published: string[] = [];
  const app = express();
  app.use(jsonBody({ maxBodyBytes: 65536, maxJsonDepth: 32 }));
  app.use(templatesRouter({ holder, requireAdmin, onPublished: async (_input, version) => void published.push(version) }));
  app.use(shadowRouter({ shadow, holder, requireAdmin }));
  app.use(errorHandler(silentLogger()));
  return { app, holder, shadow, published };
}

const link = {
  templateId: 'grant-tool',
  linkId: 'bot-search',
  values: { '?principal': { type: 'Agent', id: 'bot' }, '?resource': { type: 'Tool', id: 'search' } },
};

describe('template routes', () => {
  let t: ReturnType<typeof build>;
  beforeEach(() => {
    t = build();
  });

  it('lists templates with their slots', async () => {
    const res = await request(t.app).get('/v1/policies/templates').expect(200);
    expect(res.body.templates).toEqual([
      expect.objectContaining({
        id: 'grant-tool',
        effect: 'permit',
        slots: ['?principal', '?resource'],
        links: 0,
        annotations: { id: 'grant-tool', reason: 'a per-agent grant' },
      }),
    ]);
  });

  it('link writes honour If-Match against the live version (the ETag of every answer naming it): 412 when stale', async () => {
    const listed = await request(t.app).get('/v1/policies/links').expect(200);
    const etag = listed.headers.etag as string;
    expect(etag).toBe(`"${t.holder.current!.set.version}"`);
    const stale = await request(t.app)
      .post('/v1/policies/links')
      .set('authorization', 'Bearer admin')
      .set('if-match', '"sha256:deadbeef"')
      .send(link)
      .expect(412);
    expect(stale.body).toMatchObject({ code: 'precondition_failed', errors: [{ path: '/headers/if-match' }] });
    expect(t.holder.current!.set.policies.has('bot-search')).toBe(false);
    const created = await request(t.app)
      .post('/v1/policies/links')
      .set('authorization', 'Bearer admin')
      .set('if-match', etag)
      .send(link)
      .expect(201);
    expect(created.headers.etag).toBe(`"${created.body.version}"`);
    // The link's own answer is the version to delete it under; the version it was created from is stale.
    await request(t.app).delete('/v1/policies/links/bot-search').set('authorization', 'Bearer admin').set('if-match', etag).expect(412);
    expect(t.holder.current!.set.policies.has('bot-search')).toBe(true);
    await request(t.app)
      .delete('/v1/policies/links/bot-search')
      .set('authorization', 'Bearer admin')
      .set('if-match', created.headers.etag as string)
      .expect(200);
  });

  it('creates a link that changes the active set, lists and deletes it', async () => {
    const before = t.holder.current!.set.version;
    await request(t.app).post('/v1/policies/links').send(link).expect(401);
    const created = await request(t.app).post('/v1/policies/links').set('authorization', 'Bearer admin').send(link).expect(201);
    expect(created.body.version).not.toBe(before);
    expect(t.holder.current!.set.policies.get('bot-search')).toMatchObject({ effect: 'permit', annotations: { template: 'grant-tool' } });
    expect(t.published).toEqual([created.body.version]);
    const listed = await request(t.app).get('/v1/policies/links').expect(200);
    expect(listed.body.links).toEqual([
      {
        templateId: 'grant-tool',
        linkId: 'bot-search',
        values: { '?principal': { type: 'Argus::Agent', id: 'bot' }, '?resource': { type: 'Argus::Tool', id: 'search' } },
      },
    ]);
    await request(t.app).post('/v1/policies/links').set('authorization', 'Bearer admin').send(link).expect(409);
    await request(t.app).delete('/v1/policies/links/bot-search').set('authorization', 'Bearer admin').expect(200);
    expect(t.holder.current!.set.version).toBe(before);
    await request(t.app).delete('/v1/policies/links/bot-search').set('authorization', 'Bearer admin').expect(404);
    // What the list answers can be posted back as it is (types in full).
    await request(t.app).post('/v1/policies/links').set('authorization', 'Bearer admin').send(listed.body.links[0]).expect(201);
    expect(t.holder.current!.set.policies.get('bot-search')).toMatchObject({ effect: 'permit' });
    const bad = await request(t.app)
      .post('/v1/policies/links')
      .set('authorization', 'Bearer admin')
      .send({ ...link, linkId: 'x', values: { '?principal': { type: 'Argus::', id: 'bot' } } })
      .expect(400);
    expect(bad.body.errors[0].path).toBe('/values/?principal/type');
  });

  it('refuses a bad link with 422 and keeps the active set', async () => {
    const before = t.holder.current!.set.version;
    const unknown = await request(t.app)
      .post('/v1/policies/links')
      .set('authorization', 'Bearer admin')
      .send({ ...link, templateId: 'nope' })
      .expect(422);
    expect(unknown.body.code).toBe('invalid_policy');
    expect(unknown.body.errors[0].message).toContain('unknown template');
    const wrongType = await request(t.app)
      .post('/v1/policies/links')
      .set('authorization', 'Bearer admin')
      .send({ ...link, values: { '?principal': { type: 'Tool', id: 'x' }, '?resource': { type: 'Tool', id: 'search' } } })
      .expect(422);
    expect(wrongType.body.code).toBe('invalid_policy');
    expect(wrongType.body.errors[0].message).toContain('do not fit');
    const unknownType = await request(t.app)
      .post('/v1/policies/links')
      .set('authorization', 'Bearer admin')
      .send({ ...link, values: { '?principal': { type: 'Robot', id: 'x' }, '?resource': { type: 'Tool', id: 'search' } } })
      .expect(422);
    expect(unknownType.body.errors[0].message).toContain('Argus::Robot');
    expect(t.holder.current!.set.version).toBe(before);
  });

  it('names the path of a malformed link body', async () => {
    const res = await request(t.app)
      .post('/v1/policies/links')
      .set('authorization', 'Bearer admin')
      .send({ ...link, valuez: {} })
      .expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('/valuez');
  });
});

describe('shadow routes', () => {
  it('sets, reports and clears a candidate (admin only)', async () => {
    const t = build();
    const body = {
      policies: [
        { file: 'static.cedar', text: STATIC },
        { file: 'more.cedar', text: '@id("no-search")\nforbid (principal, action, resource == Argus::Tool::"search");' },
      ],
    };
    await request(t.app).post('/v1/policies/shadow').send(body).expect(401);
    const set = await request(t.app).post('/v1/policies/shadow').set('authorization', 'Bearer admin').send(body).expect(200);
    expect(set.body).toMatchObject({ active: true, policies: 2, evaluations: 0, flips: {} });
    const status = await request(t.app).get('/v1/policies/shadow').expect(200);
    expect(status.body).toMatchObject({ active: true, live: t.holder.current!.set.version, version: t.shadow.candidate!.version });
    const bad = await request(t.app)
      .post('/v1/policies/shadow')
      .set('authorization', 'Bearer admin')
      .send({ policies: [{ file: 'x.cedar', text: 'permit (principal, action, resource) when { nope };' }] })
      .expect(422);
    expect(bad.body.code).toBe('invalid_policy');
    expect(t.shadow.candidate?.version).toBe(set.body.version);
    await request(t.app).post('/v1/policies/shadow').set('authorization', 'Bearer admin').send({ clear: false }).expect(400);
    const cleared = await request(t.app).post('/v1/policies/shadow').set('authorization', 'Bearer admin').send({ clear: true }).expect(200);
    expect(cleared.body.active).toBe(false);
  });
});
