// The Redis ACL user the services connect as: their keys only (the live prefix, and the
// replay sandboxes' `sbx.*` when asked), reads, writes, streams and the product's Lua
// scripts; no administration, no FLUSHALL/FLUSHDB, no KEYS, no CONFIG, no pub/sub. The
// default user keeps its own password for administration only.
//
// Print the rule line for a Redis config or `--user` argument:
//   pnpm -s tsx packages/flow-store/src/acl.ts [prefix] [--sandboxes]

/** What the services may run: everything they use, nothing that administers or wipes Redis. */
export const SERVICE_COMMAND_RULES = [
  'resetchannels', '-@all',
  '+@read', '+@write', '+@scripting', '+@connection', '+@transaction',
  '-@dangerous',
  // ioredis's ready check on connect.
  '+info',
  // The engine's apply script reads the server's clock (TIME is in no category but @fast).
  '+time',
  // Server-side functions and the script cache are administration.
  '-function', '-script|flush', '-script|kill', '-script|debug',
] as const;

/**
 * The ACL rules (without user name and password) for the services' user, its keys limited
 * to `prefix` (PFM_KEY_PREFIX) and, for the replay tools, the sandboxes.
 */
export function serviceAclRules(o: { prefix?: string; sandboxes?: boolean } = {}): string[] {
  const prefix = o.prefix ?? 'pfm';
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new Error(`invalid key prefix ${prefix}`);
  return ['on', `~${prefix}:*`, ...(o.sandboxes ? ['~sbx.*'] : []), ...SERVICE_COMMAND_RULES];
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const prefix = args.find((a) => !a.startsWith('--')) ?? 'pfm';
  console.log(serviceAclRules({ prefix, sandboxes: args.includes('--sandboxes') }).join(' '));
}
