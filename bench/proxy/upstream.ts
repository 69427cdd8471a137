/**
 * The benchmark upstream: a bare node:http server speaking enough of the OpenAI API.
 * `POST /v1/chat/completions` answers a fixed JSON completion (with usage), or with
 * `"stream": true` an SSE stream whose first chunk is sent at once and the rest 20 ms later.
 * For model `gpt-records` it answers a tool call whose arguments carry patient records (what the
 * obligations benchmark redacts and truncates).
 * Prints `READY <port>` on stdout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const completion = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark upstream.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
});

const patients = Array.from({ length: 8 }, (_, i) => ({
  name: `Patient ${i}`,
  ssn: `000-00-000${i}`,
  dob: '1970-01-01',
  contact: { email: `p${i}@example.com`, phone: '555-0100' },
}));
const records = JSON.stringify({
  id: 'chatcmpl-records',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-records',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'file_records', arguments: JSON.stringify({ patients }) } }],
      },
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 40, completion_tokens: 120, total_tokens: 160 },
});

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (body.includes('"stream":true')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n');
      setTimeout(() => {
        res.write(
          'data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}\n\n',
        );
        res.end('data: [DONE]\n\n');
      }, 20);
      return;
    }
    const answer = body.includes('"gpt-records"') ? records : completion;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`));
