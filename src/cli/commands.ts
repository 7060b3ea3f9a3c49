// The list of yargs command modules the CLI offers. Each module lives in its own file under
// src/cli/ and is a plain yargs CommandModule; this file only collects them.
import type { CommandModule } from 'yargs';
import { copyCommand } from './copy.js';
import { layoutCommands } from './layout.js';
import { rawCommand, unpackCommand } from './unpack.js';
import { repackCommand } from './repack.js';
import { newCommand } from './new.js';
import { configCommand } from './config.js';
import { insertCommand } from './insert.js';
import { mountCommand, storeCommand, umountCommand } from './store.js';

export const commands: CommandModule<any, any>[] = [unpackCommand, rawCommand, repackCommand, newCommand, configCommand, insertCommand, copyCommand, storeCommand, mountCommand, umountCommand, ...layoutCommands];
