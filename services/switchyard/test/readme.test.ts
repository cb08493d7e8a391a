import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference } from '../src/config.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('when the configuration schema changes, then the README reference matches it exactly', () => {
    const m = /<!-- config-reference:start -->\n([\s\S]*?)\n<!-- config-reference:end -->/.exec(readme);
    expect(m?.[1]).toBe(configReference());
  });
  it('when a newcomer reads it, then the two commands are npm start and npm test, and .ci/run calls npm test', () => {
    expect(readme).toMatch(/^npm start\b/m);
    expect(readme).toMatch(/^npm test\b/m);
    expect(readFileSync(new URL('../../../.ci/run', import.meta.url), 'utf8')).toMatch(/^npm test\b/m);
  });
});
