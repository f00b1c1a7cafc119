/**
 * A cheap phone for the e2e bench: node:crypto Ed25519 and X25519 directly (the same JWS and JWE as jose
 * makes), so the generator spends little CPU per approval.
 */
import {
  createCipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { APPROVAL_TYP, type JWK, type MoneyWire } from '@semops/protocol';
import type { ResolvedRequest } from '../clients-wallet.js';

/** The PIN every bench customer enrols with. */
export const BENCH_PIN = '1234';

const b64u = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/** The PIN as a compact JWE to the processor's X25519 key: ECDH-ES direct key agreement, A256GCM. */
export function sealPin(pin: string, processorKey: KeyObject): string {
  const eph = generateKeyPairSync('x25519');
  const z = diffieHellman({ privateKey: eph.privateKey, publicKey: processorKey });
  const { x } = eph.publicKey.export({ format: 'jwk' });
  const header = b64u(
    JSON.stringify({ alg: 'ECDH-ES', enc: 'A256GCM', epk: { x, crv: 'X25519', kty: 'OKP' } }),
  );
  // Concat KDF (RFC 7518 4.6.2): round 1, Z, AlgorithmID "A256GCM", empty PartyUInfo and PartyVInfo, 256 bits.
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const cek = createHash('sha256')
    .update(u32(1))
    .update(z)
    .update(u32(7))
    .update('A256GCM')
    .update(u32(0))
    .update(u32(0))
    .update(u32(256))
    .digest();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cek, iv);
  cipher.setAAD(Buffer.from(header, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify({ pin })), cipher.final()]);
  return `${header}..${b64u(iv)}.${b64u(ciphertext)}.${b64u(cipher.getAuthTag())}`;
}

/** A customer's phone in the generator: device id, access token, device key, the processor's PIN key. */
export class BenchPhone {
  private readonly header: string;
  private readonly deviceKey: KeyObject;
  private readonly processorKey: KeyObject;

  constructor(
    readonly deviceId: string,
    readonly accessToken: string,
    devicePrivateJwk: JWK,
    processorEncryptionJwk: JWK,
  ) {
    this.deviceKey = createPrivateKey({ key: devicePrivateJwk as JsonWebKey, format: 'jwk' });
    this.processorKey = createPublicKey({ key: processorEncryptionJwk as JsonWebKey, format: 'jwk' });
    this.header = b64u(JSON.stringify({ alg: 'EdDSA', kid: deviceId, typ: APPROVAL_TYP }));
  }

  /** The device-signed approval of a resolved request at `amount`, with the PIN sealed to the processor. */
  approval(
    r: Pick<ResolvedRequest, 'requestId' | 'processorId'>,
    amount: MoneyWire,
    pin = BENCH_PIN,
  ): string {
    const payload = b64u(
      JSON.stringify({
        deviceId: this.deviceId,
        requestId: r.requestId,
        payee: r.processorId,
        amount,
        nonce: randomBytes(16).toString('base64url'),
        expiresAt: Date.now() + 60_000,
        pin: sealPin(pin, this.processorKey),
      }),
    );
    const signature = sign(null, Buffer.from(`${this.header}.${payload}`), this.deviceKey);
    return `${this.header}.${payload}.${b64u(signature)}`;
  }
}
