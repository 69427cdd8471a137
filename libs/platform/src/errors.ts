/**
 * Errors thrown for bugs and infrastructure faults. Expected outcomes (deny, invalid policy,
 * unknown agent) are returned as tagged results instead.
 */
import { statusOf, type ErrorCode } from '@argus/contracts/codes';

/** One problem found in a request or a file, located by JSON path (`/input/principal/id`). */
export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

/** Stable snake_case codes that appear on the wire: the catalogue in `@argus/contracts` (`docs/codes.md`). */
export type { ErrorCode };

/** Base class for every error Argus throws on purpose. */
export class ArgusError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: readonly ErrorDetail[];

  constructor(code: ErrorCode, message: string, options: { errors?: readonly ErrorDetail[]; cause?: unknown; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? statusOf(code);
    this.errors = options.errors ?? [];
  }
}

/** A request body, query or header that does not satisfy its schema. */
export class InvalidInputError extends ArgusError {
  constructor(message: string, errors: readonly ErrorDetail[] = []) {
    super('invalid_parameter', message, { errors });
  }
}

/** The caller is not authenticated or lacks the needed credential. */
export class UnauthorizedError extends ArgusError {
  constructor(message = 'missing or invalid credential') {
    super('unauthorized', message);
  }
}

/** The caller is authenticated but may not do this. */
export class ForbiddenError extends ArgusError {
  constructor(message = 'not allowed') {
    super('forbidden', message);
  }
}

/** A named thing does not exist. */
export class NotFoundError extends ArgusError {
  constructor(message: string) {
    super('not_found', message);
  }
}

/** A write conflicts with the current state (duplicate, stale version, illegal transition). */
export class ConflictError extends ArgusError {
  constructor(message: string, errors: readonly ErrorDetail[] = []) {
    super('conflict', message, { errors });
  }
}

/** A dependency (Redis, a database, an upstream, the decision point) cannot be reached in time. */
export class UnavailableError extends ArgusError {
  constructor(message: string, cause?: unknown) {
    super('unavailable', message, { cause });
  }
}

/** A configuration file or environment value is invalid. */
export class ConfigError extends ArgusError {
  constructor(message: string, errors: readonly ErrorDetail[] = []) {
    super('invalid_config', message, { errors });
  }
}

/** The wire shape of every error response. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  errors: ErrorDetail[];
  /** A refused decision request that was still recorded: the id of its audit record. */
  decision_id?: string;
}

/** Maps anything thrown to the wire shape; unknown errors become a bland `internal_error`. */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof ArgusError) {
    const decisionId = (err as { decisionId?: unknown }).decisionId;
    const recorded = typeof decisionId === 'string' ? { decision_id: decisionId } : {};
    return { status: err.status, body: { code: err.code, message: err.message, errors: [...err.errors], ...recorded } };
  }
  return { status: 500, body: { code: 'internal_error', message: 'internal error', errors: [] } };
}
