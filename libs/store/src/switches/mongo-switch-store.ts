import type { Collection, Db } from 'mongodb';
import { orUnavailable } from '../unavailable.ts';
import { systemClock, type Clock } from '../paging.ts';
import { sortSwitches, stoppedSwitch, type StopSwitch, type SwitchRecord, type SwitchScope, type SwitchStore } from './ports.ts';

interface SwitchDoc extends SwitchRecord {
  _id: string;
}

/** Switches on MongoDB: one document per stopped switch in `switches`, keyed `<scope>:<id>`. */
export class MongoSwitchStore implements SwitchStore {
  private readonly collection: Collection<SwitchDoc>;

  constructor(
    db: Db,
    private readonly clock: Clock = systemClock,
  ) {
    this.collection = db.collection<SwitchDoc>('switches');
  }

  async list(): Promise<SwitchRecord[]> {
    const docs = await this.guard(() => this.collection.find({}).toArray());
    return sortSwitches(docs.map(strip));
  }

  async get(scope: SwitchScope, id: string): Promise<SwitchRecord | undefined> {
    const doc = await this.guard(() => this.collection.findOne({ _id: key(scope, id) }));
    return doc ? strip(doc) : undefined;
  }

  async stop(input: StopSwitch): Promise<SwitchRecord> {
    const record = stoppedSwitch(input, this.clock());
    await this.guard(() => this.collection.replaceOne({ _id: key(input.scope, input.id) }, record, { upsert: true }));
    return record;
  }

  async resume(scope: SwitchScope, id: string): Promise<SwitchRecord | undefined> {
    const doc = await this.guard(() => this.collection.findOneAndDelete({ _id: key(scope, id) }));
    return doc ? strip(doc) : undefined;
  }

  private guard<T>(fn: () => Promise<T>): Promise<T> {
    return orUnavailable('switch store', fn);
  }
}

function key(scope: SwitchScope, id: string): string {
  return `${scope}:${id}`;
}

function strip(doc: SwitchDoc): SwitchRecord {
  return { scope: doc.scope, id: doc.id, stopped: true, reason: doc.reason, by: doc.by, at: doc.at };
}
