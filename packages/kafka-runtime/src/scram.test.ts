import { createHash, createHmac } from 'node:crypto';
import { decodeAlterScram, encodeAlterScram, saltedPassword } from './scram';

describe('SCRAM credentials on the wire (AlterUserScramCredentials v0)', () => {
  it('salts the password as RFC 5802 says: the RFC 7677 example login verifies', () => {
    // RFC 7677 section 3: user "user", password "pencil"; the proof the client sends.
    const salted = saltedPassword('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096, 'SCRAM-SHA-256');
    const authMessage = 'n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const signature = createHmac('sha256', createHash('sha256').update(clientKey).digest()).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
    expect(proof.toString('base64')).toBe('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    expect(saltedPassword('pencil', Buffer.alloc(16), 4096)).toHaveLength(64);
  });

  it('encodes the request with a flexible header (tagged fields) and compact fields', () => {
    const req = encodeAlterScram(7, 'cli', [{ user: 'ingest', mechanism: 'SCRAM-SHA-512', iterations: 8192, salt: Buffer.from([1, 2]), salted: Buffer.from([3]) }]);
    expect(req.toString('hex')).toBe([
      '0033', '0000', '00000007', '0003', Buffer.from('cli').toString('hex'), '00', // api 51 v0, correlation id, client id, header tags
      '01', // deletions: none
      '02', '07', Buffer.from('ingest').toString('hex'), '02', '00002000', '03', '0102', '02', '03', '00', // one upsertion
      '00', // request tags
    ].join(''));
  });

  it('reads each user\'s result, errors and messages included', () => {
    const body = Buffer.concat([
      Buffer.from('00', 'hex'), Buffer.from('00000000', 'hex'), Buffer.from('03', 'hex'),
      Buffer.from('07', 'hex'), Buffer.from('ingest'), Buffer.from('0000', 'hex'), Buffer.from('00', 'hex'), Buffer.from('00', 'hex'),
      Buffer.from('04', 'hex'), Buffer.from('bad'), Buffer.from('0044', 'hex'), Buffer.from('05', 'hex'), Buffer.from('nope'), Buffer.from('00', 'hex'),
      Buffer.from('00', 'hex'),
    ]);
    expect(decodeAlterScram(body)).toEqual([{ user: 'ingest', errorCode: 0, message: null }, { user: 'bad', errorCode: 68, message: 'nope' }]);
  });
});
