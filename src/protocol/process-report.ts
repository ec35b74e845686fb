// One gateway process as GET /api/status lists it (gateway.processes > 1, docs/PROTOCOL.md section 4).
// Free of Node imports, so the console's browser build shares it with the server.

export interface ProcessReport {
  id: string;
  /** null while the process is being (re)started. */
  pid: number | null;
  status: string;
  restarts: number;
  connections: number;
  eventsStored: number;
}
