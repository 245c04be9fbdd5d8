import { sortState } from '../model/state';
import { DesiredState, EngineName } from '../model/types';
import type { GrantFact } from '../policy/guardrails';
import type { GrantsInputs } from './resources';

/**
 * The wire format of a part, both ways: what the program gives a resource as its inputs (all plain
 * JSON, as Pulumi stores them), and the desired slice the provider reads back from them. Pure.
 */

/** Wire inputs of one part. */
export function partInputs(part: DesiredState, engine: EngineName, extra: { app?: string; rotationToken?: string; checkoutToken?: string; grants?: GrantFact[]; ownerTeam?: string; personalData?: 'columns' | 'none' }): GrantsInputs {
  return {
    ...(extra.app !== undefined ? { app: extra.app } : {}),
    engine,
    database: part.database,
    prefix: part.prefix,
    mode: part.mode,
    enforcement: part.enforcement,
    prune: part.prune,
    ...(part.rotationMaxAgeDays !== undefined ? { rotationMaxAgeDays: part.rotationMaxAgeDays } : {}),
    ...(extra.rotationToken ? { rotationToken: extra.rotationToken } : {}),
    ...(extra.checkoutToken ? { checkoutToken: extra.checkoutToken } : {}),
    ...(part.passwordValidFor !== undefined ? { passwordValidFor: part.passwordValidFor } : {}),
    ...(part.protected?.length ? { protected: part.protected } : {}),
    ...(part.tolerateGrantees?.length ? { tolerateGrantees: part.tolerateGrantees } : {}),
    appLogins: part.appLogins,
    logins: part.logins,
    users: part.users,
    roles: part.roles,
    schemas: part.schemas,
    memberships: part.memberships,
    permissions: part.permissions,
    ...(part.expired && part.expired.length > 0 ? { expired: part.expired } : {}),
    ...(extra.grants ? { grants: extra.grants } : {}),
    ...(extra.ownerTeam ? { ownerTeam: extra.ownerTeam } : {}),
    ...(extra.personalData ? { personalData: extra.personalData } : {}),
    ...(part.masking ? { masking: part.masking } : {}),
  };
}

/** The engine-neutral desired slice the inputs carry. */
export function desiredFromInputs(inputs: GrantsInputs): DesiredState {
  return sortState({
    engine: 'neutral',
    database: inputs.database,
    prefix: inputs.prefix,
    mode: inputs.mode,
    enforcement: inputs.enforcement,
    prune: inputs.prune,
    ...(inputs.rotationMaxAgeDays !== undefined ? { rotationMaxAgeDays: inputs.rotationMaxAgeDays } : {}),
    ...(inputs.passwordValidFor !== undefined ? { passwordValidFor: inputs.passwordValidFor } : {}),
    ...(inputs.protected?.length ? { protected: inputs.protected } : {}),
    ...(inputs.tolerateGrantees?.length ? { tolerateGrantees: inputs.tolerateGrantees } : {}),
    appLogins: inputs.appLogins ?? {},
    logins: inputs.logins ?? [],
    users: inputs.users ?? [],
    roles: inputs.roles ?? [],
    schemas: inputs.schemas ?? [],
    memberships: inputs.memberships ?? [],
    permissions: inputs.permissions ?? [],
    ...(inputs.expired && inputs.expired.length > 0 ? { expired: inputs.expired } : {}),
    ...(inputs.masking ? { masking: inputs.masking } : {}),
  });
}
