import { randomBytes } from 'node:crypto';

/**
 * The id of one generated password: 16 random bytes (CSPRNG), base64url. It is stored with the password
 * where the password is delivered (secrets file, Pulumi state) and in the login's marker when the server
 * takes the password, so plan can tell which delivered password the server holds. It is drawn
 * independently of the password: nothing about the password can be learned from it.
 */
export function newPasswordGeneration(): string {
  return randomBytes(16).toString('base64url');
}
