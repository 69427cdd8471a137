import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * A server-sent-event stream rewritten event by event: each event's raw text (its lines, without
 * the blank line that ends it) goes through {@link SseEvents.event}, whose answer is sent in its
 * place (`''` drops the event). An event past `maxEventBytes` fails the stream (the caller cuts it).
 */
export abstract class SseEvents extends Transform {
  private buffer = '';
  /** Characters split across chunks are joined before the text is read (a chunk may end mid-character). */
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly maxEventBytes: number) {
    super();
  }

  /** The text to send for one event (ending with its blank line), or `''` to drop it. */
  protected abstract event(raw: string): string;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buffer += this.decoder.write(chunk);
    try {
      let m: RegExpExecArray | null;
      while ((m = /\r?\n\r?\n/.exec(this.buffer))) {
        const raw = this.buffer.slice(0, m.index);
        this.buffer = this.buffer.slice(m.index + m[0].length);
        const out = this.event(raw);
        if (out !== '') this.push(out);
      }
      if (this.buffer.length > this.maxEventBytes) throw new Error('stream event too large to rewrite');
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    this.buffer += this.decoder.end();
    try {
      if (this.buffer.trim() !== '') {
        const out = this.event(this.buffer);
        if (out !== '') this.push(out);
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

/** The `data` of an event (its `data:` lines joined), and its other lines. */
export function eventParts(raw: string): { data: string[]; other: string[] } {
  const lines = raw.split(/\r?\n/);
  return {
    data: lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(l.startsWith('data: ') ? 6 : 5)),
    other: lines.filter((l) => !l.startsWith('data:') && l !== ''),
  };
}

/**
 * Drops the usage chunk (`choices: []` with a `usage`) from an OpenAI stream whose client did not
 * ask for one: the proxy asks the provider for it (`stream_options.include_usage`) to charge the
 * goal's budget, and the client gets the stream it asked for. Every other event passes unchanged.
 */
export class UsageChunkStripper extends SseEvents {
  protected event(raw: string): string {
    if (raw.includes('"usage"')) {
      const { data } = eventParts(raw);
      try {
        const doc = JSON.parse(data.join('\n')) as { choices?: unknown; usage?: unknown };
        if (Array.isArray(doc.choices) && doc.choices.length === 0 && doc.usage && typeof doc.usage === 'object') return '';
      } catch {
        // Not JSON: not the usage chunk.
      }
    }
    return `${raw}\n\n`;
  }
}
