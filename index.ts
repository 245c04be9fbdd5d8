/**
 * The pmgrants Pulumi program: stacks/<stack>.yaml merged onto the policy in config pmgrants:policy,
 * compiled into one Warehouse resource and one App resource per app. See docs/pulumi.md.
 *
 * Pulumi runs the compiled dist/index.js (Pulumi.yaml `main`), because the dynamic providers load the
 * compiled dist/provider/pulumi/providers.js: build first (npm install does, or npm run build).
 */
import { definePmgrantsStack } from './provider/pulumi/program';

const stack = definePmgrantsStack();

/** Engine and database of this stack's warehouse. */
export const warehouse = { engine: stack.outputs.engine, database: stack.outputs.database };
/** Per app: database, schema, login, password (secret), and the Key Vault secret name when configured. */
export const apps = stack.outputs.apps;
