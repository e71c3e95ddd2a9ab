/**
 * What every example scenario's `run(options)` takes: where the lines of its story go. Each
 * `main.ts` passes `console.log`; the tests pass a collector (see scenario.test-support.ts).
 */
export interface ScenarioOptions {
  /** Called with each line of the story as it happens. Default: nowhere, unless the example says otherwise. */
  readonly log?: (line: string) => void;
}
