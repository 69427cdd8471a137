import { SecretCipher, type SealedValue } from '../cipher.ts';
import { assertSecretName } from '../names.ts';
import type { PutSecretOptions, SecretMetadata, SecretStore } from '../ports.ts';

interface Row {
  meta: SecretMetadata;
  sealed: SealedValue;
}

/**
 * A process-local secret store for tests and one-shot runs. Values are sealed in memory too, so
 * a heap dump of the map holds no plaintext.
 */
export class MemorySecretStore implements SecretStore {
  readonly #cipher: SecretCipher;
  readonly #rows = new Map<string, Row>();
  readonly #now: () => Date;

  constructor(options: { key: Buffer; now?: () => Date }) {
    this.#cipher = new SecretCipher(options.key);
    this.#now = options.now ?? (() => new Date());
  }

  async put(name: string, value: string, options: PutSecretOptions = {}): Promise<SecretMetadata> {
    assertSecretName(name);
    const now = this.#now().toISOString();
    const previous = this.#rows.get(name)?.meta;
    const meta: SecretMetadata = {
      name,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      version: (previous?.version ?? 0) + 1,
      ...(options.description !== undefined
        ? { description: options.description }
        : previous?.description !== undefined
          ? { description: previous.description }
          : {}),
    };
    this.#rows.set(name, { meta, sealed: this.#cipher.seal(name, value) });
    return { ...meta };
  }

  async get(name: string): Promise<string | undefined> {
    const row = this.#rows.get(name);
    return row ? this.#cipher.open(name, row.sealed) : undefined;
  }

  async delete(name: string): Promise<boolean> {
    return this.#rows.delete(name);
  }

  async list(): Promise<SecretMetadata[]> {
    return [...this.#rows.values()].map((r) => ({ ...r.meta })).sort((a, b) => a.name.localeCompare(b.name));
  }

  async close(): Promise<void> {
    this.#rows.clear();
  }
}
