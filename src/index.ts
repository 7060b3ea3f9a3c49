// The public library API of ocibundle: what test harnesses import in-process.
// Re-exports only; each function lives in its own module.
export { OciBundleError, EXIT, ERROR_CODES, type ErrorCode, type Warning, type WarnFn } from './errors.js';
