/**
 * pmgrants policy pack: the stack guardrails, enforced by Pulumi on pmgrants' resources.
 *
 *   npm run build          # compiles this file to dist/policy-pack/index.js (PulumiPolicy.yaml's main)
 *   pulumi preview --stack prod --policy-pack policy-pack [--policy-pack-config policy-pack/config.example.json]
 *
 * The rules are in policies.ts; see docs/pulumi.md, "Policy pack".
 */
import { PolicyPack } from '@pulumi/policy';
import { POLICIES } from './policies';

new PolicyPack('pmgrants-guardrails', { policies: POLICIES });
