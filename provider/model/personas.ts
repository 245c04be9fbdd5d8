import { PersonaSpec, RIGHTS, Right } from './types';

/**
 * The built-in persona catalogue: the seeds' tiers mapped onto SQL rights.
 * - app_admin: mpmX Application Admin, Power Automate administrator/customizer, IBM creator of every app.
 * - process_admin: mpmX Process Admin (CAN MANAGE on a scenario), IBM creator/editor, Power Automate Environment maker.
 * - data_consumer: mpmX Data Consumer (CAN USE), Power Automate Process Mining User, IBM general user.
 */
export const ALL_RIGHTS: readonly Right[] = RIGHTS;

export const BUILTIN_PERSONAS: Readonly<Record<string, PersonaSpec>> = {
  app_admin: {
    description: 'Full data rights on every app schema; manages every app persona. No server rights.',
    scope: 'warehouse',
    rights: [...RIGHTS],
    manages: ['*'],
  },
  process_admin: {
    description: "Changes the app's tables and views in its schema only, reads its model, manages its consumers.",
    scope: 'app',
    rights: ['select', 'insert', 'update', 'delete', 'execute', 'references', 'view-definition', 'alter', 'create-objects'],
    manages: ['data_consumer'],
  },
  data_consumer: {
    description: "Reads the app's model only; on open-source apps may also read definitions.",
    scope: 'app',
    rights: ['select'],
    openSourceRights: ['view-definition'],
  },
};

/** Persona names that would collide with generated role names. */
export const RESERVED_PERSONA_NAMES = ['owner', 'app', 'shared'];

/** The personas a policy can use: the built-in ones (unless switched off) and its own. */
export function personaCatalogue(custom: Record<string, PersonaSpec> | undefined, builtin = true): Record<string, PersonaSpec> {
  const out: Record<string, PersonaSpec> = builtin ? { ...BUILTIN_PERSONAS } : {};
  for (const [name, spec] of Object.entries(custom ?? {})) {
    if (!(name in BUILTIN_PERSONAS)) out[name] = { ...spec, scope: spec.scope ?? 'app' };
  }
  return out;
}

/** The personas `persona` may manage, with '*' expanded to every app-scoped persona. */
export function managedPersonas(persona: PersonaSpec, catalogue: Record<string, PersonaSpec>): string[] {
  const wanted = persona.manages ?? [];
  const appScoped = Object.keys(catalogue)
    .filter((n) => catalogue[n].scope === 'app')
    .sort();
  if (wanted.includes('*')) return appScoped;
  return wanted.filter((n) => appScoped.includes(n)).sort();
}
