import type { Command } from 'commander';
import type { CliIo } from './main.js';

/** Placeholder replaced by the intention CLI implementation. */
export function registerIntentionCommands(_program: Command, _io: CliIo): void {}
