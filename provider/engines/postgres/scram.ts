import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';

/** Iteration count PostgreSQL itself uses for SCRAM-SHA-256 verifiers (scram_iterations default). */
export const SCRAM_ITERATIONS = 4096;

/**
 * A SCRAM-SHA-256 verifier (RFC 5802 / RFC 7677) in PostgreSQL's rolpassword format:
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, all base64. The server stores it as is
 * (it recognises the format), so the plaintext never travels to the server or its logs.
 * The password must not need SASLprep normalisation (generated passwords are ASCII).
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  return verifierFrom(pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256'), salt, iterations);
}

/**
 * scramSha256Verifier on libuv's thread pool: the key derivation (about 0.6 ms each) runs on other
 * cores, many at once, while the apply's transaction runs on the server.
 */
export function scramSha256VerifierAsync(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): Promise<string> {
  return new Promise((resolve, reject) =>
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256', (err, salted) => (err ? reject(err) : resolve(verifierFrom(salted, salt, iterations)))),
  );
}

function verifierFrom(salted: Buffer, salt: Buffer, iterations: number): string {
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** 32 characters from a CSPRNG (24 random bytes, base64url): 192 bits, safe in URLs and connection strings. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}
