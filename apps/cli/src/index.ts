/** The `argus` command line. */
export { buildProgram, main } from './main.ts';
export { serve, type RunningArgus, type ServeOptions } from './commands/serve.ts';
