import { connect } from 'node:net';

/**
 * Sends `head` (the request line and headers as written, without the blank line) and `body` to
 * the server at `url` over a plain socket, for what `fetch` cannot send (a request target in
 * absolute form, a half-close), and answers everything the server wrote until it closed (`''`
 * when it closed without answering). `halfClose`: shut the sending side once the request is sent
 * (`shutdown(SHUT_WR)`); otherwise the request asks for `Connection: close`. Gives up after
 * `timeoutMs`.
 */
export async function rawExchange(
  url: string,
  head: string,
  body = '',
  options: { halfClose?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  const { halfClose = false, timeoutMs = 5_000 } = options;
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
  socket.write(`${head}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: ${halfClose ? 'keep-alive' : 'close'}\r\n\r\n${body}`);
  if (halfClose) socket.end();
  await closed;
  return Buffer.concat(chunks).toString('utf8');
}

/** {@link rawExchange} with a half-close once the request is sent. */
export function halfClosedExchange(url: string, head: string, body = ''): Promise<string> {
  return rawExchange(url, head, body, { halfClose: true });
}
