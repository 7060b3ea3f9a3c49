// The unprivileged user of the rootless end-to-end tests: created with useradd when missing
// (CI runs as root), and commands run as it through runuser. Not a test file itself.
import { spawnSync } from 'node:child_process';

export const TEST_USER = 'ocibundle-e2e';

export function run(argv: string[], env?: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
}

export function asUser(argv: string[]): { status: number | null; stdout: string; stderr: string } {
  return run(['runuser', '-u', TEST_USER, '--', ...argv]);
}

/** The test user's uid and gid, creating the user when missing; or a reason it cannot be. */
export function testUser(): { uid: number; gid: number } | string {
  if (run(['id', '-u', TEST_USER]).status !== 0) {
    const made = run(['useradd', '--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', TEST_USER]);
    if (made.status !== 0 && run(['id', '-u', TEST_USER]).status !== 0) return `useradd failed: ${made.stderr.trim()}`;
  }
  const uid = Number(run(['id', '-u', TEST_USER]).stdout.trim());
  const gid = Number(run(['id', '-g', TEST_USER]).stdout.trim());
  return { uid, gid };
}
