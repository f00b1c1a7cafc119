import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  generateEncryptionKeys,
  generateSigningKeys,
  sealMessage,
  openMessage,
  signingKeyId,
  verifyKeyStatement,
} from '@semops/protocol';
import { openKeyring } from './keys.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'semops-keys-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('node keyring', () => {
  it('creates the current and the next key once, readable only by the node', async () => {
    const dir = tempDir();
    const a = await openKeyring(dir, 'bank-a');
    const b = await openKeyring(dir, 'bank-a');
    expect(b.current()).toEqual(a.current());
    expect(b.nextKid()).toBe(a.nextKid());
    expect(a.current().kid).toBe(await signingKeyId('bank-a', a.current().key));
    expect(a.nextKid()).not.toBe(a.current().kid);
    expect(a.signer.kid).toBe(a.current().kid);
    expect(statSync(join(dir, 'keys.json')).mode & 0o777).toBe(0o600);
  });

  it('adds a next key to a key file from before rotation and keeps its current key', async () => {
    const dir = tempDir();
    const signing = await generateSigningKeys();
    writeFileSync(
      join(dir, 'keys.json'),
      JSON.stringify({ signing, encryption: await generateEncryptionKeys() }),
      { mode: 0o600 },
    );
    const k = await openKeyring(dir, 'mno-b');
    expect(k.current().kid).toBe(await signingKeyId('mno-b', signing.publicJwk));
    expect(k.published()).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8'))).toHaveProperty('next');
  });

  it('rotates to the next key, keeps the old public key for the overlap, and tells other instances', async () => {
    const dir = tempDir();
    const k = await openKeyring(dir, 'bank-a');
    const instance2 = await openKeyring(dir, 'bank-a');
    const before = k.current();
    const next = k.nextKid();
    const t = Date.now();
    const { statement, proof } = await k.proposeRotation(60_000, t);
    const s = await verifyKeyStatement(
      statement,
      { kid: before.kid, key: k.resolve(before.kid, t)! },
      'bank-a',
      { now: t, proof },
    );
    expect(s).toMatchObject({ action: 'rotate', kid: next, previous: before.kid, overlapMs: 60_000 });

    // A message sealed before the switch and opened after it still verifies, by its key id.
    const inFlight = await sealMessage(k.signer, 'hub', 'x', {}, { now: t });
    await k.commitRotation(statement, t + 60_000);
    await k.commitRotation(statement, t + 60_000); // a repeat changes nothing
    expect(k.current().kid).toBe(next);
    expect(k.signer.kid).toBe(next);
    expect(k.nextKid()).not.toBe(next);
    expect(k.published()).toMatchObject([
      { kid: next, since: t },
      { kid: before.kid, until: t + 60_000 },
    ]);
    expect(k.statements()).toEqual([statement]);
    const resolveKey = (kid: string) => k.resolve(kid, t + 1000);
    expect((await openMessage(inFlight.jws, { me: 'hub', resolveKey, now: t + 1000 })).sender).toBe('bank-a');
    // Past the overlap the old key is refused; its own receipts are still checked with it.
    expect(() => k.resolve(before.kid, t + 60_000)).toThrow(/was retired/);
    expect(k.resolve(before.kid, t + 60_000, { anyAge: true })).toBeDefined();

    // The other instance picks the rotation up from the shared file.
    expect(instance2.signer.kid).toBe(before.kid);
    expect(await instance2.reload()).toBe(true);
    expect(instance2.signer.kid).toBe(next);
    expect(await instance2.reload()).toBe(false);

    // A restart keeps everything.
    const restarted = await openKeyring(dir, 'bank-a');
    expect(restarted.published()).toEqual(k.published());
    expect(restarted.nextKid()).toBe(k.nextKid());
  });

  it('retires an earlier key, and refuses to commit a rotation to a key that is not its next one', async () => {
    const dir = tempDir();
    const k = await openKeyring(dir, 'bank-a');
    const first = k.current().kid;
    const t = Date.now();
    const stale = await k.proposeRotation(60_000, t);
    await k.commitRotation(stale.statement, t + 60_000);
    await expect(k.proposeRetire(k.current().kid, t)).rejects.toThrow(/not an earlier key/);
    const retire = await k.proposeRetire(first, t + 10);
    await k.commitRetire(retire);
    expect(k.published()[1]).toMatchObject({ kid: first, until: t + 10 });
    expect(() => k.resolve(first, t + 10)).toThrow(/was retired/);

    const other = await openKeyring(tempDir(), 'bank-a');
    const foreign = await other.proposeRotation(0, t);
    await expect(k.commitRotation(foreign.statement, t)).rejects.toThrow(/not this node's next rotation/);
  });
});
