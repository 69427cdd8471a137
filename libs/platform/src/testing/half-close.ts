import { connect } from 'node:net';

/**
 * Sends `head` (request line and headers, without the blank line) and `body` to the server at
 * `url`, then half-closes the connection (`shutdown(SHUT_WR)`) and answers everything the server
 * wrote until it closed: `''` when it closed without answering. Gives up after `timeoutMs`.
 */
export async function halfClosedExchange(url: string, head: string, body = '', timeoutMs = 5_000): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const closed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString('utf8').slice(0, 200))}`));
    }, timeoutMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on('error', () => undefined);
  });
  socket.write(`${head}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body}`);
  socket.end();
  await closed;
  return Buffer.concat(chunks).toString('utf8');
}
