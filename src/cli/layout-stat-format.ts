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
export function formatStat(st: ImageStat): string[] {
  const out: string[] = [];
  const m = st.manifest;
  out.push('== MANIFEST ==');
  out.push(`Schema Version: ${m.blob.schemaVersion}`);
  out.push(`Media Type: ${m.descriptor.mediaType}`);
  out.push(`Digest: ${m.descriptor.digest}`);
  out.push(`Size: ${m.descriptor.size}`);
  out.push('Config:');
  out.push(`\tMedia Type: ${m.blob.config.mediaType}`);
  out.push(`\tDigest: ${m.blob.config.digest}`);
  out.push(`\tSize: ${m.blob.config.size}`);
  out.push('Layers:');
  for (const l of m.blob.layers) out.push(`\t${l.digest}  ${human(l.size)}  ${l.mediaType}`);
  const c = st.config.blob;
  out.push('', '== CONFIG ==');
  if (c.created) out.push(`Created: ${c.created}`);
  if (c.author) out.push(`Author: ${c.author}`);
  out.push(`Platform: ${c.os}/${c.architecture}${c.variant ? `/${c.variant}` : ''}`);
  const ic = c.config ?? {};
  out.push('Image Config:');
  if (ic.User) out.push(`\tUser: ${ic.User}`);
  if (ic.Entrypoint?.length) out.push(`\tEntrypoint: ${JSON.stringify(ic.Entrypoint)}`);
  if (ic.Cmd?.length) out.push(`\tCommand: ${JSON.stringify(ic.Cmd)}`);
  if (ic.WorkingDir) out.push(`\tWorking Directory: ${ic.WorkingDir}`);
  if (ic.Env?.length) out.push('\tEnvironment:', ...ic.Env.map((e) => `\t\t${e}`));
  if (ic.ExposedPorts) out.push(`\tExposed Ports: ${Object.keys(ic.ExposedPorts).join(', ')}`);
  if (ic.Volumes) out.push(`\tVolumes: ${Object.keys(ic.Volumes).join(', ')}`);
  if (ic.StopSignal) out.push(`\tStop Signal: ${ic.StopSignal}`);
  if (ic.Labels) out.push('\tLabels:', ...Object.entries(ic.Labels).map(([k, v]) => `\t\t${k}: ${v}`));
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
