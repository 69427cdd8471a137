/**
 * What the drift checks between hand-written types and their JSON Schemas share: a schema compiled
 * to TypeScript (json-schema-to-typescript, `argus.dev` references read from the registry given),
 * and a type check of modules held in memory beside the files on disk, whose diagnostics name the
 * line at fault by its `// …` comment. Used by the wire types' check (`schema-types.test.ts`) and the
 * configuration sections' (`@argus/platform/testing/config-file`).
 */
import { resolve } from 'node:path';
import { compile, type Options } from 'json-schema-to-typescript';
import ts from 'typescript';

/** The two types are identical (not merely assignable), as a type-level `true`. */
export const EQUALS_TYPE = 'type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;';

/** `schema` as TypeScript declarations named `name`; `read(id)` answers a referenced `argus.dev` schema. */
export function schemaToTypeScript(
  schema: object,
  name: string,
  read: (id: string) => unknown,
  extra: Partial<Options> = {},
): Promise<string> {
  return compile(schema as Parameters<typeof compile>[0], name, {
    bannerComment: '',
    format: false,
    ignoreMinAndMaxItems: true,
    additionalProperties: true,
    unknownAny: true,
    $refOptions: {
      resolve: {
        argus: {
          order: 1,
          canRead: /^https:\/\/argus\.dev\//,
          read: (file: { url: string }) => JSON.stringify(read(file.url.split('#')[0]!)),
        },
      },
    } as Options['$refOptions'],
    ...extra,
  });
}

/**
 * Type-checks `roots` with `files` (path → text) held in memory in `dir`, strictly; answers one line
 * per diagnostic of `roots`, named by the `// …` comment of its line (else its file).
 */
export function typeCheckInMemory(files: Record<string, string>, dir: string, roots: string[], types: string[] = []): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    types,
  };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  const dirExists = host.directoryExists?.bind(host);
  const virtual = (name: string): string | undefined => files[resolve(name)];
  host.readFile = (name) => virtual(name) ?? read(name);
  host.fileExists = (name) => virtual(name) !== undefined || exists(name);
  host.directoryExists = (name) => resolve(name) === dir || (dirExists?.(name) ?? true);
  host.getSourceFile = (name, lang) => {
    const text = virtual(name);
    return text !== undefined ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang);
  };
  const program = ts.createProgram(roots, options, host);
  // Only the roots' own diagnostics: the libraries they import are checked by their own projects.
  return roots
    .flatMap((root) => [
      ...program.getSyntacticDiagnostics(program.getSourceFile(root)),
      ...program.getSemanticDiagnostics(program.getSourceFile(root)),
    ])
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!d.file || d.start === undefined) return message;
      const text = d.file.text.split('\n')[d.file.getLineAndCharacterOfPosition(d.start).line] ?? '';
      return `${text.includes('//') ? text.slice(text.indexOf('//') + 3) : d.file.fileName}: ${message}`;
    });
}
