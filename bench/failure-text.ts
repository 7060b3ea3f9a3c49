// Picks the one line of a failed command's stderr that says what went wrong (ocibundle's own
// `ocibundle: CODE: ...` line, a Node `Error: ...` line, umoci's last line), so a failure
// reads as a reason, not as the bottom of a stack trace. Pure.

const MAX = 300;

export function failureLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const pick =
    lines.find((l) => /^ocibundle: /.test(l)) ??
    lines.find((l) => /^(\w+)?Error\b|^Error \[|^\w+Error: /.test(l)) ??
    lines.filter((l) => !/^at /.test(l) && !/^Node\.js v/.test(l)).at(-1) ??
    '';
  return pick.length > MAX ? `${pick.slice(0, MAX)}...` : pick;
}
