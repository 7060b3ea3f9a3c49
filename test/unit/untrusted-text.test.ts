// The rules for untrusted text: control characters escaped at the print boundary (one
// function per kind of output), JSON caps (size, nesting depth) and the token-realm rule for
// registry credentials, with the system's Public Suffix List and with a small one made here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { escapeControls, escapeDataLine, escapeJsonText } from '../../src/cli/escape.js';
import { jsonDepth, parseJsonCapped } from '../../src/image/json.js';
import { parseSuffixList, PSL_FILE, realmVerdict, registrableDomain, systemSuffixList } from '../../src/registry/realm.js';

test('control characters are shown escaped', async (t) => {
  const cases: [string, string, string, string][] = [
    // name, input, escapeControls, escapeDataLine
    ['ESC and BEL', 'a\x1b[31mred\x07', 'a\\x1b[31mred\\x07', 'a\\x1b[31mred\\x07'],
    ['newline and CR', 'x\ny\rz', 'x\\x0ay\\x0dz', 'x\\x0ay\\x0dz'],
    ['tab: escaped in messages, kept in data lines', 'k\tv', 'k\\x09v', 'k\tv'],
    ['DEL and C1 CSI', 'a\x7fb\u009bc', 'a\\x7fb\\x9bc', 'a\\x7fb\\x9bc'],
    ['bidi override and line separator', 'x\u202ey\u2028', 'x\\u202ey\\u2028', 'x\\u202ey\\u2028'],
    ['plain text and other unicode unchanged', 'tag-1.0 ünïcødé 日本', 'tag-1.0 ünïcødé 日本', 'tag-1.0 ünïcødé 日本'],
  ];
  for (const [name, input, msg, data] of cases) {
    await t.test(name, () => {
      assert.equal(escapeControls(input), msg);
      assert.equal(escapeDataLine(input), data);
    });
  }
  await t.test('JSON text keeps its value and loses raw C1, DEL and bidi characters', () => {
    const value = { tag: 'a\x1b\x07\x7f\u009b\u202e' };
    const text = escapeJsonText(JSON.stringify(value));
    assert.doesNotMatch(text, /[\x00-\x1f\x7f-\x9f\u202e]/);
    assert.deepEqual(JSON.parse(text), value);
  });
});

test('json caps: size and nesting depth', async (t) => {
  const cases: { name: string; text: string; depth: number; code?: string }[] = [
    { name: 'flat object', text: '{"a":1}', depth: 1 },
    { name: 'brackets inside strings do not count', text: '{"a":"[[[[{{{{","b":"\\"["}', depth: 1 },
    { name: '100 levels: accepted', text: `${'['.repeat(100)}${']'.repeat(100)}`, depth: 100 },
    { name: '101 levels: refused', text: `${'['.repeat(101)}${']'.repeat(101)}`, depth: 101, code: 'ESCHEMA' },
    { name: 'a million levels: refused without a stack overflow', text: `${'{"a":'.repeat(1_000_000)}1${'}'.repeat(1_000_000)}`, depth: 1_000_000, code: 'ESCHEMA' },
    { name: 'not json', text: '{"a":', depth: 1, code: 'ESCHEMA' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.equal(jsonDepth(c.text), c.depth);
      if (c.code === undefined) assert.doesNotThrow(() => parseJsonCapped(c.text, 'doc', { code: 'ESCHEMA' }));
      else assert.throws(() => parseJsonCapped(c.text, 'doc', { code: 'ESCHEMA' }), (e: { code?: string; message?: string }) => e.code === c.code && /^doc /.test(e.message ?? ''));
    });
  }
  await t.test('over the byte cap: ELIMIT naming the document', () => {
    assert.throws(() => parseJsonCapped('"xxxxxxxxxx"', 'auth file /a', { code: 'EUSAGE', maxBytes: 4 }), /auth file \/a is 12 bytes, over the 4-byte limit/);
  });
  await t.test('secret text: the parser message (which quotes the text) is dropped', () => {
    try {
      parseJsonCapped('{"auth": "hunter2', 'auth file /a', { code: 'EUSAGE', secret: true });
      assert.fail('parsed');
    } catch (e) {
      assert.equal((e as Error).cause, undefined);
      assert.doesNotMatch(String((e as Error).message), /hunter2/);
    }
  });
});

const SMALL = parseSuffixList('// test list\ncom\nio\nuk\nco.uk\n*.ck\n!www.ck\ngithub.io\n');

test('registrable domains by the suffix list', async (t) => {
  const cases: [string, string | undefined][] = [
    ['registry-1.docker.io', 'docker.io'],
    ['auth.docker.io', 'docker.io'],
    ['a.b.example.co.uk', 'example.co.uk'],
    ['foo.co.uk', 'foo.co.uk'],
    ['co.uk', undefined],
    ['me.github.io', 'me.github.io'],
    ['x.y.ck', 'x.y.ck'],
    ['www.ck', 'www.ck'],
    ['127.0.0.1', undefined],
    ['localhost', undefined],
    ['unknown.tld', 'unknown.tld'],
  ];
  for (const [host, want] of cases) await t.test(host, () => assert.equal(registrableDomain(host, SMALL), want));
});

test('which token realm gets the registry credentials', async (t) => {
  const cases: { name: string; registry: string; realm: string; trusted?: string[]; send: boolean }[] = [
    { name: 'same host, other port', registry: 'reg.example.com:5000', realm: 'http://reg.example.com:5001/token', send: true },
    { name: 'Docker Hub: auth.docker.io over https', registry: 'registry-1.docker.io', realm: 'https://auth.docker.io/token', send: true },
    { name: 'same domain but plain http', registry: 'registry-1.docker.io', realm: 'http://auth.docker.io/token', send: false },
    { name: 'another domain over https', registry: 'reg.example.com', realm: 'https://evil.example.net/token', send: false },
    { name: 'siblings under a public suffix (co.uk)', registry: 'foo.co.uk', realm: 'https://bar.co.uk/token', send: false },
    { name: 'siblings under a private suffix (github.io)', registry: 'me.github.io', realm: 'https://you.github.io/token', send: false },
    { name: 'another IP address', registry: '127.0.0.1:5000', realm: 'https://127.0.0.2/token', send: false },
    { name: 'another IP named with --trust-realm', registry: '127.0.0.1:5000', realm: 'http://127.0.0.2:7000/token', trusted: ['127.0.0.2'], send: true },
    { name: 'trusted as host:port', registry: 'reg.example.com', realm: 'https://auth.example.net:8443/t', trusted: ['auth.example.net:8443'], send: true },
    { name: 'trust of another host does not cover this one', registry: 'reg.example.com', realm: 'https://auth.example.net/t', trusted: ['other.example.net'], send: false },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const v = realmVerdict(c.registry, new URL(c.realm), c.trusted ?? [], SMALL);
      assert.equal(v.send, c.send, JSON.stringify(v));
      if (!v.send) assert.match(v.why, /is another host than the registry/);
    });
  }
  await t.test('without a suffix list only the same host and trusted hosts get them', () => {
    const v = realmVerdict('registry-1.docker.io', new URL('https://auth.docker.io/token'), [], null);
    assert.equal(v.send, false);
    assert.match(v.send ? '' : v.why, /no public suffix list/);
  });
  await t.test('the system list, when installed, places Docker Hub', { skip: !existsSync(PSL_FILE) && `${PSL_FILE} absent (apt-get install publicsuffix)` }, () => {
    assert.equal(realmVerdict('registry-1.docker.io', new URL('https://auth.docker.io/token'), [], systemSuffixList()).send, true);
    assert.equal(realmVerdict('foo.co.uk', new URL('https://bar.co.uk/token'), [], systemSuffixList()).send, false);
  });
});
