import { loadConfig } from '../src/config.js';
import { resolveSecretKey } from '../src/secrets.js';

/**
 * Whether the gateway refuses `value` for the setting `name` at start: the config schema's checks,
 * and for SWITCHYARD_SECRET_KEY the key's own parsing. For example Secrets that must not work unedited.
 */
export async function gatewayRefuses(name: string, value: string): Promise<boolean> {
  try {
    const c = loadConfig({ [name]: value });
    if (c.secretKey !== null) await resolveSecretKey('/nonexistent', c.secretKey);
    return false;
  } catch {
    return true;
  }
}
