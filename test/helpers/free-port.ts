// A TCP port that was free a moment ago on 127.0.0.1, for test servers that cannot take port 0.
// Never 6379 (the machine's Redis) nor 6390 (Untradex's default embedded port).

import { createServer } from 'node:net';

const RESERVED = new Set([6379, 6390]);

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        const address = server.address();
        const found = typeof address === 'object' && address !== null ? address.port : 0;
        server.close(() => resolve(found));
      });
    });
    if (port !== 0 && !RESERVED.has(port)) return port;
  }
}
