import type { PolicySetInput, TemplateLinkInput } from '@argus/engine';
import { LINKS_FILE, SCHEMA_FILE } from './policy-files.ts';

/** One file of a stored policy-set version. */
export interface VersionFile {
  path: string;
  text: string;
}

/**
 * A policy set as the files a stored version keeps, laid out like a policy directory: the schema,
 * the `.cedar` files and, when there are template links, `links.json` — so nothing published
 * through the API (links included) is lost on restart or missed by another replica.
 */
export function toVersionFiles(input: PolicySetInput): VersionFile[] {
  const files: VersionFile[] = [{ path: SCHEMA_FILE, text: input.schema }, ...input.policies.map((p) => ({ path: p.file, text: p.text }))];
  if (input.links && input.links.length > 0) files.push({ path: LINKS_FILE, text: JSON.stringify(input.links) });
  return files;
}

/** The inverse of `toVersionFiles`. */
export function fromVersionFiles(files: readonly VersionFile[]): PolicySetInput {
  const links = files.find((f) => f.path === LINKS_FILE);
  return {
    schema: files.find((f) => f.path === SCHEMA_FILE)?.text ?? '',
    schemaFile: SCHEMA_FILE,
    policies: files.filter((f) => f.path.endsWith('.cedar')).map((f) => ({ file: f.path, text: f.text })),
    ...(links ? { links: JSON.parse(links.text) as TemplateLinkInput[] } : {}),
  };
}
