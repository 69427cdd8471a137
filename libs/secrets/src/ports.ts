/** What is known about a stored secret, without its value. */
export interface SecretMetadata {
  name: string;
  description?: string;
  createdAt: string;
  updatedAt: string;
  /** Bumped on every `put` of the same name. */
  version: number;
}

/** Options of `SecretStore.put`. */
export interface PutSecretOptions {
  description?: string;
}

/**
 * Encrypted credential storage. Values are sealed before they reach the backing store and
 * opened only by `get`; `list` never returns a value.
 */
export interface SecretStore {
  /** Creates or replaces the secret `name`. */
  put(name: string, value: string, options?: PutSecretOptions): Promise<SecretMetadata>;
  /** The plaintext value, or undefined when no such secret exists. */
  get(name: string): Promise<string | undefined>;
  /** Removes `name`; false when it did not exist. */
  delete(name: string): Promise<boolean>;
  /** Every secret's metadata, sorted by name. */
  list(): Promise<SecretMetadata[]>;
  /** Releases the backing store. */
  close(): Promise<void>;
}

/** Secret names: letters, digits and `._-/@:`, 1 to 200 characters. */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._\-/@:]{0,199}$/;
