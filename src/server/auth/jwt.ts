/**
 * Bring your own identity: an app that already has users signs a JWT for each (HS256,
 * RS256 or EdDSA) whose `sub` is the user's name here; its client trades it for a session
 * with `POST /api/v1/login/jwt` (as Matrix's `org.matrix.login.jwt` does), and from then on
 * is signed in like any other (sessions, logout, the live channel). Off unless configured.
 *
 * The key decides the one algorithm accepted, so that a token can never choose its own
 * (an RSA public key used as an HMAC secret, or `alg: none`).
 * @module
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { errors, jwtVerify } from 'jose';

export interface JwtOptions {
  /**
   * The key that checks signatures: a PEM public key (`-----BEGIN PUBLIC KEY-----`, RSA for
   * RS256 or Ed25519 for EdDSA), or the shared secret for HS256 (at least 32 bytes).
   */
  key: string | Uint8Array;
  /** The `aud` every token must carry: this messenger's name in the app's eyes. */
  audience: string;
  /** The `iss` every token must carry, when given. */
  issuer?: string;
  /** Whether a `sub` with no user yet creates one (with no password). @defaultValue false */
  createUsers?: boolean;
}

/** The smallest HS256 secret accepted: RFC 7518 asks for a key as long as the hash. */
export const HS256_MIN_BYTES = 32;

/** A token's claims may be this far off this machine's clock. */
const CLOCK_TOLERANCE_S = 30;

/** Why a token was refused, in a line for the app's developer. */
export class JwtRefusedError extends Error {}

export class JwtIdentity {
  readonly #key: KeyObject;
  readonly #algorithm: 'HS256' | 'RS256' | 'EdDSA';
  readonly #options: JwtOptions;

  constructor(options: JwtOptions) {
    this.#options = options;
    const text = typeof options.key === 'string' ? options.key : null;
    if (text?.includes('-----BEGIN')) {
      this.#key = createPublicKey(text);
      const type = this.#key.asymmetricKeyType;
      if (type === 'rsa') this.#algorithm = 'RS256';
      else if (type === 'ed25519') this.#algorithm = 'EdDSA';
      else throw new Error(`a JWT key must be RSA (RS256) or Ed25519 (EdDSA), not ${type}`);
    } else {
      const secret =
        typeof options.key === 'string' ? Buffer.from(options.key, 'utf8') : options.key;
      if (secret.length < HS256_MIN_BYTES)
        throw new Error(`an HS256 secret must be at least ${HS256_MIN_BYTES} bytes long`);
      this.#key = createSecretKey(secret);
      this.#algorithm = 'HS256';
    }
    if (!options.audience) throw new Error('a JWT audience is needed');
  }

  get algorithm(): string {
    return this.#algorithm;
  }

  get createsUsers(): boolean {
    return this.#options.createUsers ?? false;
  }

  /** The username a valid token names; throws JwtRefusedError saying why it is not. */
  async usernameOf(token: string): Promise<string> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: [this.#algorithm],
        audience: this.#options.audience,
        ...(this.#options.issuer ? { issuer: this.#options.issuer } : {}),
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      if (typeof payload.sub !== 'string' || payload.sub === '')
        throw new JwtRefusedError('the token names no user (sub)');
      return payload.sub;
    } catch (error) {
      if (error instanceof JwtRefusedError) throw error;
      throw new JwtRefusedError(reasonOf(error));
    }
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired (exp)';
  if (error instanceof errors.JWTClaimValidationFailed)
    return `the token's ${error.claim} claim is ${error.reason === 'missing' ? 'missing' : 'not the expected one'}`;
  if (error instanceof errors.JOSEAlgNotAllowed)
    return 'the token is signed with another algorithm than this server accepts';
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return 'the token is not signed with the configured key';
  return 'the token is not a valid JWT';
}
