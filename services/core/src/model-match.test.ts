import { describe, expect, it } from 'vitest';
import { matchesAnyModel, matchesModel } from './model-match.js';

describe('model matching', () => {
  it('when the pattern has no star, then only the exact name matches', () => {
    expect(matchesModel('gpt-4o', 'gpt-4o')).toBe(true);
    expect(matchesModel('gpt-4o', 'gpt-4o-mini')).toBe(false);
    expect(matchesModel('gpt-4o', 'GPT-4O')).toBe(false);
  });
  it('when the pattern ends with a star, then every name with that prefix matches', () => {
    expect(matchesModel('gpt-4o*', 'gpt-4o')).toBe(true);
    expect(matchesModel('gpt-4o*', 'gpt-4o-mini-2024')).toBe(true);
    expect(matchesModel('gpt-4o*', 'gpt-4')).toBe(false);
  });
  it('when the pattern has stars inside, then regex metacharacters stay literal', () => {
    expect(matchesModel('claude-*-4.5', 'claude-sonnet-4.5')).toBe(true);
    expect(matchesModel('claude-*-4.5', 'claude-sonnet-445')).toBe(false);
    expect(matchesModel('a+b*', 'a+bc')).toBe(true);
    expect(matchesModel('a+b*', 'aab')).toBe(false);
  });
  it('when any of several patterns matches, then the list matches', () => {
    expect(matchesAnyModel(['x', 'gpt-*'], 'gpt-5')).toBe(true);
    expect(matchesAnyModel([], 'gpt-5')).toBe(false);
    expect(matchesAnyModel(['*'], 'anything')).toBe(true);
  });
});
