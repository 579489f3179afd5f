import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";

/**
 * One random service secret (32 bytes) per deployment: locally a file in the data dir, in the
 * cloud a Secrets Manager secret. Two keys are derived from it (HKDF): one keys the API-key
 * hashes, one encrypts tenant secrets (AES-256-GCM, the tenant ID bound in as associated data).
 */
export class ServiceKeys {
  private readonly hashKey: Buffer;
  private readonly encKey: Buffer;

  constructor(secret: Buffer) {
    if (secret.length < 32) throw new Error("the service secret must be at least 32 bytes");
    this.hashKey = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), "bga api-key hash v1", 32));
    this.encKey = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), "bga tenant secrets v1", 32));
  }

  static generateSecret(): Buffer {
    return randomBytes(32);
  }

  /** Keyed hash of an API key (hex): what is stored instead of the key. */
  hashApiKey(apiKey: string): string {
    return createHmac("sha256", this.hashKey).update(apiKey, "utf8").digest("hex");
  }

  /** Constant-time comparison of two hex hashes. */
  static sameHash(a: string, b: string): boolean {
    const x = Buffer.from(a, "hex");
    const y = Buffer.from(b, "hex");
    return x.length === y.length && timingSafeEqual(x, y);
  }

  encrypt(plaintext: string, context: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.encKey, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([Buffer.from([1]), iv, cipher.getAuthTag(), body]);
  }

  decrypt(blob: Uint8Array, context: string): string {
    const buf = Buffer.from(blob);
    if (buf[0] !== 1 || buf.length < 29) throw new Error("unknown secret format");
    const decipher = createDecipheriv("aes-256-gcm", this.encKey, buf.subarray(1, 13));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(buf.subarray(13, 29));
    return Buffer.concat([decipher.update(buf.subarray(29)), decipher.final()]).toString("utf8");
  }
}

/** Compares two secrets (e.g. the admin token) in constant time, whatever their lengths. */
export function sameSecret(a: string, b: string): boolean {
  const key = randomBytes(32);
  const x = createHmac("sha256", key).update(a).digest();
  const y = createHmac("sha256", key).update(b).digest();
  return timingSafeEqual(x, y);
}

/** A new API key: `bga_` + 256 random bits. */
export function newApiKey(): string {
  return `bga_${randomBytes(32).toString("base64url")}`;
}

/** A short public ID for a key (shown in listings, used to revoke it). */
export function newKeyId(): string {
  return `key_${randomBytes(9).toString("base64url")}`;
}
