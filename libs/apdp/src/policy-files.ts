import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { PolicySetInput, TemplateLinkInput } from '@argus/engine';

/** The layout of a policy directory: `schema.cedarschema`, `policies/**\/*.cedar`, optional `links.json`. */
export const SCHEMA_FILE = 'schema.cedarschema';
export const POLICIES_DIR = 'policies';
export const LINKS_FILE = 'links.json';
/**
 * Optional one-line marker of the directory's version. A set published through the API (or by
 * another replica) pins over the directory; changing this file is how the directory takes over again.
 */
export const VERSION_FILE = 'VERSION';

/** The directory's `VERSION` marker, trimmed; undefined when the file does not exist. */
export async function readDirectoryVersion(dir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, VERSION_FILE), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Reads a policy directory into the engine's input. Missing schema → throws (the caller reports it). */
export async function readPolicyDir(dir: string): Promise<PolicySetInput> {
  const schema = await readFile(join(dir, SCHEMA_FILE), 'utf8');
  const files = await listCedarFiles(join(dir, POLICIES_DIR));
  const policies = await Promise.all(
    files.map(async (file) => ({ file: relative(dir, file).split(sep).join('/'), text: await readFile(file, 'utf8') })),
  );
  let links: TemplateLinkInput[] = [];
  try {
    links = JSON.parse(await readFile(join(dir, LINKS_FILE), 'utf8')) as TemplateLinkInput[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { schema, schemaFile: SCHEMA_FILE, policies, links };
}

async function listCedarFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listCedarFiles(full)));
    else if (e.name.endsWith('.cedar')) out.push(full);
  }
  return out.sort();
}
