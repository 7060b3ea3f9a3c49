// youki by paper: youki cannot be installed here, so what it requires or rejects in
// config.json was read from its sources and oci-spec-rs's (see the README's runtime section
// for files and commits) and is checked here on every kind of document we generate.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateRuntimeConfig, type GenerateOptions, type RuntimeSpec } from '../../src/spec/index.js';
import { isMapped } from '../../src/spec/idmap.js';
import { runtimeRuleViolation } from '../../src/spec/rules.js';
import { baseOptions, image } from '../helpers/spec-fixtures.js';

/** oci-spec-rs LinuxNamespaceType, PosixRlimitType (Linux) and its default capabilities. */
const NAMESPACES = ['mount', 'cgroup', 'uts', 'ipc', 'user', 'pid', 'network', 'time'];
const RLIMITS = ['CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING', 'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME'].map((r) => `RLIMIT_${r}`);
const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
const variants: { name: string; opts: Partial<GenerateOptions>; cfg?: Record<string, unknown> }[] = [
  { name: 'default', opts: {} },
  { name: 'named user with groups', opts: {}, cfg: { User: 'alice', Volumes: { '/data': {} } } },
  { name: 'rootless', opts: { rootless: true, hostUid: 1000, hostGid: 1000, hostHasResolvConf: true } },
  { name: 'rootless, named user (groups dropped)', opts: { rootless: true, hostUid: 1000, hostGid: 1000 }, cfg: { User: 'alice' } },
  { name: 'id maps', opts: { uidMap: map, gidMap: map }, cfg: { User: 'alice' } },
  { name: 'id maps of size 1 (devpts gid=5 unmapped)', opts: { uidMap: [{ containerID: 0, hostID: 5000, size: 1 }], gidMap: [{ containerID: 0, hostID: 5000, size: 1 }] } },
  { name: 'shaped', opts: { net: 'host', readonlyRootfs: true, hostname: 'h', mounts: [{ type: 'bind', source: '/h', destination: '/b', readonly: true }, { type: 'tmpfs', destination: '/t', size: '1m' }], env: ['A=1'], annotations: { k: 'v' } } },
  { name: 'shaped with id maps and host network', opts: { net: 'host', uidMap: map, gidMap: map } },
];

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [k, ...strings(x)]);
  return [];
}

describe('what youki and oci-spec-rs require, on each generated document', () => {
  for (const v of variants) {
    const s: RuntimeSpec = generateRuntimeConfig(image({ Cmd: ['/x'], ...(v.cfg ?? {}) }), baseOptions({ user: v.cfg?.['User'] === undefined ? '0' : (v.cfg['User'] as string), ...v.opts }));
    describe(v.name, () => {
      test('ociVersion 1.x (init_builder.rs: "Only 1.X.Y is supported")', () => assert.match(s.ociVersion, /^1\./));
      test('process.user and process.cwd present (no serde default in Process)', () => {
        assert.equal(typeof s.process.user.uid, 'number');
        assert.match(s.process.cwd, /^\//);
      });
      test('namespace types known to LinuxNamespaceType, none twice', () => {
        const types = s.linux.namespaces.map((n) => n.type);
        for (const t of types) assert.ok(NAMESPACES.includes(t), t);
        assert.equal(new Set(types).size, types.length);
      });
      test('rlimit types known to PosixRlimitType', () => {
        for (const r of s.process.rlimits) assert.ok(RLIMITS.includes(r.type), r.type);
      });
      test("capabilities are oci-spec-rs's defaults", () => {
        for (const set of Object.values(s.process.capabilities)) assert.deepEqual([...set].sort(), [...DEFAULT_CAPS].sort());
      });
      test('no nul byte in any string (validator.rs validate_spec_for_mounts)', () => assert.ok(strings(s).every((x) => !x.includes('\0'))));
      test('validator.rs rules: hostname needs uts, maps need a user namespace, masked paths need a mount namespace', () => assert.equal(runtimeRuleViolation(s), null));
      test('terminal false: no console socket needed (check_terminal)', () => assert.equal(s.process.terminal, false));
      const userNs = s.linux.namespaces.some((n) => n.type === 'user');
      if (userNs) {
        test('user_ns.rs: both maps non-empty, mounts listed, uid=/gid= options mapped', () => {
          assert.ok((s.linux.uidMappings?.length ?? 0) > 0 && (s.linux.gidMappings?.length ?? 0) > 0);
          assert.ok(s.mounts.length > 0);
          for (const o of s.mounts.flatMap((m) => m.options ?? [])) {
            const id = /^(uid|gid)=([0-9]+)$/.exec(o);
            if (id) assert.ok(isMapped((id[1] === 'uid' ? s.linux.uidMappings : s.linux.gidMappings) ?? [], Number(id[2])), o);
          }
        });
        test('user_ns.rs: supplementary groups mapped (privileged) or absent (rootless)', () => {
          const gids = s.process.user.additionalGids ?? [];
          if (v.opts.rootless) assert.deepEqual(gids, []);
          else for (const g of gids) assert.ok(isMapped(s.linux.gidMappings ?? [], g), String(g));
        });
      }
    });
  }
});
