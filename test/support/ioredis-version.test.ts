/**
 * The suites that the `ioredis-6` project runs again really run on ioredis 6: there, `ioredis`
 * resolves to the same module as `ioredis-6` (an alias of ioredis@6); in `ioredis-5`, to another.
 */
import * as ioredis from 'ioredis';
import * as ioredis6 from 'ioredis-6';
import { describe, expect, it } from 'vitest';

describe('the ioredis the Redis suites run on', () => {
  it('is ioredis 6 in the ioredis-6 project and ioredis 5 elsewhere', ({ task }) => {
    const project = task.file.projectName;
    expect(['ioredis-5', 'ioredis-6']).toContain(project);
    expect((ioredis.Redis as unknown) === ioredis6.Redis).toBe(project === 'ioredis-6');
  });
});
