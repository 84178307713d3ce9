import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from './html.js';

describe('html', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    const name = `"><script>alert('x')</script>`;
    expect(html`<td title="${name}">${name}</td>`.markup).toBe(
      '<td title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</td>',
    );
  });

  it('nests fragments and lists without escaping them twice, and drops null, undefined and false', () => {
    const rows = ['a&b', '<i>'].map((text) => html`<li>${text}</li>`);
    expect(html`<ul>${rows}${null}${undefined}${false}</ul>`.markup).toBe(
      '<ul><li>a&amp;b</li><li>&lt;i&gt;</li></ul>',
    );
    expect(html`${0} ${42}`.markup).toBe('0 42');
  });

  it('leaves text without special characters as it is', () => {
    expect(escapeHtml('orders.order-placed 12:30')).toBe('orders.order-placed 12:30');
  });
});
