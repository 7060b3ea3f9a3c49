// Config patches against two judges: the official runtime-spec schema (draft-04, tests only)
// and the product's own (src/spec/schema.ts via patchSpec). Whatever the official schema
// refuses, the product must refuse too (EUSAGE); documents it accepts must pass unless a
// listed rule of ours is stricter (absolute cwd, NAME=value env, 1.x ociVersion, runtime rules).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateRuntimeConfig } from '../../src/spec/index.js';
import { applyMergePatch } from '../../src/spec/merge-patch.js';
import { baseOptions, image } from '../helpers/spec-fixtures.js';
import { errorsOf, officialConfigValidator } from '../helpers/spec-schemas.js';

const official = officialConfigValidator();
const skip = official ? false : 'the official runtime-spec schemas (../shared/spec-schemas) are not here';

interface Case {
  name: string;
  patch: Record<string, unknown>;
  /** Why the product refuses a document the official schema accepts (our stricter rule). */
  stricter?: string;
}

const cases: Case[] = [
  // accepted by both
  { name: 'sysctl', patch: { linux: { sysctl: { 'net.ipv4.ip_forward': '1' } } } },
  { name: 'a prestart hook', patch: { hooks: { prestart: [{ path: '/bin/true', args: ['true'], timeout: 5 }] } } },
  { name: 'pids and memory limits', patch: { linux: { resources: { pids: { limit: 100 }, memory: { limit: 1048576 } } } } },
  { name: 'oomScoreAdj', patch: { process: { oomScoreAdj: 100 } } },
  { name: 'seccomp', patch: { linux: { seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['ptrace'], action: 'SCMP_ACT_ERRNO' }] } } } },
  { name: 'apparmor profile', patch: { process: { apparmorProfile: 'unconfined' } } },
  { name: 'drop masked paths', patch: { linux: { maskedPaths: null } } },
  { name: 'a device', patch: { linux: { devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }] } } },
  { name: 'rootfs propagation', patch: { linux: { rootfsPropagation: 'slave' } } },
  { name: 'cgroups path', patch: { linux: { cgroupsPath: '/ocibundle/test' } } },
  { name: 'domainname', patch: { domainname: 'example.org' } },
  { name: 'console size', patch: { process: { consoleSize: { height: 24, width: 80 } } } },
  { name: 'umask', patch: { process: { user: { umask: 18 } } } },
  { name: 'unknown top-level member', patch: { 'org.example.extension': { x: 1 } } },
  { name: 'ociVersion 2.0.0', patch: { ociVersion: '2.0.0' }, stricter: 'youki runs only 1.x' },
  { name: 'relative cwd', patch: { process: { cwd: 'relative' } }, stricter: 'runc needs an absolute cwd' },
  // refused by the official schema
  { name: 'seccomp not an object', patch: { linux: { seccomp: 5 } } },
  { name: 'seccomp without defaultAction', patch: { linux: { seccomp: { syscalls: [] } } } },
  { name: 'sysctl value not a string', patch: { linux: { sysctl: { a: 1 } } } },
  { name: 'hook path not a string', patch: { hooks: { prestart: [{ path: 5 }] } } },
  { name: 'hook without path', patch: { hooks: { poststart: [{ args: ['x'] }] } } },
  { name: 'hooks not lists', patch: { hooks: { createRuntime: { path: '/x' } } } },
  { name: 'apparmorProfile not a string', patch: { process: { apparmorProfile: 1 } } },
  { name: 'oomScoreAdj not an integer', patch: { process: { oomScoreAdj: 'x' } } },
  { name: 'domainname not a string', patch: { domainname: 1 } },
  { name: 'memory limit not a number', patch: { linux: { resources: { memory: { limit: 'x' } } } } },
  { name: 'pids limit missing', patch: { linux: { resources: { pids: {} } } } },
  { name: 'device without type', patch: { linux: { devices: [{ path: '/dev/x' }] } } },
  { name: 'device with a bad type', patch: { linux: { devices: [{ path: '/dev/x', type: 'z' }] } } },
  { name: 'cgroupsPath not a string', patch: { linux: { cgroupsPath: 1 } } },
  { name: 'rootfsPropagation bogus', patch: { linux: { rootfsPropagation: 'bogus' } } },
  { name: 'consoleSize height not an integer', patch: { process: { consoleSize: { height: 'x', width: 1 } } } },
  { name: 'mount option not a string', patch: { mounts: [{ destination: '/x', type: 'tmpfs', source: 'tmpfs', options: [1] }] } },
  { name: 'negative uid', patch: { process: { user: { uid: -1 } } } },
  { name: 'annotation value not a string', patch: { annotations: { a: 1 } } },
  { name: 'namespace type bogus', patch: { linux: { namespaces: [{ type: 'bogus' }] } } },
  { name: 'rlimit without hard and soft', patch: { process: { rlimits: [{ type: 'RLIMIT_NOFILE' }] } } },
  { name: 'args not a list', patch: { process: { args: 'sh' } } },
  { name: 'root without path', patch: { root: { path: null } } },
  { name: 'hostname not a string', patch: { hostname: 5 } },
  { name: 'noNewPrivileges not a boolean', patch: { process: { noNewPrivileges: 'no' } } },
  { name: 'capabilities not a list', patch: { process: { capabilities: { bounding: 'CAP_KILL' } } } },
  { name: 'uid mapping without size', patch: { linux: { uidMappings: [{ containerID: 0, hostID: 0 }] } } },
  { name: 'readonlyPaths not a list', patch: { linux: { readonlyPaths: '/proc' } } },
  { name: 'resources devices entry without allow', patch: { linux: { resources: { devices: [{ access: 'rwm' }] } } } },
];

describe('config patches: the product refuses what the official runtime-spec schema refuses', () => {
  const base = generateRuntimeConfig(image({ Cmd: ['/x'] }), baseOptions({ user: '0' }));
  for (const c of cases) {
    test(c.name, { skip }, () => {
      const doc = applyMergePatch(base, c.patch);
      const officialOk = official!(doc);
      const why = officialOk ? '' : errorsOf(official!);
      let ours: Error | null = null;
      try {
        generateRuntimeConfig(image({ Cmd: ['/x'] }), baseOptions({ user: '0', configPatch: c.patch }));
      } catch (e) {
        ours = e as Error;
      }
      if (ours) assert.equal((ours as { code?: string }).code, 'EUSAGE', ours.message);
      if (!officialOk) assert.ok(ours, `official schema refuses (${why}) but the product accepted`);
      else if (c.stricter) assert.ok(ours, `expected our stricter rule: ${c.stricter}`);
      else assert.equal(ours, null, `official schema accepts but the product refused: ${ours?.message}`);
    });
  }
});
