// A registry blob body as a RawBlob that survives a broken transfer: a connection reset, an
// idle timeout, a body cut short, or a transfer slower than the low-speed rule, is resumed
// with `Range: bytes=N-` from the bytes already delivered (or the blob restarted and its first N
// bytes skipped when the registry ignores Range), within the transfer's retry budget. The
// reader above still hashes every byte, so the digest covers the whole blob.
import type { IncomingMessage } from 'node:http';
import { OciBundleError } from '../errors.js';
import type { RawBlob } from '../image/store.js';
import { header, isRetryableErrno, type RegistryHttp, type RetryBudget } from './http.js';

const RETRY_BODY = new Set(['ECONNRESET', 'ETIMEDOUT', 'ELOWSPEED', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function code(e: unknown): string {
  return String((e as { code?: unknown } | null)?.code ?? '');
}

/** Where a 206 answer starts: `Content-Range: bytes START-END/TOTAL`. */
function rangeStart(res: IncomingMessage): number | undefined {
  const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header(res, 'content-range')?.trim() ?? '');
  return m ? Number(m[1]) : undefined;
}

export class ResumableBody implements RawBlob {
  private it: AsyncIterator<Buffer>;
  private left: Buffer | undefined;
  private ended = false;
  /** Bytes handed to the reader so far: the offset a resume asks for. */
  private got = 0;
  /** Bytes of a restarted body still to skip (the registry ignored Range). */
  private skip = 0;
  /** The low-speed window: ms spent waiting for bytes, and bytes that arrived meanwhile. */
  private waited = 0;
  private windowBytes = 0;
  readonly resumes: number[] = [];

  constructor(
    private readonly http: RegistryHttp,
    private readonly digest: string,
    private res: IncomingMessage,
    readonly size: number,
    private readonly budget: RetryBudget,
  ) {
    this.it = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async read(buf: Buffer, length: number): Promise<number> {
    while (!this.left || this.left.length === 0) {
      if (this.ended) return 0;
      let r: IteratorResult<Buffer>;
      try {
        r = await this.next();
      } catch (e) {
        await this.resume(e);
        continue;
      }
      if (r.done) {
        // a body that ends short without an error (no Content-Length framing) is resumed too
        if (this.got < this.size) await this.resume(Object.assign(new Error(`body ended after ${this.got} bytes`), { code: 'ECONNRESET' }));
        else this.ended = true;
        continue;
      }
      let chunk = r.value;
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length);
        this.skip -= n;
        chunk = chunk.subarray(n);
      }
      this.left = chunk;
    }
    const n = this.left.copy(buf, 0, 0, Math.min(length, this.left.length));
    this.left = this.left.subarray(n);
    this.got += n;
    return n;
  }

  async close(): Promise<void> {
    if (!this.ended) this.res.destroy();
    this.ended = true;
  }

  /** The next chunk, failing with ELOWSPEED once the waiting in this window adds up to the rule's time with too few bytes. */
  private async next(): Promise<IteratorResult<Buffer>> {
    const { bytes, ms } = this.http.lowSpeed;
    const started = Date.now();
    const res = this.res;
    const timer = setTimeout(() => {
      if (this.windowBytes < bytes) {
        res.destroy(Object.assign(new Error(`fewer than ${bytes} bytes arrived in ${ms / 1000} s`), { code: 'ELOWSPEED' }));
      }
    }, Math.max(0, ms - this.waited));
    try {
      const r = await this.it.next();
      if (!r.done) this.windowBytes += r.value.length;
      return r;
    } finally {
      clearTimeout(timer);
      this.waited += Date.now() - started;
      if (this.waited >= ms) {
        this.waited = 0;
        this.windowBytes = 0;
      }
    }
  }

  /** Asks again from the delivered offset, or fails with ENETWORK naming the first fault. */
  private async resume(cause: unknown): Promise<void> {
    this.res.destroy();
    const what = `${this.http.where}: blob ${this.digest}`;
    const why = code(cause) === 'ELOWSPEED' ? (cause as Error).message : `connection lost (${code(cause) || 'error'})`;
    if (!(RETRY_BODY.has(code(cause)) || isRetryableErrno(cause)) || this.budget.exhausted) {
      throw new OciBundleError('ENETWORK', `${what}: ${why} after ${this.got} of ${this.size} bytes and ${this.budget.attempts} attempt(s)`, { cause });
    }
    await sleep(this.http.backoff(this.budget.attempts - 1));
    this.http.counts.retries++;
    this.resumes.push(this.got);
    const res = await this.http.request('GET', `blobs/${this.digest}`, undefined, { headers: { range: `bytes=${this.got}-` }, budget: this.budget });
    if (res.statusCode === 206 && rangeStart(res) === this.got) {
      this.skip = 0;
    } else if (res.statusCode === 200) {
      // the registry ignored Range: the blob starts again, and what was delivered is skipped
      this.skip = this.got;
    } else {
      const e = res.statusCode === 206 ? new OciBundleError('ENETWORK', `${what}: resume at byte ${this.got} answered with Content-Range ${header(res, 'content-range') ?? '(none)'}`) : await this.http.statusError(res, `cannot resume blob ${this.digest}`);
      res.resume();
      throw e;
    }
    this.res = res;
    this.it = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    this.waited = 0;
    this.windowBytes = 0;
  }
}
