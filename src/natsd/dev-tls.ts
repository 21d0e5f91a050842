import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCertificate, generateKeyPair, randomSerial } from '../ca/x509.js';

/** PEM files nats-server and its clients use for TLS on this machine. */
export interface TlsFiles {
  /** The CA every client and leafnode verifies the servers against. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

const DAY = 86_400_000;

/**
 * A throw-away CA and one server certificate for `localhost` and 127.0.0.1, for `trellis dev` and
 * the tests: TLS is on in development exactly as in production, only the files are generated.
 * Real deployments point `deploy/nats/*.conf` at their own. Kept when present (the CA must not
 * change under running servers); the keys are 0600 in a 0700 directory.
 */
export function ensureDevTls(dir: string, now = Date.now()): TlsFiles {
  const files: TlsFiles = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server-key.pem') };
  if (existsSync(files.caFile) && existsSync(files.certFile) && existsSync(files.keyFile)) return files;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = generateKeyPair('ec', 256);
  const caName = 'trellis dev NATS CA';
  const caPem = buildCertificate(
    {
      serial: randomSerial(),
      subjectCommonName: caName,
      issuerCommonName: caName,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3650 * DAY),
      subjectPublicKey: ca.publicKey,
      issuerPublicKey: ca.publicKey,
      ca: true,
      pathLength: 0,
      keyUsage: ['keyCertSign', 'cRLSign', 'digitalSignature'],
      uriSans: [],
    },
    ca.privateKey,
  );
  const server = generateKeyPair('ec', 256);
  const serverPem = buildCertificate(
    {
      serial: randomSerial(),
      subjectCommonName: 'localhost',
      issuerCommonName: caName,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 825 * DAY),
      subjectPublicKey: server.publicKey,
      issuerPublicKey: ca.publicKey,
      ca: false,
      keyUsage: ['digitalSignature', 'keyEncipherment'],
      extendedKeyUsage: ['serverAuth', 'clientAuth'],
      uriSans: [],
      dnsSans: ['localhost'],
      ipSans: ['127.0.0.1'],
    },
    ca.privateKey,
  );
  writeFileSync(files.keyFile, server.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(files.certFile, serverPem, { mode: 0o600 });
  writeFileSync(files.caFile, caPem, { mode: 0o644 });
  // The CA's private key is not kept: nothing else is ever signed with it.
  return files;
}
