/**
 * Benchmark fixture process: 20 live agent/MCP servers inside a block of 2,000 free loopback ports
 * (8 streamable-HTTP MCP servers with SSE answers, 4 with JSON answers, 4 OpenAI-compatible stubs,
 * 4 A2A agents), one every 100 ports. Prints `{"base":..,"count":2000,"live":[..]}` once listening.
 */
import { freePortBlock, startA2aAgent, startMcpServer, startOpenAiStub } from '@argus/discover/testing';

const COUNT = 2000;
const base = await freePortBlock(COUNT);
const live: number[] = [];
for (let i = 0; i < 20; i++) {
  const port = base + 50 + i * 100;
  if (i < 8)
    await startMcpServer({
      name: `bench-mcp-${i}`,
      tools: [
        { name: 'search', description: `Search ${i}` },
        { name: 'fetch', description: 'Fetch a page' },
      ],
      mode: 'sse',
      port,
    });
  else if (i < 12)
    await startMcpServer({ name: `bench-mcp-${i}`, tools: [{ name: 'lookup', description: `Lookup ${i}` }], mode: 'json', port });
  else if (i < 16) await startOpenAiStub([`model-${i}`], port);
  else await startA2aAgent(`bench-agent-${i}`, port);
  live.push(port);
}
process.stdout.write(`${JSON.stringify({ base, count: COUNT, live })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
