import { describe, expect, it } from 'vitest';
import { cellText, renderTable } from './text-table.js';

describe('renderTable', () => {
  it('when cells differ in width, then every column starts at the same offset on each line', () => {
    const out = renderTable(
      [
        { id: 1, name: 'a', tags: ['x', 'y'] },
        { id: 1234, name: 'longer name', tags: [] },
      ],
      [
        { header: 'ID', cell: (r) => r.id },
        { header: 'NAME', cell: (r) => r.name },
        { header: 'TAGS', cell: (r) => r.tags },
      ],
    );
    expect(out).toBe('ID    NAME         TAGS\n1     a            x,y\n1234  longer name  -\n');
  });

  it('when a value is null, an object or has line breaks, then it shows on one line', () => {
    expect(cellText(null)).toBe('-');
    expect(cellText({ a: 1 })).toBe('{"a":1}');
    expect(cellText('two\nlines')).toBe('two lines');
  });
});
