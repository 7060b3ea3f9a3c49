// The tar module's public face: the PAX writer (header.ts, writer.ts). The reader still lives
// in src/layer/tar*.ts, where the applier drives it.
export { encodeHeader, formatTime, padding, trailer, ustarBlock, BLOCK, type EntryType, type Time, type WriteEntry } from './header.js';
export { TarWriter, type Sink } from './writer.js';
