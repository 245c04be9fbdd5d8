import { MaskedView, maskedCount, maskingNames } from '../model/masking';
import { columnsOf, securableKey } from '../model/state';
import { counted } from '../diagnostics/printable';
import { Permission, Securable, User } from '../model/types';
import { expiryText } from '../model/expiry';
import { Change, ExceptedObject } from './change';
import { PUBLIC_GRANTEE } from './diff';

export type Sign = '+' | '-' | '~';

export function securableText(s: Securable): string {
  switch (s.type) {
    case 'database':
      return 'database';
    case 'schema':
      return `schema ${s.name}`;
    case 'role':
      return `role ${s.name}`;
    case 'engine':
      // A role's default privileges in every schema have no schema name; one object is schema.object.
      if (s.name === '' && s.forRole !== undefined) return `${s.kind} for ${s.forRole}`;
      if (s.kind.startsWith('object:')) return `object ${s.name}.${s.kind.slice('object:'.length)}`;
      // One column (columnSecurable).
      const column = columnsOf(s);
      if (column) return column.columns.length === 1 ? `column ${column.schema}.${column.table}.${column.columns[0]}` : `columns ${column.schema}.${column.table} (${column.columns.join(', ')})`;
      return securableKey(s).replace(/:/g, ' ');
  }
}

/** A permission as a plan line says it: "SELECT on schema p2p to x", or "from x" when it is revoked. */
function permissionText(p: Permission, towards: 'to' | 'from' = 'to'): string {
  const what = p.privilege === 'manage-membership' ? 'manage membership of' : `${p.privilege} on`;
  const target = p.privilege === 'manage-membership' && p.on.type === 'role' ? p.on.name : securableText(p.on);
  return `${p.effect === 'DENY' ? 'DENY ' : ''}${what} ${target} ${towards} ${p.grantee === PUBLIC_GRANTEE ? 'PUBLIC' : p.grantee}${p.withGrantOption ? ' (with grant option)' : ''}`;
}

function userText(u: User): string {
  switch (u.source.type) {
    case 'login':
      return `user ${u.name} for login ${u.source.login}`;
    case 'sql-login':
      return `user ${u.name} for existing SQL login ${u.source.login}`;
    case 'external':
      return `user ${u.name} from Entra (${u.source.kind}${u.source.objectId ? `, object id ${u.source.objectId}` : ''})`;
    case 'windows':
      return `user ${u.name} for Windows ${u.source.kind === 'windows-group' ? 'group' : 'user'}`;
    case 'role':
      return `role ${u.name} (a team; its members are managed outside pmgrants)`;
  }
}

/** What a grant or revoke leaves out, by owner: " (not on p2p.audit: owned by dba)". */
function exceptText(except: readonly ExceptedObject[] | undefined): string {
  if (!except || except.length === 0) return '';
  const byOwner = new Map<string, string[]>();
  for (const o of except) {
    const objects = byOwner.get(o.owner);
    if (objects) objects.push(o.name);
    else byOwner.set(o.owner, [o.name]);
  }
  return ` (not on ${[...byOwner].map(([owner, objects]) => `${objects.join(', ')}: owned by ${owner}`).join('; ')})`;
}

/** What a drop says about the objects the principal owns. */
function handedTo(heir: string | undefined): string {
  return heir ? ` (its objects are handed to ${heir} first)` : ' (refused if it still owns objects)';
}

/** "2 personal columns to mask", "1 personal column to hide", "no personal columns". */
function personalText(view: MaskedView): string {
  const n = view.visibility === 'hidden' ? view.hidden.length : maskedCount(view);
  if (n === 0) return 'no personal columns';
  return `${n} personal column${n === 1 ? '' : 's'} to ${view.visibility === 'hidden' ? 'hide' : 'mask'}`;
}

const MASKING_KEY_TABLE = maskingNames.keyTable;

/** One line per change, terraform-style: the sign says create (+), change (~) or remove (-). Never a secret. */
export function describeChange(c: Change): { sign: Sign; text: string } {
  switch (c.kind) {
    case 'create-login':
      return { sign: '+', text: `login ${c.login.name} (${c.login.purpose}${c.login.app ? ` for ${c.login.app}` : ''}; password generated, delivered as a secret)` };
    case 'rotate-password':
      if (c.reason === 'missing') return { sign: '~', text: `login ${c.login}: set password (it has none yet)` };
      if (c.reason === 'undelivered') return { sign: '~', text: `login ${c.login}: set a new password (the server holds one the secrets file does not have)` };
      if (c.reason === 'expired') return { sign: '~', text: `login ${c.login}: set a new password (the one it has expired)` };
      if (c.reason === 'checkout') return { sign: '~', text: `login ${c.login}: set a new password for one use (checkout)` };
      return { sign: '~', text: `login ${c.login}: rotate password (${c.reason === 'age' ? 'older than the rotation age' : 'requested'})` };
    case 'drop-login':
      return { sign: '-', text: `login ${c.login}${handedTo(c.handTo)}` };
    case 'create-user':
      return { sign: '+', text: userText(c.user) };
    case 'drop-user':
      return { sign: '-', text: `user ${c.user}${handedTo(c.handTo)}` };
    case 'create-role':
      return { sign: '+', text: `role ${c.role.name} (${c.role.purpose === 'schema-owner' ? (c.role.app !== undefined ? `owner of ${c.role.app}'s schema, no login` : 'owner of the masked views and the pseudonym key, no login') : `persona ${c.role.persona}${c.role.app ? ` on ${c.role.app}` : ', every app'}`})` };
    case 'drop-role':
      return { sign: '-', text: `role ${c.role}${handedTo(c.handTo)}` };
    case 'create-schema':
      return { sign: '+', text: `schema ${c.schema.name} owned by ${c.schema.owner}` };
    case 'alter-schema-owner':
      return { sign: '~', text: `schema ${c.schema}: owner ${c.from} -> ${c.to}` };
    case 'add-member':
      return {
        sign: '+',
        text: `member ${c.membership.member} of ${c.membership.role}${c.membership.admin ? ' (with admin option)' : ''}${c.membership.expires !== undefined ? ` (until ${expiryText(c.membership.expires)})` : ''}`,
      };
    case 'drop-member':
      return { sign: '-', text: `member ${c.membership.member} of ${c.membership.role}${c.expired !== undefined ? ` (grant expired on ${expiryText(c.expired)})` : ''}` };
    case 'grant':
      return { sign: '+', text: `grant ${permissionText(c.permission)}${exceptText(c.except)}` };
    case 'revoke':
      return { sign: '-', text: `revoke ${permissionText(c.permission, 'from')}${exceptText(c.except)}` };
    case 'create-masking-key':
      return { sign: '+', text: `pseudonym key ${c.schema}.${MASKING_KEY_TABLE} (generated by the server, readable only by ${c.owner}; never shown)` };
    case 'create-masked-view':
      return { sign: '+', text: `masked view ${c.view.schema}.${c.view.name} (new table ${c.view.source.schema}.${c.view.source.name}: ${personalText(c.view)})` };
    case 'replace-masked-view':
      return { sign: '~', text: `masked view ${c.view.schema}.${c.view.name} (${c.view.source.schema}.${c.view.source.name} or its personal columns changed: ${personalText(c.view)})` };
    case 'drop-masked-view':
      return { sign: '-', text: `masked view ${c.schema}.${c.name} (its table is gone, or no persona reads it)` };
    case 'mask-columns': {
      const masks = c.columns.map((m) => `${m.name} ${m.function}${m.was !== undefined ? ` (was ${m.was})` : ''}`).join(', ');
      return c.newTable
        ? { sign: '+', text: `masks on ${c.schema}.${c.table} (new table ${c.schema}.${c.table}: ${counted(c.columns.length, 'personal column')} to mask: ${masks})` }
        : { sign: '~', text: `masks on ${c.schema}.${c.table} (${counted(c.columns.length, 'personal column')} to mask: ${masks})` };
    }
    default: {
      const never: never = c;
      throw new Error(`unknown change ${JSON.stringify(never)}`);
    }
  }
}
