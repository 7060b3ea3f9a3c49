// Registry credentials as values: a username and a password that never prints (console.log,
// util.inspect and JSON show it redacted), and the `USER:PASS` form of --creds and auth files.
import { inspect } from 'node:util';
import { OciBundleError } from '../errors.js';

/** A username and password; prints as redacted under console.log, util.inspect and JSON. */
export class Credentials {
  readonly #password: string;
  constructor(readonly username: string, password: string, readonly source: string) {
    this.#password = password;
  }
  get password(): string {
    return this.#password;
  }
  /** The value of an `Authorization: Basic` header. */
  basic(): string {
    return `Basic ${Buffer.from(`${this.username}:${this.#password}`).toString('base64')}`;
  }
  toJSON(): object {
    return { username: this.username, password: '<redacted>', source: this.source };
  }
  [inspect.custom](): string {
    return `Credentials { username: ${JSON.stringify(this.username)}, password: <redacted>, source: ${this.source} }`;
  }
}

/** Splits `USER:PASS` at the first colon; EUSAGE (without echoing the value) when malformed. */
export function parseCreds(s: string, source = '--creds'): Credentials {
  const i = s.indexOf(':');
  if (i <= 0) throw new OciBundleError('EUSAGE', `${source} must be USER:PASS with a non-empty user`);
  return new Credentials(s.slice(0, i), s.slice(i + 1), source);
}
