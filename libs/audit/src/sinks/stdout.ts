/** Stdout sink: one JSON line per record, for containers whose log pipeline collects stdout. */
import { serializedRecord } from '../chain.ts';
import type { AuditSink, ChainedRecord } from '../types.ts';

/** Creates the stdout sink (or a sink on any writable stream, for tests). */
export function createStdoutSink(stream: NodeJS.WritableStream = process.stdout): AuditSink {
  return {
    name: 'stdout',
    write(records: readonly ChainedRecord[]): Promise<void> {
      const text = records.map((r) => serializedRecord(r)).join('\n') + '\n';
      return new Promise((resolve, reject) => {
        stream.write(text, (err) => (err ? reject(err) : resolve()));
      });
    },
    async close(): Promise<void> {},
  };
}
