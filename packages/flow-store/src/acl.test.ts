// The ACL rules are one list: the compose file's Redis user is exactly serviceAclRules,
// and the services connect as that user.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceAclRules } from './acl';

const compose = readFileSync(join(__dirname, '..', '..', '..', 'docker-compose.yml'), 'utf8');

describe('serviceAclRules', () => {
  it('limits keys to the prefix (and sandboxes when asked), and takes administration and wiping away', () => {
    expect(serviceAclRules({ prefix: 'trust_a' }).slice(0, 2)).toEqual(['on', '~trust_a:*']);
    expect(serviceAclRules({ sandboxes: true })).toEqual(expect.arrayContaining(['~pfm:*', '~sbx.*', '-@all', '-@dangerous', 'resetchannels']));
    expect(serviceAclRules()).not.toContain('~sbx.*');
    expect(serviceAclRules().some((r) => r === '~*' || r === 'allkeys' || r === '+@all' || r === 'allcommands')).toBe(false);
    expect(() => serviceAclRules({ prefix: 'pfm:* ~*' })).toThrow(/invalid key prefix/);
  });

  it('is what docker-compose.yml gives Redis\'s `pfm` user, and the services connect as `pfm`', () => {
    const line = compose.split('\n').find((l) => l.trim().startsWith('command: ["redis-server"'));
    const command = JSON.parse(line!.trim().slice('command: '.length)) as string[];
    const user = command.slice(command.indexOf('--user') + 1);
    expect(user[0]).toBe('pfm');
    expect(user.filter((r) => !r.startsWith('>'))).toEqual(['pfm', ...serviceAclRules({ sandboxes: true })]);
    expect(compose).toMatch(/^ {2}REDIS_URL: "redis:\/\/pfm:\$\{PFM_REDIS_PASSWORD/m);
  });
});
