/** A user-facing failure: one clear sentence, no stack trace. */
export class PmgrantsError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 2,
  ) {
    super(message);
    this.name = 'PmgrantsError';
  }
}

/**
 * An apply that failed after committing part of its work, with the passwords of the logins that part
 * did set: the caller must keep them (secrets file), or those logins are unusable until rotated.
 */
export class PartialApplyError extends PmgrantsError {
  constructor(
    message: string,
    readonly secrets: Map<string, string>,
  ) {
    super(message);
    this.name = 'PartialApplyError';
  }
}
