import type { Collection, Db, Document } from 'mongodb';
import type {
  NewPolicyVersion,
  Page,
  PageQuery,
  PolicyActivation,
  PolicyVersion,
  PolicyVersionStore,
  PolicyVersionSummary,
} from '../ports.ts';
import { decodeCursor, pageLimit, systemClock, toPage, type Clock } from '../paging.ts';
import { notFound } from '../records.ts';
import { isDuplicateKey, nextSeq, type IdDoc } from './common.ts';

/** Policy-set versions on MongoDB: `policy_versions` keyed by version, `policy_activations` append-only. */
export class MongoPolicyVersionStore implements PolicyVersionStore {
  private readonly versions: Collection<IdDoc>;
  private readonly log: Collection<Document>;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock = systemClock,
  ) {
    this.versions = db.collection('policy_versions');
    this.log = db.collection('policy_activations');
  }

  async saveVersion(input: NewPolicyVersion): Promise<{ version: PolicyVersion; created: boolean }> {
    const existing = await this.getVersion(input.version);
    if (existing) return { version: existing, created: false };
    const version: PolicyVersion = {
      version: input.version,
      files: input.files.map((f) => ({ path: f.path, text: f.text })),
      author: input.author,
      message: input.message,
      createdAt: this.clock().toISOString(),
    };
    const seq = await nextSeq(this.db, 'policy_versions');
    try {
      await this.versions.insertOne({ _id: version.version, seq, ...version } as IdDoc);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return { version: (await this.getVersion(input.version))!, created: false };
    }
    return { version, created: true };
  }

  async getVersion(version: string): Promise<PolicyVersion | undefined> {
    const doc = await this.versions.findOne({ _id: version });
    if (!doc) return undefined;
    const { _id: _omitId, seq: _omitSeq, ...rest } = doc;
    return rest as PolicyVersion;
  }

  async listVersions(query: PageQuery = {}): Promise<Page<PolicyVersionSummary>> {
    const limit = pageLimit(query.limit);
    const before = decodeCursor(query.cursor);
    const docs = await this.versions
      .find(before ? { seq: { $lt: Number(before[0]) } } : {}, { projection: { files: 0 } })
      .sort({ seq: -1 })
      .limit(limit + 1)
      .toArray();
    const counts = await this.versions
      .aggregate<{ _id: string; n: number }>([
        { $match: { _id: { $in: docs.map((d) => d._id) } } },
        { $project: { n: { $size: '$files' } } },
      ])
      .toArray();
    const n = new Map(counts.map((c) => [c._id, c.n]));
    const page = toPage(docs, limit, (d) => [d.seq as number]);
    return {
      ...page,
      items: page.items.map((d) => ({
        version: d.version as string,
        author: d.author as string,
        message: d.message as string,
        createdAt: d.createdAt as string,
        fileCount: n.get(d._id as unknown as string) ?? 0,
      })),
    };
  }

  async activate(version: string, by: string, message: string): Promise<PolicyActivation> {
    return this.record(version, 'activate', by, message);
  }

  async rollback(version: string, by: string, message: string): Promise<PolicyActivation> {
    return this.record(version, 'rollback', by, message);
  }

  async getActive(): Promise<PolicyVersion | undefined> {
    const last = await this.log.find({}).sort({ seq: -1 }).limit(1).next();
    return last ? this.getVersion(last.version as string) : undefined;
  }

  async activations(query: PageQuery = {}): Promise<Page<PolicyActivation>> {
    const limit = pageLimit(query.limit);
    const before = decodeCursor(query.cursor);
    const docs = await this.log
      .find(before ? { seq: { $lt: Number(before[0]) } } : {})
      .sort({ seq: -1 })
      .limit(limit + 1)
      .toArray();
    const page = toPage(docs, limit, (d) => [d.seq as number]);
    return { ...page, items: page.items.map(({ _id, ...rest }) => rest as PolicyActivation) };
  }

  private async record(version: string, action: PolicyActivation['action'], by: string, message: string): Promise<PolicyActivation> {
    if (!(await this.versions.findOne({ _id: version }, { projection: { _id: 1 } }))) throw notFound('policy version', version);
    const prev = await this.log.find({}).sort({ seq: -1 }).limit(1).next();
    const seq = await nextSeq(this.db, 'policy_activations');
    const entry: PolicyActivation = {
      seq,
      version,
      action,
      by,
      message,
      at: this.clock().toISOString(),
      ...(prev ? { previous: prev.version as string } : {}),
    };
    await this.log.insertOne({ ...entry });
    return entry;
  }
}
