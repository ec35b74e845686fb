// Where the command line finds the control API and its admin token: --url/--token, then
// UNTRADEX_URL/UNTRADEX_ADMIN_TOKEN, then the config (and the secrets.json of its dataDir).

import { readConfig, readStoredSecrets, secretsFromEnvironment } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/errors.js';

export interface ControlTarget {
  /** Base URL of the control API, without a trailing slash. */
  url: string;
  token: string;
  /** Where the token came from, for the message when it is refused (never the token itself). */
  tokenSource: string;
}

export interface TargetOptions {
  url?: string | undefined;
  token?: string | undefined;
  config?: string | undefined;
}

/**
 * Reads the config only when a flag or variable leaves something open, and then without side
 * effects: a client command never creates a dataDir or secrets no server uses.
 */
export function resolveControlTarget(options: TargetOptions, env: NodeJS.ProcessEnv = process.env): ControlTarget {
  let url = options.url ?? env.UNTRADEX_URL;
  let token = options.token;
  let tokenSource = '--token';
  if (token === undefined) {
    // UNTRADEX_ADMIN_TOKEN or UNTRADEX_ADMIN_TOKEN_FILE, read as the server reads them (section 6).
    const fromEnv = secretsFromEnvironment(env);
    const control = (fromEnv.overrides as { control?: { adminToken?: string } } | null)?.control;
    token = control?.adminToken;
    tokenSource = fromEnv.sources.get('control.adminToken') ?? tokenSource;
  }
  if (url === undefined || token === undefined) {
    const { raw, dataDir } = readConfig({ path: options.config ?? env.UNTRADEX_CONFIG, env });
    if (url === undefined) {
      // A server bound to every address is reached on loopback from its own machine.
      const host = raw.control.host === '0.0.0.0' ? '127.0.0.1' : raw.control.host === '::' ? '[::1]' : raw.control.host.includes(':') ? `[${raw.control.host}]` : raw.control.host;
      url = `http://${host}:${raw.control.port}`;
    }
    if (token === undefined && raw.control.adminToken !== null) {
      token = raw.control.adminToken;
      tokenSource = 'control.adminToken in the config';
    }
    if (token === undefined) {
      token = readStoredSecrets(dataDir).adminToken;
      tokenSource = `${dataDir}/secrets.json`;
    }
    if (token === undefined || token === '') {
      throw new ConfigError(
        'control.adminToken',
        `no admin token: pass --token or set UNTRADEX_ADMIN_TOKEN, or run this where the server's config is (--config) ` +
          `so its dataDir (${dataDir}) holds secrets.json; a server writes it at its first start`,
      );
    }
  }
  return { url: url.replace(/\/+$/, ''), token, tokenSource };
}
