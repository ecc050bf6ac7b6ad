import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GENERATED, renderTemplatesModule } from '../scripts/gen-templates.ts';

describe('templates', () => {
  it('src/templates/templates.generated.ts is up to date with templates/ (npm run gen:templates)', () => {
    assert.equal(readFileSync(GENERATED, 'utf8'), renderTemplatesModule());
  });
});
