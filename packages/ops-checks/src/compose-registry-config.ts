// What docker-compose.yml's registry-config step writes (infra/schema-registry/compose-config.sh),
// run with each password variable set to its own name in angle brackets, so a check can see
// which variable every password comes from. The script needs bash and coreutils only.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
export const REGISTRY_CONFIG_VARS = ['PFM_REGISTRY_PASSWORD_ADMIN', 'PFM_REGISTRY_PASSWORD_INGEST', 'PFM_REGISTRY_PASSWORD_ENGINE', 'PFM_REGISTRY_PASSWORD_GATEWAY', 'PFM_KAFKA_PASSWORD_REGISTRY'];

/** The two files, as text, and the file modes. */
export function registryConfigFiles(): { users: string; kafkaClient: string; modes: number[] } {
  const dir = mkdtempSync(join(tmpdir(), 'pfm-registry-config-'));
  try {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, PFM_REGISTRY_CONFIG_DIR: dir, PFM_KAFKA_CA_FILE: '/pfm/kafka-ca/ca.crt' };
    for (const v of REGISTRY_CONFIG_VARS) env[v] = `<${v}>`;
    execFileSync('bash', [join(root, 'infra', 'schema-registry', 'compose-config.sh')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { users: read('users.properties'), kafkaClient: read('kafka-client.properties'), modes: ['users.properties', 'kafka-client.properties'].map((f) => statSync(join(dir, f)).mode & 0o777) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A properties file's text as key -> value (the first '=' splits). */
export const properties = (text: string): Record<string, string> =>
  Object.fromEntries(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
