// Type declarations for posix-getopt 1.2 (a CommonJS package without its own types), covering
// only the BasicParser surface that bench/args.ts uses. Declarations only, no code.
declare module 'posix-getopt' {
  export interface GetoptResult {
    /** the short option letter; '?' for an unknown option, ':' for a missing argument */
    option: string;
    optarg?: string;
    optopt?: string;
    error?: boolean;
  }
  export class BasicParser {
    /** optstring like ':r:(runs)k(check)'; a leading ':' keeps the parser silent on errors */
    constructor(optstring: string, argv: string[], optind?: number);
    getopt(): GetoptResult | undefined;
    optind(): number;
  }
}
