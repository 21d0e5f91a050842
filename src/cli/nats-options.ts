import type { ConnectionOptions } from '@nats-io/nats-core';
import { natsConnectionOptions, readCredentialsFile } from '../natsd/credentials.js';

/** Connection options for the CLI's direct NATS readers (audit, replay): a URL and, usually, a credentials file. */
export function natsOptions(url: string, credentialsFile: string | undefined): ConnectionOptions {
  return natsConnectionOptions(url, credentialsFile ? readCredentialsFile(credentialsFile, url) : undefined);
}
