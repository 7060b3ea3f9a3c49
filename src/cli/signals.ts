// SIGINT/SIGTERM for long commands: they abort the library call through an AbortSignal, so it
// cleans up what it made and fails with EINTERRUPTED (exit 130). Handlers are restored after.

export async function withSignals<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await run(ac.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
