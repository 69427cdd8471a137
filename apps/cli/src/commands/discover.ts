/**
 * `argus discover run <target>`: a one-off scan of a network range (`127.0.0.1:8000-8100`, a CIDR),
 * a Docker engine or a Kubernetes cluster, with a progress bar on stderr and a summary table of what
 * was found; findings are reported to the registry (`--registry URL --token ...`) unless `--dry-run`.
 * Exit codes: 0 ok, 1 the registry rejected some records, 2 cannot run.
 */
import type { Command } from 'commander';
import type { Finding, ReportSummary, ScanResult, ScanTarget } from '@argus/discover';

/** The scanners (Docker, Kubernetes, network), the registry client and the table renderer, loaded when a scan runs. */
async function loadDiscover() {
  const [discover, { ArgusError }, { default: Table }, { SingleBar }] = await Promise.all([
    import('@argus/discover'),
    import('@argus/platform'),
    import('cli-table3'),
    import('cli-progress'),
  ]);
  return { ...discover, ArgusError, Table, SingleBar };
}
type DiscoverModules = Awaited<ReturnType<typeof loadDiscover>>;

/** Where the command writes; the process streams unless a test passes its own. */
export interface DiscoverCliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** Options of `argus discover run`. */
export interface DiscoverRunCliOptions {
  kind: string;
  ports?: string;
  registry?: string;
  token?: string;
  dryRun?: boolean;
  concurrency?: string;
  timeoutMs?: string;
  connectTimeoutMs?: string;
  scanTimeoutMs?: string;
  maxEndpoints?: string;
  allow?: string[];
  heuristics?: string;
  namespace?: string;
  context?: string;
  json?: boolean;
  tools?: boolean;
  progress?: boolean;
}

/** A failure that means the command could not run at all (exit 2). */
class CannotRun extends Error {}

function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max)
    throw new CannotRun(`--${name} must be an integer between ${min} and ${max}, got \`${value}\``);
  return Number(value);
}

function buildTarget(address: string, o: DiscoverRunCliOptions, { normalizeTarget, ArgusError }: DiscoverModules): ScanTarget {
  if (o.kind !== 'network' && o.kind !== 'docker' && o.kind !== 'kubernetes')
    throw new CannotRun(`--kind must be network, docker or kubernetes, got \`${o.kind}\``);
  const concurrency = intOption(o.concurrency, 'concurrency', 1, 1024);
  const probeTimeoutMs = intOption(o.timeoutMs, 'timeout-ms', 50, 60_000);
  const connectTimeoutMs = intOption(o.connectTimeoutMs, 'connect-timeout-ms', 50, 60_000);
  const scanTimeoutMs = intOption(o.scanTimeoutMs, 'scan-timeout-ms', 1000, 3_600_000);
  try {
    return normalizeTarget({
      id: 'cli',
      kind: o.kind,
      address,
      ...(o.ports ? { ports: o.ports.split(',').map((p) => p.trim()) } : {}),
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(probeTimeoutMs !== undefined ? { probeTimeoutMs } : {}),
      ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}),
      ...(scanTimeoutMs !== undefined ? { scanTimeoutMs } : {}),
      ...(o.namespace ? { namespace: o.namespace } : {}),
      ...(o.context ? { context: o.context } : {}),
    });
  } catch (err) {
    if (err instanceof ArgusError)
      throw new CannotRun(`invalid target: ${err.errors.map((e) => `${e.path.replace('/targets/0', '') || '/'} ${e.message}`).join('; ')}`);
    throw err;
  }
}

function detail(f: Finding): string {
  if (f.type === 'mcp-server') return `${f.transport}, ${f.tools.length} tool${f.tools.length === 1 ? '' : 's'}`;
  const caps = f.capabilities ?? [];
  const shown = caps.slice(0, 3).join(', ');
  return caps.length > 3 ? `${shown}, +${caps.length - 3}` : shown || '-';
}

/** Renders the summary table (and, with `tools`, one row per MCP tool with its description hash). */
export function renderSummary(
  Table: DiscoverModules['Table'],
  result: ScanResult,
  report: ReportSummary | undefined,
  options: { tools?: boolean } = {},
): string {
  const status = new Map<string, { state: string; trust: string }>();
  for (const u of report?.upserted ?? [])
    status.set(u.id, {
      state: u.toolsChanged?.length ? `upserted (tools ${u.toolsChanged.join(' ')})` : 'upserted',
      trust: u.trust ?? '-',
    });
  for (const r of report?.rejected ?? []) status.set(r.id, { state: `rejected: ${r.code}`, trust: '-' });
  const table = new Table({ head: ['type', 'id', 'name', 'url', 'detail', 'trust', 'status'], style: { head: [], border: [] } });
  for (const f of result.findings) {
    const s = status.get(f.id) ?? { state: report ? '-' : 'dry run', trust: '-' };
    table.push([
      f.type === 'mcp-server' ? 'mcp-server' : `agent/${f.kind}`,
      f.id,
      f.name,
      f.type === 'mcp-server' ? f.url : (f.url ?? '-'),
      detail(f),
      s.trust,
      s.state,
    ]);
  }
  const lines = [
    `${result.findings.length} found · ${result.endpointsProbed} endpoint${result.endpointsProbed === 1 ? '' : 's'} probed, ${result.endpointsOpen} open · ${result.durationMs} ms${result.complete ? '' : ' · INCOMPLETE (scan deadline reached)'}`,
  ];
  if (result.findings.length > 0) lines.push(table.toString());
  if (options.tools) {
    const tools = new Table({ head: ['server', 'tool', 'description sha256', 'description'], style: { head: [], border: [] } });
    for (const f of result.findings) {
      if (f.type !== 'mcp-server') continue;
      for (const t of f.tools)
        tools.push([
          f.id,
          t.name,
          t.descriptionHash.slice(0, 16),
          t.description.length > 60 ? `${t.description.slice(0, 57)}...` : t.description,
        ]);
    }
    if (tools.length > 0) lines.push(tools.toString());
  }
  return `${lines.join('\n')}\n`;
}

/** Runs one scan; returns the exit code. */
export async function runDiscover(address: string, o: DiscoverRunCliOptions, io: DiscoverCliIo): Promise<number> {
  try {
    const m = await loadDiscover();
    const { loadHeuristics, runScan, reportFindings, HttpRegistryClient, ArgusError, SingleBar } = m;
    const target = buildTarget(address, o, m);
    const registryUrl = o.registry ?? io.env.ARGUS_REGISTRY_URL;
    const token = o.token ?? io.env.ARGUS_DISCOVER_REGISTRY_TOKEN ?? io.env.ARGUS_REGISTRY_TOKEN;
    if (!o.dryRun && !registryUrl)
      throw new CannotRun('--registry URL is required (or ARGUS_REGISTRY_URL), or pass --dry-run to only print what is found');
    if (registryUrl && !/^https?:\/\//.test(registryUrl)) throw new CannotRun('--registry must be an http(s) URL');
    const maxEndpoints = intOption(o.maxEndpoints, 'max-endpoints', 1, 1_048_576) ?? 65_536;
    let heuristics;
    try {
      heuristics = o.heuristics ? loadHeuristics(o.heuristics) : loadHeuristics();
    } catch (err) {
      if (err instanceof ArgusError) throw new CannotRun(`${err.message}: ${err.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
      throw err;
    }

    const showBar = o.progress !== false && !o.json && io.stderr.isTTY === true;
    const bar = showBar
      ? new SingleBar({
          stream: io.stderr,
          format: 'scanning [{bar}] {percentage}% | {value}/{total} endpoints',
          hideCursor: false,
          clearOnComplete: true,
        })
      : undefined;
    let started = false;
    const abort = new AbortController();
    const onSignal = () => abort.abort(new CannotRun('interrupted'));
    process.once('SIGINT', onSignal);
    let result: ScanResult;
    try {
      result = await runScan(target, {
        heuristics,
        maxEndpoints,
        ...(o.allow && o.allow.length > 0 ? { probeAllowCidrs: o.allow } : {}),
        signal: abort.signal,
        onProgress: (done, total) => {
          if (!bar) return;
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          bar.update(done);
        },
      });
    } finally {
      process.removeListener('SIGINT', onSignal);
      if (started) bar?.stop();
    }

    let report: ReportSummary | undefined;
    if (!o.dryRun && registryUrl) {
      const client = new HttpRegistryClient({ url: registryUrl, timeoutMs: 5000, ...(token ? { token } : {}) });
      report = await reportFindings(client, result.findings, { scannerId: 'argus-cli' });
    }
    if (o.json) io.stdout.write(`${JSON.stringify({ result, ...(report ? { report } : {}) }, null, 2)}\n`);
    else io.stdout.write(renderSummary(m.Table, result, report, { tools: o.tools ?? false }));
    return report && report.rejected.length > 0 ? 1 : 0;
  } catch (err) {
    let message = err instanceof Error ? err.message : String(err);
    // The registry client reports an unreachable registry without its address: name the URL.
    const registryUrl = o.registry ?? io.env.ARGUS_REGISTRY_URL;
    if ((err as { code?: string }).code === 'unavailable' && registryUrl)
      message = `${message} at ${registryUrl} — is argus serve (or the registry) running?`;
    io.stderr.write(`argus discover: ${message}\n`);
    return 2;
  }
}

const processIo: DiscoverCliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };

/** Registers `argus discover run <target>` on `program`. */
export function registerDiscoverCommands(program: Command, io: DiscoverCliIo = processIo): void {
  const discover = program.command('discover').description('find AI agents and MCP servers (network ranges, Docker, Kubernetes)');
  discover
    .command('run')
    .description(
      'one-off scan: `127.0.0.1:8000-8100`, a CIDR with --ports, a Docker engine (unix:///var/run/docker.sock, tcp://host:2375) or a cluster (in-cluster, or a kubeconfig path)',
    )
    .argument('<target>', 'what to scan')
    .option('--kind <kind>', 'network | docker | kubernetes', 'network')
    .option('--ports <list>', 'ports or ranges, comma-separated (8000,8080-8090)')
    .option('--registry <url>', 'registry base URL to report to (env ARGUS_REGISTRY_URL)')
    .option('--token <token>', 'scanner bearer token (env ARGUS_DISCOVER_REGISTRY_TOKEN)')
    .option('--dry-run', 'print what is found; report nothing')
    .option('--concurrency <n>', 'probes in flight')
    .option('--connect-timeout-ms <ms>', 'TCP connect timeout per endpoint (default 1000)')
    .option('--timeout-ms <ms>', 'protocol probe budget per open endpoint (default 5000)')
    .option('--scan-timeout-ms <ms>', 'whole-scan deadline')
    .option('--max-endpoints <n>', 'refuse targets larger than this (default 65536)')
    .option('--allow <cidr...>', 'never probe addresses outside these CIDRs')
    .option('--heuristics <file>', 'heuristics data file (default: the bundled one)')
    .option('--namespace <ns>', 'kubernetes: one namespace')
    .option('--context <name>', 'kubernetes: kubeconfig context')
    .option('--tools', 'also list every MCP tool with its description hash')
    .option('--json', 'print the result as JSON')
    .option('--no-progress', 'no progress bar')
    .action(async (target: string, options: DiscoverRunCliOptions) => {
      process.exitCode = await runDiscover(target, options, io);
    });
}
