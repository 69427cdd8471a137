/**
 * The audit trail with its pipeline on the calling thread (sink objects passed in, or
 * `thread: 'inline'`): records are built and handed to the pipeline directly.
 */
import type { DecisionEvent } from '@argus/contracts';
import type { AuditConfig } from './config.ts';
import type { Pipeline } from './pipeline.ts';
import { createRecordBuilder, type RecordBuilder } from './record.ts';
import type { AuditListener, AuditTrailStats } from './types.ts';
import type { AuditTrail } from './writer.ts';

/** The pipeline on the calling thread. */
export class InlineTrail implements AuditTrail {
  readonly writerId: string;
  private readonly build: RecordBuilder;

  constructor(
    cfg: AuditConfig,
    private readonly pipeline: Pipeline,
    private readonly clock: () => Date,
  ) {
    this.writerId = cfg.writerId;
    this.build = createRecordBuilder(cfg.record);
  }

  record(event: DecisionEvent): Promise<void> {
    return this.pipeline.record(this.build(event, this.clock()));
  }

  subscribe(listener: AuditListener): () => void {
    return this.pipeline.subscribe(listener);
  }

  flush(): Promise<void> {
    return this.pipeline.flush();
  }

  close(): Promise<void> {
    return this.pipeline.close();
  }

  stats(): AuditTrailStats {
    return this.pipeline.stats();
  }
}
