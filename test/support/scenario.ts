/**
 * A scenario: tests that continue one story on shared state (one database, one secrets file), each
 * from where the one before it left. They run in the order written, also under `--sequence.shuffle`
 * (the suite is never shuffled), and a step whose predecessor did not pass fails at once, naming it,
 * instead of failing on what that step left half done (or passing on what it never set up).
 */
import { describe, it, TestContext } from 'vitest';

type Body = (ctx: TestContext) => Promise<void> | void;

export interface Scenario {
  /** The next step: runs only after the step before it passed. */
  step(name: string, body: Body, timeout?: number): void;
}

export function scenario(name: string, define: (s: Scenario) => void, describeFn: typeof describe | typeof describe.skip = describe): void {
  describeFn(name, { shuffle: false }, () => {
    const passed = new Set<string>();
    let previous: string | undefined;
    define({
      step(stepName, body, timeout) {
        const after = previous;
        previous = stepName;
        it(
          stepName,
          async (ctx) => {
            if (after !== undefined && !passed.has(after)) {
              throw new Error(`this step continues from the step before it, "${after}", which did not pass (or did not run): fix or run that one first`);
            }
            await body(ctx);
            passed.add(stepName);
          },
          timeout,
        );
      },
    });
  });
}
