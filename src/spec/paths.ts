// Lexical cleaning of in-container absolute paths (WorkingDir, volume destinations): a
// relative path is taken from '/', '.' and empty components vanish, '..' never climbs above
// '/'. Pure string work: the runtime resolves these inside the container's root.
import { OciBundleError } from '../errors.js';
import { SPEC_LIMITS } from './limits.js';

export interface CleanPath {
  path: string;
  /** The input did not start with '/'. */
  relative: boolean;
  /** A '..' tried to climb above '/' and was clamped. */
  climbed: boolean;
}

/** Clean `input` (named `what` in errors); throws ECONFIG on NUL, ELIMIT past PATH_MAX. */
export function cleanContainerPath(input: string, what: string): CleanPath {
  if (input.includes('\0')) throw new OciBundleError('ECONFIG', `${what} ${JSON.stringify(input)} contains a nul byte`);
  if (Buffer.byteLength(input) > SPEC_LIMITS.pathBytes) {
    throw new OciBundleError('ELIMIT', `${what} is longer than ${SPEC_LIMITS.pathBytes} bytes: ${JSON.stringify(input.slice(0, 64))}...`);
  }
  const relative = !input.startsWith('/');
  let climbed = false;
  const out: string[] = [];
  for (const part of input.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) climbed = true;
      else out.pop();
    } else out.push(part);
  }
  return { path: `/${out.join('/')}`, relative, climbed };
}
