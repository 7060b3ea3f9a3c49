// Human-readable text of `ocibundle stat`: manifest, config and history sections in the
// spirit of umoci's stat. Pure formatting of an ImageStat; no I/O, no OCI rules.
import type { ImageStat } from '../image/index.js';

function human(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(2)} ${units[u]}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd());
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');

/** The lines of the text form (output.ts escapes each one when printing). */
/** A value as stat prints it: quoted (JSON) when empty or holding white space. */
function q(v: string): string {
  return v === '' || /\s/.test(v) ? JSON.stringify(v) : v;
}

function annotations(out: string[], title: string, a: Record<string, string> | undefined, indent = ''): void {
  if (!a || Object.keys(a).length === 0) return;
  out.push(`${indent}${title}:`, ...Object.keys(a).sort().map((k) => `${indent}\t${k}: ${q(a[k]!)}`));
}

/** The lines of the text form (output.ts escapes each one when printing). */
export function formatStat(st: ImageStat): string[] {
  const out: string[] = [];
  const m = st.manifest;
  out.push('== MANIFEST ==');
  out.push(`Schema Version: ${m.blob.schemaVersion}`);
  out.push(`Media Type: ${m.descriptor.mediaType}`);
  if (st.artifactType !== undefined) out.push(`Artifact Type: ${st.artifactType} (an artifact, not a runnable image)`);
  out.push(`Digest: ${m.descriptor.digest}`);
  out.push(`Size: ${m.descriptor.size}`);
  // The descriptors that named this manifest: the index.json entry (ref.name) and nested indexes.
  for (const d of st.descriptorPath) annotations(out, `Descriptor Annotations (${d.digest === m.descriptor.digest ? 'manifest' : `index ${d.digest}`})`, d.annotations);
  annotations(out, 'Annotations', m.blob.annotations);
  out.push('Config:');
  out.push(`\tMedia Type: ${m.blob.config.mediaType}`);
  out.push(`\tDigest: ${m.blob.config.digest}`);
  out.push(`\tSize: ${m.blob.config.size}`);
  out.push('Layers:');
  for (const l of m.blob.layers) out.push(`\t${l.digest}  ${human(l.size)}  ${l.mediaType}`);
  if (!st.config) return out;
  const c = st.config.blob;
  out.push('', '== CONFIG ==');
  if (c.created) out.push(`Created: ${c.created}`);
  if (c.author !== undefined) out.push(`Author: ${q(c.author)}`);
  out.push(`OS: ${q(String(c.os ?? ''))}`);
  out.push(`Architecture: ${q(String(c.architecture ?? ''))}`);
  if (c.variant) out.push(`Variant: ${q(String(c.variant))}`);
  const ic = c.config ?? {};
  out.push('Image Config:');
  if (ic.User !== undefined) out.push(`\tUser: ${q(ic.User)}`);
  if (ic.Entrypoint?.length) out.push(`\tEntrypoint: ${JSON.stringify(ic.Entrypoint)}`);
  if (ic.Cmd?.length) out.push(`\tCommand: ${JSON.stringify(ic.Cmd)}`);
  if (ic.WorkingDir !== undefined) out.push(`\tWorking Directory: ${q(ic.WorkingDir)}`);
  if (ic.Env?.length) out.push('\tEnvironment:', ...ic.Env.map((e) => `\t\t${q(e)}`));
  if (ic.ExposedPorts) out.push(`\tExposed Ports: ${Object.keys(ic.ExposedPorts).sort().map(q).join(', ')}`);
  if (ic.Volumes) out.push(`\tVolumes: ${Object.keys(ic.Volumes).sort().map(q).join(', ')}`);
  if (ic.StopSignal) out.push(`\tStop Signal: ${q(ic.StopSignal)}`);
  annotations(out, 'Labels', ic.Labels, '\t');
  out.push('', '== HISTORY ==');
  const rows = [['LAYER', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']];
  for (const h of st.history) {
    rows.push([
      h.layer ? h.layer.digest : '<none>',
      h.created ?? '',
      oneLine(h.created_by ?? ''),
      h.layer ? human(h.layer.size) : '<none>',
      oneLine(h.comment ?? ''),
    ]);
  }
  out.push(...table(rows));
  return out;
}
