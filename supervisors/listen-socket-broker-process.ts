// A tiny child process that opens the gateway's listening socket once and then only echoes
// raw handles back: each trip over the IPC channel duplicates the descriptor (SCM_RIGHTS).

import { createServer } from 'node:net';

interface BrokerRequest {
  op: 'listen' | 'dup';
  host?: string;
  port?: number;
  backlog?: number;
}

process.on('message', (message: BrokerRequest, handle: unknown) => {
  if (message.op === 'listen') {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => process.send?.({ op: 'error', code: error.code ?? 'EUNKNOWN', message: error.message }));
    server.listen({ host: message.host, port: message.port, backlog: message.backlog }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      // Hand the raw handle over, then close ours: the parent's duplicate keeps the socket open,
      // and this process must never accept a connection itself.
      const raw = (server as unknown as { _handle: unknown })._handle;
      process.send?.({ op: 'listening', port }, raw as never, () => server.close());
    });
  } else if (message.op === 'dup') {
    process.send?.({ op: 'dup' }, handle as never);
  }
});
process.on('disconnect', () => process.exit(0));
