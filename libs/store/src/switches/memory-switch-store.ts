import { systemClock, type Clock } from '../paging.ts';
import { sortSwitches, stoppedSwitch, type StopSwitch, type SwitchRecord, type SwitchScope, type SwitchStore } from './ports.ts';

/** Switches in this process only (tests, embeddings without a document store). */
export class MemorySwitchStore implements SwitchStore {
  private readonly records = new Map<string, SwitchRecord>();

  constructor(private readonly clock: Clock = systemClock) {}

  async list(): Promise<SwitchRecord[]> {
    return sortSwitches([...this.records.values()].map((r) => ({ ...r })));
  }

  async get(scope: SwitchScope, id: string): Promise<SwitchRecord | undefined> {
    const r = this.records.get(key(scope, id));
    return r ? { ...r } : undefined;
  }

  async stop(input: StopSwitch): Promise<SwitchRecord> {
    const record = stoppedSwitch(input, this.clock());
    this.records.set(key(input.scope, input.id), record);
    return { ...record };
  }

  async resume(scope: SwitchScope, id: string): Promise<SwitchRecord | undefined> {
    const k = key(scope, id);
    const r = this.records.get(k);
    this.records.delete(k);
    return r;
  }
}

function key(scope: SwitchScope, id: string): string {
  return `${scope}\u0000${id}`;
}
