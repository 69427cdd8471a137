/** A bounded Server-Sent Events reader for probe responses, over `eventsource-parser`. */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One SSE event: its `event` name (default `message`) and its joined `data` lines. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Reads events from a response body. Stops (returns) at the end of the stream or once `maxBytes`
 * have been read; the caller aborts the request to stop earlier.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, maxBytes: number): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let parsed: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => parsed.push(message) });
  let read = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > maxBytes) return;
      parser.feed(decoder.decode(value, { stream: true }));
      const ready = parsed;
      parsed = [];
      for (const message of ready) yield { event: message.event ?? 'message', data: message.data };
    }
  } finally {
    reader.releaseLock();
  }
}
