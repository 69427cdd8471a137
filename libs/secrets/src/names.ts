import { InvalidInputError } from '@argus/platform';
import { SECRET_NAME_PATTERN } from './ports.ts';

/** Throws an `InvalidInputError` naming `name` when it is not a valid secret name. */
export function assertSecretName(name: string): void {
  if (!SECRET_NAME_PATTERN.test(name)) {
    throw new InvalidInputError(`invalid secret name \`${name.slice(0, 64)}\``, [
      { path: '/name', message: 'must match ^[A-Za-z0-9][A-Za-z0-9._\\-/@:]{0,199}$' },
    ]);
  }
}
