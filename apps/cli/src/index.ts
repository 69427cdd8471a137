/** The `argus` command line. */
export { buildProgram, main } from './main.ts';
