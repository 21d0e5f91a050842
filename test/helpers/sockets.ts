import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A TCP echo server on 127.0.0.1 (an ephemeral port); it prefixes every reply so tests see who answered. */
export async function startEcho(prefix = ''): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (d) => s.write(prefix + d.toString()));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Sends `text` to 127.0.0.1:port and resolves with what comes back within `timeoutMs`, or null when
 * the connection is closed (or never answers) first.
 */
export function roundTrip(port: number, text: string, timeoutMs = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let got = '';
    const finish = (value: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish(got.length > 0 ? got : null), timeoutMs);
    socket.on('connect', () => socket.write(text));
    socket.on('data', (d) => {
      got += d.toString();
      if (got.length >= text.length) finish(got);
    });
    socket.on('close', () => finish(got.length > 0 ? got : null));
    socket.on('error', () => finish(null));
  });
}

/** An open connection through which several messages can be sent, to prove it survives changes. */
export async function openConnection(port: number): Promise<{ send(text: string, timeoutMs?: number): Promise<string | null>; close(): void }> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  let closed = false;
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  return {
    send(text, timeoutMs = 3000) {
      if (closed) return Promise.resolve(null);
      return new Promise((resolve) => {
        let got = '';
        const onData = (d: Buffer) => {
          got += d.toString();
          if (got.length >= text.length) done(got);
        };
        const onClose = () => done(got || null);
        const done = (v: string | null) => {
          clearTimeout(timer);
          socket.off('data', onData);
          socket.off('close', onClose);
          resolve(v);
        };
        const timer = setTimeout(() => done(got || null), timeoutMs);
        socket.on('data', onData);
        socket.once('close', onClose);
        socket.write(text);
      });
    },
    close: () => socket.destroy(),
  };
}
