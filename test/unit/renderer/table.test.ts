/** The shared data table (renderer/src/Table.tsx): one heading row from the columns, the rows as given. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { Table } from '../../../renderer/src/Table.tsx';

test('headings from the columns (an action column named for screen readers only), rows in the body', () => {
  const row = createElement('tr', null, createElement('td', null, 'a'), createElement('td', null, 'b'));
  const html = renderToStaticMarkup(createElement(Table, { className: 'bundles', testId: 'lib', columns: ['Product', { label: 'Remove', srOnly: true, className: 'c-open' }] }, row));
  assert.equal(
    html,
    '<table class="bundles" data-testid="lib"><thead><tr><th>Product</th><th class="c-open"><span class="sr-only">Remove</span></th></tr></thead><tbody><tr><td>a</td><td>b</td></tr></tbody></table>',
  );
  // No class or test id given: none rendered.
  assert.match(renderToStaticMarkup(createElement(Table, { columns: ['X'] }, null)), /^<table><thead>/);
});
